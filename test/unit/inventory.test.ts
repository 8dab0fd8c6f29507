// The inventory seam (src/inventory/): the engine reads VMs from an InventorySource, never from the
// provider's listing, trusts a source only when it listed every page, and runs a pass on its change signal.
import { describe, expect, it } from 'vitest';
import type { Instance } from '../../providers/types.ts';
import { validateConfig, type Config } from '../../src/config.ts';
import { Controller } from '../../src/controller.ts';
import { cloudInventory } from '../../src/inventory/cloud.ts';
import { openInventory } from '../../src/inventory/index.ts';
import type { InventorySource } from '../../src/inventory/source.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { createMemoryStore } from '../../src/store/memory/store.ts';
import { FakeLeadership, FakeProvider } from '../helpers/fake-provider.ts';

function config(): Config {
  return validateConfig({
    cluster: 'c1',
    clusterCIDR: '10.0.0.0/16',
    provider: { type: 'aws', region: 'r', vpcId: 'vpc-1' },
    store: { type: 'memory' },
    reconcile: { interval: '60s', releaseAfter: '1m', reuseAfter: '10m', debounce: '2s' },
  });
}

const vm = (id: string): Instance => ({ id, name: id, privateIp: '10.99.0.9', zone: 'z1', state: 'running' });

/** A source that is not the cloud's: pages of VMs, and a page that can be made to fail mid-listing. */
class PagedSource implements InventorySource {
  readonly kind = 'test';
  pages: Instance[][] = [];
  failPage: number | undefined;
  onChange: ((reason: string) => void) | undefined;
  unwatched = 0;
  async list(): Promise<Instance[]> {
    const out: Instance[] = [];
    for (const [n, page] of this.pages.entries()) {
      if (n === this.failPage) throw new Error(`page ${n + 1}: connection reset`);
      out.push(...page);
    }
    return out;
  }
  watch(onChange: (reason: string) => void): () => void {
    this.onChange = onChange;
    return () => {
      this.unwatched++;
      this.onChange = undefined;
    };
  }
}

function setup() {
  const provider = new FakeProvider();
  const source = new PagedSource();
  const store = createMemoryStore();
  const leadership = new FakeLeadership();
  const clock = new ManualClock();
  const c = new Controller({
    config: config(),
    provider,
    inventory: source,
    store,
    leadership,
    logger: silentLogger,
    clock,
  });
  return { provider, source, store, leadership, clock, c };
}

describe('inventory source', () => {
  it('the engine plans from the source, not from the provider listing', async () => {
    const { provider, source, c } = setup();
    // The cloud lists none of them (the VMs carry no cluster tag): the source alone decides.
    source.pages = [[vm('i-1'), vm('i-2')], [vm('i-3')]];
    const r = await c.runOnce();
    expect(r.converged).toBe(true);
    expect(provider.calls.listInstances).toBeUndefined();
    expect(
      provider
        .ours('rtb-1')
        .map((x) => x.target)
        .sort(),
    ).toEqual(['i-1', 'i-2', 'i-3']);
  });

  it('I3: a source that fails mid-listing holds the valve: no deletes, no releases, the pass fails', async () => {
    const { provider, source, store, clock, c } = setup();
    source.pages = [[vm('i-1'), vm('i-2')], [vm('i-3')]];
    await c.runOnce();
    // i-3 is gone for good, and its lookup by id says so; a trusted pass past releaseAfter would free it.
    source.pages = [[vm('i-1'), vm('i-2')], []];
    source.failPage = 1;
    const writes = provider.writes.length;
    clock.advance(10 * 60_000);
    for (let i = 0; i < 2; i++) {
      const r = await c.runOnce();
      expect(r.valve).toMatchObject({ held: true, reason: expect.stringContaining('page 2: connection reset') });
      expect(r.inventory.ok).toBe(false);
      expect(r.errors.join('\n')).toContain('inventory read failed');
      expect(r.released).toEqual([]);
      clock.advance(10 * 60_000);
    }
    expect(provider.writes.slice(writes)).toEqual([]);
    expect((await store.load()).allocations.map((a) => a.instanceId).sort()).toEqual(['i-1', 'i-2', 'i-3']);
    // The same source, read whole, is trusted again: i-3 is missing from here on (released after releaseAfter).
    source.failPage = undefined;
    const ok = await c.runOnce();
    expect(ok.valve.held).toBe(false);
  });

  it('a change signal from the source runs a pass after the debounce, not at the next interval', async () => {
    const { source, clock, c } = setup();
    const stop = new AbortController();
    const passesAt: number[] = [];
    const orig = c.runOnce.bind(c);
    c.runOnce = async (o, s) => {
      passesAt.push(clock.now());
      const r = await orig(o, s);
      if (passesAt.length === 1) source.onChange?.('node added');
      if (passesAt.length >= 2) stop.abort();
      return r;
    };
    await c.run(stop.signal);
    // Nothing to apply in pass 1 (no VMs): only the signal brings pass 2 forward from the 60 s interval.
    expect(passesAt[1]! - passesAt[0]!).toBe(2000);
    expect(source.unwatched).toBe(1);
  });

  it('the cloud source lists through the provider-side lister, errors included', async () => {
    const provider = new FakeProvider();
    provider.addInstance('i-1');
    const source = cloudInventory(provider);
    expect(source.kind).toBe('cloud');
    expect((await source.list()).map((i) => i.id)).toEqual(['i-1']);
    provider.failInstances = new Error('DescribeInstances: 500');
    await expect(source.list()).rejects.toThrow('DescribeInstances: 500');
    expect(source.watch).toBeUndefined();
  });

  it('inventory.source: cloud by default; anything but cloud or kubernetes is one error naming the field', async () => {
    const doc = {
      cluster: 'c1',
      clusterCIDR: '10.0.0.0/16',
      provider: { type: 'aws', region: 'r', vpcId: 'vpc-1' },
      store: { type: 'memory' },
    };
    const provider = new FakeProvider();
    provider.addInstance('i-1');
    const c = validateConfig(doc);
    expect(c.inventory.source).toBe('cloud');
    expect((await openInventory(c, provider, { logger: silentLogger })).kind).toBe('cloud');
    expect((await (await openInventory(c, provider, { logger: silentLogger })).list()).map((i) => i.id)).toEqual([
      'i-1',
    ]);
    expect(() => validateConfig({ ...doc, inventory: { source: 'nodes' } })).toThrow(
      /inventory\.source: must be cloud or kubernetes/,
    );
    expect(() => validateConfig({ ...doc, inventory: { sauce: 'cloud' } })).toThrow(/inventory/);
  });
});
