// The same scenarios for all three providers, each through its official SDK against its emulator: what
// the reconcile engine relies on must hold whichever cloud is behind it.
import { afterEach, describe, expect, it } from 'vitest';
import type { Change, Instance, Route, RouteTable } from '../../providers/types.ts';
import { PROVIDER_KINDS, type ProviderKind } from '../../providers/plugins.ts';
import { startCloud, type CloudFixture } from '../../testkit/clouds.ts';

const signal = () => AbortSignal.timeout(60_000);

function subnetFor(i: number): string {
  return `172.16.${i}.0/24`;
}

function creates(table: RouteTable, instances: Instance[], from = 0): Change[] {
  return instances.map((inst, i) => ({
    op: 'create',
    table: table.id,
    destination: subnetFor(from + i),
    target: inst.id,
    reason: 'test',
  }));
}

function ours(routes: Route[]): Route[] {
  return routes.filter((r) => !r.system && r.destination.startsWith('172.16.') && r.marked !== false);
}

async function seed(f: CloudFixture, count: number): Promise<Instance[]> {
  await f.admin('POST', 'instances', { count });
  const all = await f.provider.listInstances(signal());
  return all.filter((i) => i.state === 'running').sort((a, b) => a.id.localeCompare(b.id));
}

describe.each(PROVIDER_KINDS.map((k) => [k] as [ProviderKind]))('provider contract: %s', (kind) => {
  let f: CloudFixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  it('lists every tagged instance across pages, and only those', async () => {
    f = await startCloud(kind);
    await f.admin('POST', 'instances', { count: 130 });
    await f.admin('POST', 'instances', { count: 3, tags: { 'routesync-cluster': 'other' } });
    const list = await f.provider.listInstances(signal());
    expect(list).toHaveLength(130);
    expect(new Set(list.map((i) => i.id)).size).toBe(130);
    for (const i of list) {
      expect(i.privateIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(i.zone).not.toBe('');
      expect(i.state).toBe('running');
    }
  });

  it('a failed page fails the whole listing instead of returning part of it', async () => {
    f = await startCloud(kind);
    // More than one page on every cloud (GCE lists 500 instances per page).
    await f.admin('POST', 'instances', { count: 520 });
    // The first page answers, every later one fails.
    await f.admin('POST', 'faults', { rate: 1, error: '5xx', after: 1 });
    await expect(f.provider.listInstances(AbortSignal.timeout(45_000))).rejects.toThrow();
  });

  it('looks VMs up by id: running, gone (terminated or not found), never heard of; a failed lookup throws, never "not found"', async () => {
    f = await startCloud(kind);
    const [alive, doomed] = await seed(f, 2);
    expect((await f.admin('DELETE', `instances/${encodeURIComponent(doomed!.id)}`)).status).toBe(200);
    const unknown = kind === 'aws' ? 'i-0000000000deadbee' : kind === 'aliyun' ? 'i-bp1nosuchvm0000000' : 'no-such-vm';
    const got = await f.provider.lookupInstances([alive!.id, doomed!.id, unknown], signal());
    expect(got.get(alive!.id)).toBe('running');
    expect(['terminated', 'notFound']).toContain(got.get(doomed!.id));
    expect(got.get(unknown)).toBe('notFound');
    await f.admin('POST', 'faults', { rate: 1, error: '5xx' });
    await expect(f.provider.lookupInstances([alive!.id, unknown], AbortSignal.timeout(45_000))).rejects.toThrow();
  });

  it('discovers the route tables and creates, lists, repeats, replaces and deletes routes', async () => {
    f = await startCloud(kind);
    const tables = await f.provider.routeTables(signal());
    expect(tables.length).toBeGreaterThanOrEqual(1);
    const table = tables[0]!;
    const vms = await seed(f, 6);

    const created = await f.provider.apply(table, creates(table, vms.slice(0, 5)), { signal: signal() });
    expect(created.map((r) => r.outcome)).toEqual(Array(5).fill('applied'));
    let routes = ours(await f.provider.listRoutes(table, signal()));
    expect(routes.map((r) => [r.destination, r.target]).sort()).toEqual(
      vms
        .slice(0, 5)
        .map((v, i) => [subnetFor(i), v.id])
        .sort(),
    );
    for (const r of routes) expect(r.marked === true || r.marked === null).toBe(true);

    // Repeating a create that already happened is not a failure and not a second route.
    const again = await f.provider.apply(table, creates(table, vms.slice(0, 2)), { signal: signal() });
    for (const r of again) expect(['applied', 'alreadyDone']).toContain(r.outcome);
    expect(ours(await f.provider.listRoutes(table, signal()))).toHaveLength(5);

    const victim = routes.find((r) => r.destination === subnetFor(0))!;
    const replaced = await f.provider.apply(
      table,
      [
        {
          op: 'replace',
          table: table.id,
          destination: victim.destination,
          target: vms[5]!.id,
          previousTarget: victim.target,
          ...(victim.providerId ? { providerId: victim.providerId } : {}),
          reason: 'test',
        },
      ],
      { signal: signal() },
    );
    expect(replaced[0]!.outcome).toBe('applied');
    routes = ours(await f.provider.listRoutes(table, signal()));
    expect(routes.find((r) => r.destination === subnetFor(0))?.target).toBe(vms[5]!.id);

    const del = (r: Route): Change => ({
      op: 'delete',
      table: table.id,
      destination: r.destination,
      target: r.target,
      ...(r.providerId ? { providerId: r.providerId } : {}),
      reason: 'test',
    });
    const gone = routes.filter((r) => r.destination !== subnetFor(0));
    const deleted = await f.provider.apply(table, gone.map(del), { signal: signal() });
    expect(deleted.map((r) => r.outcome)).toEqual(Array(gone.length).fill('applied'));
    // Deleting what is already gone counts as done, not as an error.
    const missing = await f.provider.apply(table, gone.slice(0, 1).map(del), { signal: signal() });
    expect(missing[0]!.outcome).toBe('alreadyDone');
    expect(ours(await f.provider.listRoutes(table, signal())).map((r) => r.destination)).toEqual([subnetFor(0)]);
  });

  it('reports a foreign route on our CIDR as not ours, and system routes as system', async () => {
    f = await startCloud(kind);
    const table = (await f.provider.routeTables(signal()))[0]!;
    await f.admin('POST', 'routes', {
      table: table.id,
      destination: '172.16.200.0/24',
      nextHop: 'vpn-gateway-1',
      name: 'other-team',
      description: 'not ours',
    });
    const routes = await f.provider.listRoutes(table, signal());
    const foreign = routes.find((r) => r.destination === '172.16.200.0/24');
    expect(foreign).toBeDefined();
    expect(foreign!.target).toBeNull();
    expect(foreign!.marked).not.toBe(true);
    expect(routes.some((r) => r.system)).toBe(true);
  });

  it('stops creating at the quota and does not retry against a full table', async () => {
    f = await startCloud(kind);
    const table = (await f.provider.routeTables(signal()))[0]!;
    const vms = await seed(f, 5);
    const before = await f.provider.quota(table, signal());
    await f.admin('POST', 'quota', { limit: before.used + 2 });
    const q = await f.provider.quota(table, signal());
    expect(q.limit).toBe(before.used + 2);
    const writesBefore = await f.routeWrites();
    const results = await f.provider.apply(table, creates(table, vms), { signal: signal() });
    expect(results.filter((r) => r.outcome === 'applied')).toHaveLength(2);
    const failed = results.filter((r) => r.outcome === 'failed');
    expect(failed).toHaveLength(3);
    for (const r of failed) expect(r.error?.kind).toBe('quota');
    // At most the two that fit plus the one that hit the wall (batched clouds may use fewer calls).
    expect((await f.routeWrites()) - writesBefore).toBeLessThanOrEqual(3);
  });

  it('rides out a throttling storm and converges', async () => {
    f = await startCloud(kind);
    const table = (await f.provider.routeTables(signal()))[0]!;
    const vms = await seed(f, 12);
    // Two certain throttles (so every cloud meets at least one, however few calls it batches into), then 30%.
    await f.admin('POST', 'faults', {
      rules: [
        { rate: 1, error: 'throttle', count: 2 },
        { rate: 0.3, error: 'throttle' },
      ],
    });
    const results = await f.provider.apply(table, creates(table, vms), { signal: AbortSignal.timeout(120_000) });
    expect(results.filter((r) => r.outcome === 'failed')).toEqual([]);
    await f.admin('DELETE', 'faults');
    expect(ours(await f.provider.listRoutes(table, signal()))).toHaveLength(12);
    expect(f.retries.some((r) => r.kind === 'throttled')).toBe(true);
  });

  it('counts quota use from the listing it is given, without listing the table again', async () => {
    f = await startCloud(kind);
    const table = (await f.provider.routeTables(signal()))[0]!;
    const vms = await seed(f, 3);
    await f.provider.apply(table, creates(table, vms), { signal: signal() });
    const fresh = await f.provider.quota(table, signal());
    const routes = await f.provider.listRoutes(table, signal());
    const callsBefore = f.calls.length;
    const fromListing = await f.provider.quota(table, signal(), routes);
    expect(fromListing).toEqual(fresh);
    const listingCalls = f.calls
      .slice(callsBefore)
      .filter((c) => /RouteTables|RouteEntryList|routes\.list/.test(c.action));
    expect(listingCalls).toEqual([]);
  });

  it('applies with the quota it is handed, without reading the quota again', async () => {
    f = await startCloud(kind);
    const table = (await f.provider.routeTables(signal()))[0]!;
    const vms = await seed(f, 3);
    const quota = await f.provider.quota(table, signal());
    const callsBefore = f.calls.length;
    const results = await f.provider.apply(table, creates(table, vms), { signal: signal(), quota });
    expect(results.map((r) => r.outcome)).toEqual(['applied', 'applied', 'applied']);
    expect(
      f.calls.slice(callsBefore).filter((c) => /^(GetServiceQuota|GetProductQuota|projects\.get)$/.test(c.action)),
    ).toEqual([]);
  });

  it('reports the quota with its source', async () => {
    f = await startCloud(kind, { routeQuota: 77 });
    const table = (await f.provider.routeTables(signal()))[0]!;
    const q = await f.provider.quota(table, signal());
    expect(q.limit).toBeGreaterThan(0);
    expect(['api', 'api-default', 'config', 'default']).toContain(q.source);
    if (q.source === 'api') expect(q.limit).toBe(77);
    expect(q.scope).toBe(kind === 'gce' ? 'project' : 'table');
  });
});
