// emulators/<cloud>/vocabulary.ts on every cloud: the names tests, benches and chaos read the request log
// with are the ones the emulator logs when the real provider lists, creates and deletes.
import { afterEach, describe, expect, it } from 'vitest';
import { VOCABULARIES } from '../../emulators/clouds.ts';
import { PROVIDER_KINDS, type ProviderKind } from '../../providers/plugins.ts';
import { type CloudFixture, startCloud } from '../../testkit/clouds.ts';

describe.each(PROVIDER_KINDS.map((k) => [k] as [ProviderKind]))('emulator vocabulary: %s', (kind) => {
  let f: CloudFixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  it('names the listings of a pass, and every write of an apply, as the emulator logs them', async () => {
    const v = VOCABULARIES[kind];
    const cloud = await startCloud(kind);
    f = cloud;
    await cloud.admin('POST', 'instances', { count: 1 });
    const signal = () => AbortSignal.timeout(30_000);
    const [vm] = (await cloud.provider.listInstances(signal())).filter((i) => i.state === 'running');
    const [table] = await cloud.provider.routeTables(signal());
    if (!vm || !table) throw new Error('emulator has no VM or no table');
    await cloud.provider.listRoutes(table, signal());
    const read = new Set(cloud.emu.counters.snapshot().log.map((e) => e.action));
    for (const listing of v.listings) expect(read, listing).toContain(listing);
    expect([...read].filter((a) => v.inventoryRead.test(a)).length).toBeGreaterThan(0);
    expect(read).toContain(v.inventoryListing);
    expect(v.inventoryRead.test(v.inventoryListing)).toBe(true);

    // `denied` on the inventory listing: the read fails at once, one call, no retry.
    await cloud.admin('POST', 'faults', { action: v.inventoryListing, rate: 1, error: v.denied });
    const before = cloud.emu.counters.snapshot().log.length;
    await expect(cloud.provider.listInstances(signal())).rejects.toThrow();
    expect(
      cloud.emu.counters
        .snapshot()
        .log.slice(before)
        .map((e) => e.action),
    ).toEqual([v.inventoryListing]);
    expect(cloud.retries).toEqual([]);
    await cloud.admin('DELETE', 'faults');

    const change = { table: table.id, destination: '172.16.0.0/24', target: vm.id, reason: 'test' };
    await cloud.provider.apply(table, [{ op: 'create', ...change }], { signal: signal() });
    await cloud.provider.apply(table, [{ op: 'delete', ...change }], { signal: signal() });
    const writes = cloud.emu.counters.snapshot().log.filter((e) => e.mutating);
    expect(writes.length).toBeGreaterThanOrEqual(2);
    for (const w of writes) expect(v.writes, w.action).toContain(w.action);
    for (const a of v.routeWrites) expect(v.writes).toContain(a);
    expect(writes.filter((w) => v.destructive.test(w.action)).length).toBeGreaterThan(0);
    expect(await cloud.routeWrites()).toBe(writes.filter((w) => v.routeWrites.includes(w.action)).length);
    expect(await cloud.routeWrites()).toBeGreaterThanOrEqual(2);
  });
});
