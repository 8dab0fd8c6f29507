import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.ts';
import { validateConfig, type Config } from '../../src/config.ts';
import { Controller } from '../../src/controller.ts';
import { silentLogger } from '../../src/log.ts';
import { createMemoryStore } from '../../src/store/memory/store.ts';
import { FakeLeadership, FakeProvider, type FakeOptions } from '../helpers/fake-provider.ts';
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

function setup(opts: FakeOptions & { config?: Record<string, unknown>; vms?: number } = {}) {
  const provider = new FakeProvider(opts);
  for (let i = 0; i < (opts.vms ?? 3); i++) provider.addInstance(`i-${i}`);
  const store = createMemoryStore();
  const leadership = new FakeLeadership();
  const clock = new ManualClock();
  const c = new Controller({
    config: config(opts.config),
    provider,
    inventory: cloudInventory(provider),
    store,
    leadership,
    logger: silentLogger,
    clock,
  });
  return { provider, store, leadership, clock, c };
}

describe('controller passes', () => {
  it('I6: converges from empty: one route per running VM, one subnet per VM (I1)', async () => {
    const { provider, store, c } = setup({ vms: 5 });
    const r = await c.runOnce();
    expect(r.converged).toBe(true);
    const snap = await store.load();
    expect(new Set(snap.allocations.map((a) => a.subnet)).size).toBe(5);
    const routes = provider.ours('rtb-1');
    expect(routes.map((x) => `${x.destination}>${x.target}`).sort()).toEqual(
      snap.allocations.map((a) => `${a.subnet}>${a.instanceId}`).sort(),
    );
    const again = await c.runOnce();
    expect(again.plan.changes).toEqual([]);
  });

  it('reads the route tables while the inventory read is still outstanding, and still plans from both', async () => {
    const { provider, c } = setup({ vms: 2 });
    const list = provider.listInstances.bind(provider);
    let tablesReadDuringInventory = -1;
    provider.listInstances = async () => {
      // Let the pass's other reads run before the inventory answers.
      await new Promise((r) => setTimeout(r, 20));
      tablesReadDuringInventory = provider.calls.listRoutes ?? 0;
      return list();
    };
    const r = await c.runOnce();
    expect(tablesReadDuringInventory).toBe(1);
    expect(r.converged).toBe(true);
    expect(provider.ours('rtb-1')).toHaveLength(2);
  });

  it('repairs an out-of-band deleted route in one pass', async () => {
    const { provider, c } = setup();
    await c.runOnce();
    const rs = provider.routes.get('rtb-1')!;
    const victim = provider.ours('rtb-1')[0]!;
    rs.splice(rs.indexOf(rs.find((x) => x.destination === victim.destination)!), 1);
    const r = await c.runOnce();
    expect(r.plan.changes).toEqual([expect.objectContaining({ op: 'create', destination: victim.destination })]);
    expect(provider.ours('rtb-1')).toHaveLength(3);
  });

  it("keeps a vanished VM's subnet and route for releaseAfter, then deletes the route and releases; cool-down holds the subnet", async () => {
    const { provider, store, clock, c } = setup({ marks: false });
    await c.runOnce();
    const gone = (await store.load()).allocations.find((a) => a.instanceId === 'i-1')!;
    provider.removeInstance('i-1');
    await c.runOnce();
    let snap = await store.load();
    expect(snap.allocations.find((a) => a.instanceId === 'i-1')?.missingSince).toBe(clock.now());
    expect(provider.ours('rtb-1').some((r) => r.destination === gone.subnet)).toBe(true);
    clock.advance(5 * 60_000);
    const r = await c.runOnce();
    expect(r.released).toEqual(['i-1']);
    expect(provider.ours('rtb-1').some((r) => r.destination === gone.subnet)).toBe(false);
    snap = await store.load();
    expect(snap.allocations.map((a) => a.instanceId).sort()).toEqual(['i-0', 'i-2']);
    // A new VM within the cool-down never gets the released subnet.
    provider.addInstance('i-9');
    await c.runOnce();
    snap = await store.load();
    expect(snap.allocations.find((a) => a.instanceId === 'i-9')?.subnet).not.toBe(gone.subnet);
  });

  it('issue 12 #4: a short inventory does not release running VMs after releaseAfter; a VM the cloud confirms gone is released', async () => {
    const { provider, store, clock, c } = setup({
      vms: 20,
      config: { reconcile: { maxDeleteFraction: 0.2, releaseAfter: '5m' } },
    });
    await c.runOnce();
    const routesBefore = provider.ours('rtb-1').length;
    // The listing leaves two running VMs out (within maxDeleteFraction); one VM really goes.
    provider.unlisted = new Set(['i-3', 'i-4']);
    provider.removeInstance('i-5');
    await c.runOnce();
    expect(
      (await store.load()).allocations
        .filter((a) => a.missingSince !== undefined)
        .map((a) => a.instanceId)
        .sort(),
    ).toEqual(['i-3', 'i-4', 'i-5']);
    clock.advance(6 * 60_000);
    const r = await c.runOnce();
    expect(r.released).toEqual(['i-5']);
    const deleted = provider.writes.filter((w) => w.op === 'delete');
    expect(deleted.map((w) => w.target)).toEqual(['i-5']);
    const snap = await store.load();
    expect(snap.allocations.map((a) => a.instanceId)).toEqual(expect.arrayContaining(['i-3', 'i-4']));
    expect(provider.ours('rtb-1')).toHaveLength(routesBefore - 1);
    // Later passes keep holding them while the cloud says they run.
    clock.advance(60 * 60_000);
    expect((await c.runOnce()).released).toEqual([]);
    expect(provider.writes.filter((w) => w.op === 'delete')).toHaveLength(1);
  });

  it('issue 12 #4: a failed lookup by id is not "not found": the release is held and the pass reports it', async () => {
    const { provider, store, clock, c } = setup({
      vms: 10,
      config: { reconcile: { maxDeleteFraction: 0.2, releaseAfter: '5m' } },
    });
    await c.runOnce();
    provider.removeInstance('i-1');
    await c.runOnce();
    provider.failLookup = new Error('DescribeInstances: 503');
    clock.advance(6 * 60_000);
    const r = await c.runOnce();
    expect(r.released).toEqual([]);
    expect(r.converged).toBe(false);
    expect(r.errors.join('\n')).toContain('instance lookup before release failed');
    expect(provider.writes.filter((w) => w.op === 'delete')).toEqual([]);
    expect((await store.load()).allocations).toHaveLength(10);
    provider.failLookup = undefined;
    expect((await c.runOnce()).released).toEqual(['i-1']);
  });

  it('issue 12 #3: a route listed twice (overlapping pages) is planned once and not deleted', async () => {
    const { provider, c } = setup({ vms: 3 });
    await c.runOnce();
    const list = provider.listRoutes.bind(provider);
    provider.listRoutes = async (t) => {
      const rs = await list(t);
      return [...rs, { ...rs[rs.length - 1]! }];
    };
    const r = await c.runOnce();
    expect(r.plan.changes).toEqual([]);
    expect(provider.writes.filter((w) => w.op === 'delete')).toEqual([]);
    expect(r.converged).toBe(true);
  });

  it('a stopped VM keeps its allocation and route, and is reported', async () => {
    const { provider, store, c } = setup();
    await c.runOnce();
    provider.setState('i-2', 'stopped');
    const r = await c.runOnce();
    expect(r.plan.changes).toEqual([]);
    expect(r.inventory.byState).toMatchObject({ running: 2, stopped: 1 });
    expect((await store.load()).allocations).toHaveLength(3);
  });

  it('I3: a failed inventory read holds deletes and releases, creates still proceed', async () => {
    const { provider, store, clock, c } = setup();
    await c.runOnce();
    const rs = provider.routes.get('rtb-1')!;
    const first = provider.ours('rtb-1')[0]!;
    rs.splice(
      rs.findIndex((x) => x.destination === first.destination),
      1,
    );
    // A target-less blackhole of ours: deleted on a trusted pass, held on this one.
    rs.push({
      table: 'rtb-1',
      destination: '10.0.200.0/24',
      target: null,
      nextHop: 'igw-gone',
      state: 'blackhole',
      marked: true,
      system: false,
      providerId: 'rs-stale',
    });
    provider.failInstances = new Error('DescribeInstances: 500');
    clock.advance(10 * 60_000);
    const r = await c.runOnce();
    expect(r.valve.held).toBe(true);
    expect(provider.writes.filter((w) => w.op === 'delete')).toEqual([]);
    expect(r.plan.findings.some((f) => f.kind === 'held:safety-valve' && f.destination === '10.0.200.0/24')).toBe(true);
    expect(r.plan.changes).toEqual([expect.objectContaining({ op: 'create', destination: first.destination })]);
    expect((await store.load()).allocations).toHaveLength(3);
  });

  it('I3: an empty inventory while allocations exist deletes nothing and releases nothing', async () => {
    const { provider, store, clock, c } = setup();
    await c.runOnce();
    const writes = provider.writes.length;
    for (const id of ['i-0', 'i-1', 'i-2']) provider.removeInstance(id);
    for (let i = 0; i < 3; i++) {
      clock.advance(10 * 60_000);
      const r = await c.runOnce();
      expect(r.valve.held).toBe(true);
    }
    expect(provider.writes.slice(writes).filter((w) => w.op !== 'create')).toEqual([]);
    expect((await store.load()).allocations).toHaveLength(3);
  });

  it('I3: an inventory that shrank by more than maxDeleteFraction holds deletes', async () => {
    const { provider, store, clock, c } = setup({
      vms: 10,
      config: { reconcile: { maxDeleteFraction: 0.2, releaseAfter: '1m' } },
    });
    await c.runOnce();
    for (const id of ['i-0', 'i-1', 'i-2', 'i-3']) provider.removeInstance(id);
    clock.advance(10 * 60_000);
    const r = await c.runOnce();
    expect(r.valve).toMatchObject({ held: true, reason: expect.stringContaining('maxDeleteFraction') });
    expect(provider.writes.filter((w) => w.op === 'delete')).toEqual([]);
    expect((await store.load()).allocations).toHaveLength(10);
  });

  it('I3: a failed route-table read means no changes for that table at all', async () => {
    const { provider, c } = setup({ tables: ['rtb-1', 'rtb-2'] });
    provider.failRoutes.add('rtb-2');
    const r = await c.runOnce();
    expect(provider.writes.every((w) => w.table === 'rtb-1')).toBe(true);
    expect(r.converged).toBe(false);
    expect(r.tables.find((t) => t.id === 'rtb-2')?.readError).toContain('failed');
  });

  it('I2: a foreign route on one of our subnets is left alone and reported as a conflict', async () => {
    const { provider, c } = setup({ vms: 1, marks: false });
    provider.addForeign('rtb-1', '10.0.0.0/24');
    const r = await c.runOnce();
    expect(r.plan.findings).toEqual([expect.objectContaining({ kind: 'conflict', destination: '10.0.0.0/24' })]);
    expect(provider.writes).toEqual([]);
    expect(r.converged).toBe(false);
  });

  it('I4: no cloud or store writes when the fence fails', async () => {
    const { provider, store, leadership, c } = setup();
    leadership.leading = false;
    await expect(c.runOnce()).rejects.toThrow(/leadership lost/);
    expect(provider.writes).toEqual([]);
    expect((await store.load()).allocations).toEqual([]);
  });

  it('I4: losing leadership mid-apply stops the remaining changes', async () => {
    const { provider, leadership, c } = setup({ vms: 6 });
    let n = 0;
    provider.beforeChange = () => {
      if (++n === 2) leadership.lose();
    };
    // Allocations are written before the apply; the fence inside apply fails from the 3rd change on.
    const r = await c.runOnce();
    expect(provider.writes.length).toBe(2);
    expect(r.results.filter((x) => x.outcome === 'skipped').length).toBe(4);
    expect(r.converged).toBe(false);
  });

  it('I5: creates beyond quota are blocked oldest-first and never attempted', async () => {
    const { provider, store, clock, c } = setup({ vms: 2, quota: 3 });
    await c.runOnce();
    clock.advance(1000);
    provider.addInstance('i-7');
    provider.addInstance('i-8');
    const r = await c.runOnce();
    const created = r.plan.changes.map((x) => x.target);
    expect(created).toEqual(['i-7']);
    expect(r.plan.findings.filter((f) => f.kind === 'blocked:quota').map((f) => f.target)).toEqual(['i-8']);
    expect(provider.calls.create).toBe(3);
    expect((await store.load()).allocations).toHaveLength(4);
  });

  it('I5: after a quota error (the quota read lied) signal passes do not retry; a full pass with room does', async () => {
    const { provider, c } = setup({ vms: 4, quota: 2, reportedQuota: 100 });
    await c.runOnce({ full: true });
    expect(provider.calls.create).toBe(3); // 2 applied, the 3rd hit the quota and stopped the rest
    for (let i = 0; i < 5; i++) await c.runOnce({ full: false });
    expect(provider.calls.create).toBe(3);
    provider.quotaLimit = 10;
    await c.runOnce({ full: true });
    expect(provider.ours('rtb-1')).toHaveLength(4);
  });

  it('I5: a project-wide quota is shared by all tables', async () => {
    const { provider, c } = setup({ vms: 2, tables: ['net-a', 'net-b'], quota: 3, scope: 'project' });
    const r = await c.runOnce();
    expect(r.plan.changes.filter((x) => x.op === 'create')).toHaveLength(3);
    expect(r.plan.findings.filter((f) => f.kind === 'blocked:quota')).toHaveLength(1);
    expect(provider.writes.every((w) => w.op === 'create')).toBe(true);
  });
});

describe('controller loop', () => {
  it('coalesces a burst of change signals into one pass and stops cleanly with resign', async () => {
    const { c, leadership, clock } = setup();
    const stop = new AbortController();
    const passesAt: number[] = [];
    const orig = c.runOnce.bind(c);
    c.runOnce = async (o, s) => {
      passesAt.push(clock.now());
      const r = await orig(o, s);
      if (passesAt.length === 1) for (let i = 0; i < 10; i++) c.notify('instance set changed');
      if (passesAt.length >= 4) stop.abort();
      return r;
    };
    await c.run(stop.signal);
    expect(leadership.resigned).toBe(1);
    expect(c.currentState).toBe('stopped');
    // pass 1 (leadership gained) → one follow-up after the debounce for the whole burst (+ routes changed).
    expect(passesAt[1]! - passesAt[0]!).toBe(2000);
    expect(passesAt.length).toBe(4);
  });

  it('backs off exponentially on repeated failures, capped at the interval', () => {
    const { c } = setup();
    expect([1, 2, 3, 4, 10].map((n) => c.backoffMs(n))).toEqual([1000, 2000, 4000, 8000, 60_000]);
  });

  it('campaigns again after leadership is lost', async () => {
    const { c, leadership } = setup();
    const stop = new AbortController();
    let passes = 0;
    const orig = c.runOnce.bind(c);
    c.runOnce = async (o, s) => {
      passes++;
      const r = await orig(o, s);
      if (passes === 1) {
        leadership.lose();
        setTimeout(() => (leadership.leading = true), 20);
      }
      if (passes === 2) stop.abort();
      return r;
    };
    await c.run(stop.signal);
    expect(passes).toBe(2);
  });

  it('/readyz: ready as a standby, ready while passes succeed, not ready after three intervals of failures', async () => {
    const { c, provider, clock } = setup();
    // Readiness is read inside the loop, where the controller's state is real.
    const seen: Array<{ ok: boolean; reason?: string }> = [];
    const stop = new AbortController();
    let passes = 0;
    const orig = c.runOnce.bind(c);
    c.runOnce = async (o, s) => {
      passes++;
      if (passes === 2) provider.failInstances = new Error('DescribeInstances: 503');
      const r = await orig(o, s);
      seen.push(await c.ready());
      if (passes === 2) clock.advance(3 * 60_000 + 1);
      if (passes === 3) stop.abort();
      return r;
    };
    await c.run(stop.signal);
    expect(seen[0]).toEqual({ ok: true });
    expect(seen[1]).toEqual({ ok: true });
    expect(seen[2]?.ok).toBe(false);
    expect(seen[2]?.reason).toMatch(/no successful reconcile pass for/);
  });

  it('/readyz: a standby that is campaigning is ready', async () => {
    const { c, leadership } = setup();
    leadership.leading = false;
    const stop = new AbortController();
    const loop = c.run(stop.signal);
    await new Promise((r) => setTimeout(r, 20));
    expect(c.currentState).toBe('campaigning');
    expect(await c.ready()).toEqual({ ok: true, reason: 'standby: store reachable, campaigning' });
    stop.abort();
    await loop;
  });

  it('/readyz: nobody is ready while the store does not answer, leader or standby', async () => {
    const { c, leadership, store } = setup();
    let reachable = true;
    store.ping = async () => {
      if (!reachable) throw new Error('cannot reach etcd at http://127.0.0.1:2379 (no answer within 2000 ms)');
    };
    await c.runOnce();
    const stop = new AbortController();
    leadership.leading = false;
    const loop = c.run(stop.signal);
    await new Promise((r) => setTimeout(r, 20));
    expect(c.currentState).toBe('campaigning');
    expect((await c.ready()).ok).toBe(true);
    reachable = false;
    expect(await c.ready()).toEqual({
      ok: false,
      reason: 'store unreachable: cannot reach etcd at http://127.0.0.1:2379 (no answer within 2000 ms)',
    });
    stop.abort();
    await loop;
  });
});
