// The reconcile engine end to end on each cloud: real provider → official SDK → wire-level emulator.
import { afterEach, describe, expect, it } from 'vitest';
import { VOCABULARIES } from '../../emulators/clouds.ts';
import { PROVIDER_KINDS, type ProviderKind } from '../../providers/plugins.ts';
import { TEST_TAG } from '../../testkit/clouds.ts';
import { type ControllerWorld, controllerWorld } from '../../testkit/controller-world.ts';

interface EmuState {
  instances: Array<{ id: string; state: string }>;
  tables: Array<{
    id: string;
    routes: Array<{ destination: string; target: string | null; nextHop: string; state: string; description?: string }>;
  }>;
}

interface World extends ControllerWorld<EmuState> {
  /** Routes per managed table (GCE's emulator also has a network routesync does not manage). */
  managed(): Promise<Map<string, string[]>>;
}

async function world(kind: ProviderKind, instances: number, config: Record<string, unknown> = {}): Promise<World> {
  const w = await controllerWorld<EmuState>(kind, instances, { config });
  const managed = async () => {
    const ids = new Set((await w.f.provider.routeTables()).map((t) => t.id));
    return new Map([...routeSet(await w.state())].filter(([id]) => ids.has(id)));
  };
  return { ...w, managed };
}

/** Each table's routes to instances inside the cluster CIDR, as `destination>target`. */
function routeSet(s: EmuState): Map<string, string[]> {
  return new Map(
    s.tables.map((t) => [
      t.id,
      t.routes
        .filter((r) => r.destination.startsWith('172.16.') && r.target)
        .map((r) => `${r.destination}>${r.target}`)
        .sort(),
    ]),
  );
}

describe.each(PROVIDER_KINDS.map((k) => [k] as [ProviderKind]))('reconcile on the %s emulator', (kind) => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('I6/I1: converges from empty, one subnet per VM, and a second pass changes nothing', async () => {
    w = await world(kind, 5);
    const r = await w.settle();
    expect(r.converged).toBe(true);
    const snap = await w.store.load();
    expect(snap.allocations).toHaveLength(5);
    expect(new Set(snap.allocations.map((a) => a.subnet)).size).toBe(5);
    const want = snap.allocations.map((a) => `${a.subnet}>${a.instanceId}`).sort();
    const managed = await w.managed();
    expect(managed.size).toBeGreaterThan(0);
    for (const [, routes] of managed) expect(routes).toEqual(want);
    const writes = await w.f.writes();
    const again = await w.c.runOnce({ full: true });
    expect(again.plan.changes).toEqual([]);
    expect(await w.f.writes()).toBe(writes);
  });

  it('follows added and removed VMs, repairs an out-of-band deletion in one pass', async () => {
    w = await world(kind, 3);
    await w.settle();
    await w.f.admin('POST', 'instances', { count: 2, tags: { [TEST_TAG.key]: TEST_TAG.value } });
    const victim = (await w.store.load()).allocations[0]!;
    await w.f.admin('DELETE', `instances/${encodeURIComponent(victim.instanceId)}`);
    await w.settle();
    let snap = await w.store.load();
    expect(snap.allocations).toHaveLength(5);
    expect(snap.allocations.find((a) => a.instanceId === victim.instanceId)?.missingSince).toBeDefined();
    w.clock.advance(61_000);
    await w.settle();
    snap = await w.store.load();
    expect(snap.allocations.map((a) => a.instanceId)).not.toContain(victim.instanceId);
    const want = snap.allocations.map((a) => `${a.subnet}>${a.instanceId}`).sort();
    const managed = await w.managed();
    expect(managed.size).toBeGreaterThan(0);
    for (const [, routes] of managed) expect(routes).toEqual(want);

    const table = (await w.f.provider.routeTables())[0]!.id;
    const gone = snap.allocations[1]!;
    expect((await w.f.admin('DELETE', 'routes', { table, destination: gone.subnet })).status).toBeLessThan(300);
    const repair = await w.c.runOnce({ full: false });
    expect(repair.plan.changes).toEqual([expect.objectContaining({ op: 'create', table, destination: gone.subnet })]);
    const after = await w.settle();
    expect(after.converged).toBe(true);
  });

  it('I2: a foreign route on our subnet is left alone and reported', async () => {
    w = await world(kind, 2);
    const table = (await w.f.provider.routeTables())[0]!.id;
    // The allocator hands out the lowest free subnet first: 172.16.0.0/24 will be ours.
    const added = await w.f.admin('POST', 'routes', {
      table,
      destination: '172.16.0.0/24',
      nextHop: VOCABULARIES[kind].foreignHop,
      description: 'someone else',
    });
    expect(added.status).toBeLessThan(300);
    const r = await w.settle();
    expect(r.plan.findings).toContainEqual(
      expect.objectContaining({ kind: 'conflict', table, destination: '172.16.0.0/24' }),
    );
    expect(r.converged).toBe(false);
    const foreign = (await w.state()).tables
      .find((t) => t.id === table)!
      .routes.filter((x) => x.destination === '172.16.0.0/24');
    expect(foreign).toHaveLength(1);
    expect(foreign[0]!.target).toBeNull();
  });

  it('I3: an inventory read failure deletes nothing and releases nothing', async () => {
    w = await world(kind, 4);
    await w.settle();
    const victim = (await w.store.load()).allocations[0]!;
    await w.f.admin('DELETE', `instances/${encodeURIComponent(victim.instanceId)}`);
    // A non-retryable error in the cloud's own terms, so the failed read is immediate.
    const { inventoryListing, denied } = VOCABULARIES[kind];
    await w.f.admin('POST', 'faults', { action: inventoryListing, rate: 1, error: denied });
    w.clock.advance(10 * 60_000);
    const before = await w.f.writes();
    for (let i = 0; i < 2; i++) {
      const r = await w.c.runOnce({ full: true });
      expect(r.inventory.ok).toBe(false);
      expect(r.valve.held).toBe(true);
      expect(r.results.filter((x) => x.change.op !== 'create')).toEqual([]);
    }
    expect(await w.f.writes()).toBe(before);
    expect((await w.store.load()).allocations.map((a) => a.instanceId)).toContain(victim.instanceId);
    // I6: once the fault stops, one resync converges.
    await w.f.admin('DELETE', 'faults');
    w.clock.advance(10 * 60_000);
    const r = await w.settle();
    expect(r.converged).toBe(true);
  });

  it('I5: a table at quota blocks creates, oldest first, without a retry storm', async () => {
    w = await world(kind, 2);
    await w.settle();
    const tables = await w.f.provider.routeTables();
    const q = await w.f.provider.quota(tables[0]!);
    // No room left anywhere (GCE: the project), then two new VMs arrive.
    await w.f.admin('POST', 'quota', { limit: q.used });
    await w.f.admin('POST', 'instances', { count: 2, tags: { [TEST_TAG.key]: TEST_TAG.value } });
    const before = await w.f.writes();
    const first = await w.c.runOnce({ full: true });
    const afterFirst = await w.f.writes();
    // At most one attempt per table (a provider whose quota source is not the API learns from the error).
    expect(afterFirst - before).toBeLessThanOrEqual(tables.length);
    expect(first.converged).toBe(false);
    for (let i = 0; i < 4; i++) await w.c.runOnce({ full: false });
    expect(await w.f.writes()).toBe(afterFirst);
    const blocked = (await w.c.runOnce({ full: false })).plan.findings.filter((x) => x.kind === 'blocked:quota');
    expect(blocked.length).toBeGreaterThanOrEqual(2);
  });
});
