// Issue 12 item 2 (I2/I3): a lost or older store facing live routes of ours adopts them — destination →
// target — or reports them, and never replaces or deletes them.
import { describe, expect, it } from 'vitest';
import type { Instance, Route } from '../../providers/types.ts';
import { planAdoption, type AdoptInput } from '../../src/adopt.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { validateConfig, type Config } from '../../src/config.ts';
import { Controller } from '../../src/controller.ts';
import { silentLogger } from '../../src/log.ts';
import { reconcileOnce } from '../../src/reconcile.ts';
import { createMemoryStore } from '../../src/store/memory/store.ts';
import { FakeLeadership, FakeProvider } from '../helpers/fake-provider.ts';
import { cloudInventory } from '../../src/inventory/cloud.ts';

function config(extra: Record<string, unknown> = {}): Config {
  return validateConfig({
    cluster: 'c1',
    clusterCIDR: '10.0.0.0/16',
    provider: { type: 'aws', region: 'r', vpcId: 'vpc-1' },
    store: { type: 'memory' },
    reconcile: { interval: '60s', releaseAfter: '5m', reuseAfter: '10m', debounce: '2s' },
    ...extra,
  });
}

const vm = (id: string, state: Instance['state'] = 'running'): Instance => ({
  id,
  name: `${id}-name`,
  privateIp: '10.99.0.9',
  zone: 'z',
  state,
});
const ours = (table: string, destination: string, target: string | null, state: Route['state'] = 'active'): Route => ({
  table,
  destination,
  target,
  nextHop: target ?? 'igw-1',
  state,
  marked: true,
  system: false,
  providerId: `rs-${destination}`,
});

function adoptInput(p: Partial<AdoptInput>): AdoptInput {
  const instances = [vm('i-1'), vm('i-2'), vm('i-3')];
  return {
    allocations: [],
    released: [],
    routesByTable: new Map(),
    clusterCIDR: '10.0.0.0/16',
    subnetLen: 24,
    reserved: [],
    instances: new Map(instances.map((i) => [i.id, i])),
    present: new Set(instances.map((i) => i.id)),
    now: 1000,
    ...p,
  };
}

describe('planAdoption (pure)', () => {
  it("adopts a route of ours the store does not hold: subnet = destination, VM = target, with the VM's name", () => {
    const a = planAdoption(
      adoptInput({
        routesByTable: new Map([
          ['t1', [ours('t1', '10.0.5.0/24', 'i-2')]],
          ['t2', [ours('t2', '10.0.5.0/24', 'i-2')]],
        ]),
      }),
    );
    expect(a.adoptions).toEqual([
      {
        request: {
          instanceId: 'i-2',
          subnet: '10.0.5.0/24',
          name: 'i-2-name',
          privateIp: '10.99.0.9',
          allocatedAt: 1000,
        },
        missing: false,
        tables: ['t1', 't2'],
      },
    ]);
    expect(a.refused.size).toBe(0);
  });

  it('a target the inventory does not list is adopted as missing (the releaseAfter path applies)', () => {
    const a = planAdoption(
      adoptInput({ routesByTable: new Map([['t1', [ours('t1', '10.0.5.0/24', 'i-gone', 'blackhole')]]]) }),
    );
    expect(a.adoptions).toEqual([
      expect.objectContaining({
        missing: true,
        request: expect.objectContaining({ instanceId: 'i-gone', subnet: '10.0.5.0/24' }),
      }),
    ]);
  });

  it('leaves subnets the store holds to the plan', () => {
    const a = planAdoption(
      adoptInput({
        allocations: [{ instanceId: 'i-1', subnet: '10.0.5.0/24', name: '', privateIp: '', allocatedAt: 1 }],
        routesByTable: new Map([['t1', [ours('t1', '10.0.5.0/24', 'i-2')]]]),
      }),
    );
    expect(a.adoptions).toEqual([]);
    expect(a.refused.size).toBe(0);
  });

  it('refuses, and keeps the subnet and the VM away from the allocator, on every conflict', () => {
    const a = planAdoption(
      adoptInput({
        allocations: [{ instanceId: 'i-3', subnet: '10.0.9.0/24', name: '', privateIp: '', allocatedAt: 1 }],
        reserved: ['10.0.200.0/22'],
        routesByTable: new Map([
          [
            't1',
            [
              ours('t1', '10.0.1.0/24', 'i-1'), // i-1 claimed by two subnets
              ours('t1', '10.0.2.0/24', 'i-1'),
              ours('t1', '10.0.3.0/24', 'i-2'), // different targets in two tables
              ours('t1', '10.0.4.0/24', 'i-3'), // i-3 already holds 10.0.9.0/24
              ours('t1', '10.0.201.0/24', 'i-4'), // reserved
              ours('t1', '10.0.6.0/24', null), // a non-VM next hop of ours
              ours('t1', '10.0.7.0/24', null, 'blackhole'), // target-less blackhole: the plan cleans it up
            ],
          ],
          ['t2', [ours('t2', '10.0.3.0/24', 'i-5')]],
        ]),
      }),
    );
    expect(a.adoptions).toEqual([]);
    expect([...a.refused.keys()].sort()).toEqual([
      '10.0.1.0/24',
      '10.0.2.0/24',
      '10.0.201.0/24',
      '10.0.3.0/24',
      '10.0.4.0/24',
      '10.0.6.0/24',
    ]);
    expect(a.refused.get('10.0.4.0/24')).toContain('already holds 10.0.9.0/24');
    expect(a.refused.get('10.0.3.0/24')).toContain('i-2, i-5');
    expect(a.refused.get('10.0.201.0/24')).toContain('reserved 10.0.200.0/22');
    expect(a.avoidSubnets.sort()).toEqual([
      '10.0.1.0/24',
      '10.0.2.0/24',
      '10.0.201.0/24',
      '10.0.3.0/24',
      '10.0.4.0/24',
      '10.0.6.0/24',
      '10.0.7.0/24',
    ]);
    expect(a.holdInstances).toEqual(['i-1', 'i-2', 'i-4', 'i-5']);
  });

  it('a released subnet whose VM is gone is not adopted (the plan deletes the leftover)', () => {
    const a = planAdoption(
      adoptInput({
        released: [{ subnet: '10.0.5.0/24', releasedAt: 1, instanceId: 'i-old' }],
        routesByTable: new Map([['t1', [ours('t1', '10.0.5.0/24', 'i-old')]]]),
      }),
    );
    expect(a.adoptions).toEqual([]);
    expect(a.refused.size).toBe(0);
  });

  it('ignores routes that are not exactly one of our subnets', () => {
    const a = planAdoption(
      adoptInput({
        routesByTable: new Map([
          [
            't1',
            [ours('t1', '10.0.0.0/20', 'i-1'), ours('t1', '0.0.0.0/0', 'i-2'), ours('t1', '192.168.1.0/24', 'i-3')],
          ],
        ]),
      }),
    );
    expect(a).toMatchObject({ adoptions: [], avoidSubnets: [], holdInstances: [] });
  });
});

/** 26 VMs whose routes (in two tables) are scattered over the pool, as after months of churn. */
function churnedCluster(marks: boolean) {
  const provider = new FakeProvider({ tables: ['rtb-1', 'rtb-2'], marks });
  const expected = new Map<string, string>();
  for (let i = 0; i < 26; i++) {
    const id = `i-${String(i).padStart(2, '0')}`;
    provider.addInstance(id);
    const dest = `10.0.${(25 - i) * 3 + 1}.0/24`;
    expected.set(id, dest);
    for (const t of ['rtb-1', 'rtb-2'])
      provider.routes.get(t)?.push({ ...ours(t, dest, id), marked: marks ? true : null });
  }
  return { provider, expected };
}

describe('a lost store facing live routes of ours (issue 12 item 2)', () => {
  for (const marks of [true, false]) {
    it(`${marks ? 'marked routes (Aliyun, GCE)' : 'unmarked routes (AWS rule)'}: the empty store adopts all 26, no replace, no delete; a new VM gets a free subnet`, async () => {
      const { provider, expected } = churnedCluster(marks);
      provider.addInstance('i-new');
      const store = createMemoryStore();
      const c = new Controller({
        config: config(),
        provider,
        inventory: cloudInventory(provider),
        store,
        leadership: new FakeLeadership(),
        logger: silentLogger,
        clock: new ManualClock(),
      });
      const r = await c.runOnce();
      expect(r.plan.changes.filter((x) => x.op !== 'create')).toEqual([]);
      expect(provider.writes.filter((w) => w.op !== 'create')).toEqual([]);
      expect(r.adopted).toHaveLength(26);
      const snap = await store.load();
      for (const [id, dest] of expected) expect(snap.allocations.find((a) => a.instanceId === id)?.subnet).toBe(dest);
      const fresh = snap.allocations.find((a) => a.instanceId === 'i-new')?.subnet;
      expect(fresh).toBeDefined();
      expect([...expected.values()]).not.toContain(fresh);
      expect(provider.writes.map((w) => `${w.op} ${w.destination} ${w.target}`).sort()).toEqual([
        `create ${fresh} i-new`,
        `create ${fresh} i-new`,
      ]);
      expect(r.converged).toBe(true);
      expect((await c.runOnce()).plan.changes).toEqual([]);
    });
  }

  it('a dry run shows the adoptions in the report and writes nothing', async () => {
    const { provider } = churnedCluster(true);
    const store = createMemoryStore();
    const r = await reconcileOnce(
      {
        config: config(),
        provider,
        inventory: cloudInventory(provider),
        store,
        logger: silentLogger,
        clock: new ManualClock(),
        signal: new AbortController().signal,
        dryRun: true,
        fence: () => undefined,
      },
      { quotaExceeded: new Set() },
      { full: true },
    );
    expect(r.adopted).toHaveLength(26);
    expect(r.allocated).toEqual([]);
    expect(r.plan.changes).toEqual([]);
    expect((await store.load()).allocations).toEqual([]);
    expect(provider.writes).toEqual([]);
  });

  it('a route to a VM that is gone is adopted as missing, then deleted and released after releaseAfter', async () => {
    const provider = new FakeProvider({ marks: true });
    provider.addInstance('i-1');
    provider.routes.get('rtb-1')?.push(ours('rtb-1', '10.0.7.0/24', 'i-gone', 'blackhole'));
    const store = createMemoryStore();
    const clock = new ManualClock();
    const c = new Controller({
      config: config(),
      provider,
      inventory: cloudInventory(provider),
      store,
      leadership: new FakeLeadership(),
      logger: silentLogger,
      clock,
    });
    const first = await c.runOnce();
    expect(first.plan.changes.filter((x) => x.op === 'delete')).toEqual([]);
    expect((await store.load()).allocations.find((a) => a.instanceId === 'i-gone')).toMatchObject({
      subnet: '10.0.7.0/24',
      missingSince: clock.now(),
    });
    clock.advance(5 * 60_000);
    const later = await c.runOnce();
    expect(later.plan.changes).toEqual([expect.objectContaining({ op: 'delete', destination: '10.0.7.0/24' })]);
    expect(later.released).toEqual(['i-gone']);
    expect((await store.load()).released).toEqual([
      expect.objectContaining({ subnet: '10.0.7.0/24', instanceId: 'i-gone' }),
    ]);
  });

  it('an older store (a VM holds another subnet in it) stops with an orphan finding: no replace, no delete, exit not converged', async () => {
    const provider = new FakeProvider({ marks: true });
    provider.addInstance('i-1');
    provider.addInstance('i-2');
    provider.routes.get('rtb-1')?.push(ours('rtb-1', '10.0.0.0/24', 'i-1'), ours('rtb-1', '10.0.8.0/24', 'i-2'));
    const store = createMemoryStore();
    // The old store gave i-2 the subnet that now routes to i-1.
    await store.allocate([{ instanceId: 'i-2', subnet: '10.0.0.0/24', name: 'i-2', privateIp: '', allocatedAt: 1 }]);
    const c = new Controller({
      config: config(),
      provider,
      inventory: cloudInventory(provider),
      store,
      leadership: new FakeLeadership(),
      logger: silentLogger,
      clock: new ManualClock(),
    });
    const r = await c.runOnce();
    expect(r.plan.changes).toEqual([]);
    expect(provider.writes).toEqual([]);
    expect(r.plan.findings.map((f) => `${f.kind} ${f.destination}`).sort()).toEqual([
      'orphan 10.0.0.0/24',
      'orphan 10.0.8.0/24',
    ]);
    expect(r.converged).toBe(false);
    // i-1, claimed by a route the store does not hold, gets no other subnet meanwhile.
    expect((await store.load()).allocations.map((a) => a.instanceId)).toEqual(['i-2']);
  });

  it('a normal release after termination still deletes the route', async () => {
    const provider = new FakeProvider({ marks: true });
    for (const id of ['i-0', 'i-1', 'i-2']) provider.addInstance(id);
    const store = createMemoryStore();
    const clock = new ManualClock();
    const c = new Controller({
      config: config(),
      provider,
      inventory: cloudInventory(provider),
      store,
      leadership: new FakeLeadership(),
      logger: silentLogger,
      clock,
    });
    await c.runOnce();
    const gone = (await store.load()).allocations.find((a) => a.instanceId === 'i-1')!;
    provider.removeInstance('i-1');
    await c.runOnce();
    clock.advance(5 * 60_000);
    const r = await c.runOnce();
    expect(r.plan.changes).toEqual([expect.objectContaining({ op: 'delete', destination: gone.subnet })]);
    expect(r.released).toEqual(['i-1']);
    expect(provider.ours('rtb-1').some((x) => x.destination === gone.subnet)).toBe(false);
  });
});
