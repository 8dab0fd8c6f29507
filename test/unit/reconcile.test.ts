// The pass's release gating reads the plan: a subnet is freed once the plan's deletes for it succeeded in
// every table, and not while one of its routes of ours is kept (capped, held, or unread).
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config.ts';
import { cloudInventory } from '../../src/inventory/cloud.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { reconcileOnce, type PassMemory } from '../../src/reconcile.ts';
import { createMemoryStore } from '../../src/store/memory/store.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';

function setup() {
  const config = validateConfig({
    cluster: 'c1',
    clusterCIDR: '10.0.0.0/16',
    provider: { type: 'aws', region: 'r', vpcId: 'vpc-1' },
    store: { type: 'memory' },
    reconcile: { interval: '60s', releaseAfter: '5m', reuseAfter: '10m', debounce: '2s' },
  });
  const provider = new FakeProvider({ tables: ['rtb-1', 'rtb-2'] });
  for (let i = 0; i < 3; i++) provider.addInstance(`i-${i}`);
  const store = createMemoryStore();
  const clock = new ManualClock();
  const memory: PassMemory = { quotaExceeded: new Set() };
  const pass = (maxDeletes?: number) =>
    reconcileOnce(
      {
        config,
        provider,
        inventory: cloudInventory(provider),
        store,
        logger: silentLogger,
        clock,
        signal: new AbortController().signal,
        fence: () => undefined,
      },
      memory,
      { full: true, ...(maxDeletes !== undefined ? { maxDeletes } : {}) },
    );
  return { provider, store, clock, pass };
}

describe('reconcile: release gating from the plan', () => {
  it('frees a gone VM only once every table lost its route: a capped delete keeps the subnet a pass longer', async () => {
    const { provider, store, clock, pass } = setup();
    await pass();
    const subnet = (await store.load()).allocations.find((a) => a.instanceId === 'i-0')?.subnet as string;
    provider.removeInstance('i-0');
    await pass(); // missing from here on
    clock.advance(10 * 60_000);

    const capped = await pass(1);
    expect(capped.plan.releases[subnet]).toMatchObject({ kept: 1 });
    expect(capped.results.filter((r) => r.change.op === 'delete' && r.outcome === 'applied')).toHaveLength(1);
    expect(capped.released).toEqual([]);
    expect((await store.load()).allocations.some((a) => a.instanceId === 'i-0')).toBe(true);

    const rest = await pass(1);
    expect(rest.released).toEqual(['i-0']);
    expect((await store.load()).allocations.some((a) => a.instanceId === 'i-0')).toBe(false);
    for (const t of ['rtb-1', 'rtb-2']) expect(provider.ours(t).some((r) => r.destination === subnet)).toBe(false);
  });

  it('keeps the subnet while a table cannot be read, even though the tables read lost its route', async () => {
    const { provider, store, clock, pass } = setup();
    await pass();
    provider.removeInstance('i-0');
    await pass();
    clock.advance(10 * 60_000);
    provider.failRoutes.add('rtb-2');
    const r = await pass();
    expect(r.results.filter((x) => x.change.op === 'delete' && x.outcome === 'applied')).toHaveLength(1);
    expect(r.released).toEqual([]);
    provider.failRoutes.clear();
    expect((await pass()).released).toEqual(['i-0']);
    expect((await store.load()).released.map((x) => x.instanceId)).toContain('i-0');
  });
});
