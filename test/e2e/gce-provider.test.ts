// The GCE provider (official SDK) against the GCE emulator: listings, ownership marks, apply with operations,
// 409 as success, throttling, the project-wide quota, malformed answers.
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator, type StartOptions } from '../../emulators/shared/server.ts';
import {
  createGceEmulator,
  EMULATOR_TOPOLOGY,
  SECOND_NETWORK,
  type GceEmulator,
} from '../../emulators/gce/emulator.ts';
import { configFor } from '../../providers/plugins.ts';
import { createGceProvider, type GceInternalOptions } from '../../providers/gce/provider.ts';
import { routeName } from '../../providers/gce/names.ts';
import {
  ProviderError,
  type ApiObserver,
  type Change,
  type CloudAdapter,
  type Instance,
  type RouteTable,
} from '../../providers/types.ts';
import { validateConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';

const TAG = { key: 'routesync-cluster', value: 'test' };
const FAST: GceInternalOptions = {
  retry: { baseMs: 5, capMs: 40, attempts: 8 },
  operationReadsPerMinute: 1_000_000,
  env: { ROUTESYNC_GCE_ACCESS_TOKEN: 'provider-token' },
};
const signal = () => AbortSignal.timeout(30_000);

interface Fixture {
  emu: RunningEmulator;
  provider: CloudAdapter;
  calls: Array<{ action: string; outcome: string }>;
  retries: Array<{ action: string; kind: string }>;
  onCall?: (action: string, outcome: string) => void;
  // biome-ignore lint/suspicious/noExplicitAny: admin JSON is loosely shaped; assertions check the fields
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  count(action: string): Promise<number>;
}

async function start(
  o: { emu?: StartOptions; provider?: Record<string, unknown>; internal?: GceInternalOptions; timeScale?: number } = {},
): Promise<Fixture> {
  const emu = await startEmulator(createGceEmulator, { profile: 'fast', timeScale: 50, instanceTag: TAG, ...o.emu });
  const config = validateConfig({
    cluster: 'test',
    clusterCIDR: '172.16.0.0/16',
    provider: {
      type: 'gce',
      endpoint: emu.url,
      project: EMULATOR_TOPOLOGY.project,
      network: EMULATOR_TOPOLOGY.network,
      instanceFilter: `${TAG.key}=${TAG.value}`,
      ...o.provider,
    },
    store: { type: 'memory' },
  });
  const f: Partial<Fixture> & { calls: Fixture['calls']; retries: Fixture['retries'] } = {
    emu,
    calls: [],
    retries: [],
  };
  const observer: ApiObserver = {
    request: (action, outcome) => {
      f.calls.push({ action, outcome });
      f.onCall?.(action, outcome);
    },
    retry: (action, kind) => f.retries.push({ action, kind }),
  };
  f.provider = createGceProvider(
    configFor('gce', config.provider),
    {
      cluster: 'test',
      clusterCIDR: '172.16.0.0/16',
      logger: silentLogger,
      observer,
      ...(o.timeScale ? { timeScale: o.timeScale } : {}),
    },
    { ...FAST, ...o.internal },
  );
  f.admin = async (method, path, body) => {
    const r = await fetch(`${emu.url}/_emulator/${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: r.status, json: await r.json() };
  };
  f.count = async (action) => {
    const snap = emu.counters.snapshot();
    return Object.values(snap.byAction[action] ?? {}).reduce((a, b) => a + b, 0);
  };
  open.push(f as Fixture);
  return f as Fixture;
}

const open: Fixture[] = [];
afterEach(async () => {
  for (const f of open.splice(0)) {
    await f.provider.close();
    await f.emu.close();
  }
});

const create = (table: RouteTable, destination: string, target: string): Change => ({
  op: 'create',
  table: table.id,
  destination,
  target,
  reason: 'test',
});

async function running(f: Fixture, n: number): Promise<Instance[]> {
  await f.admin('POST', 'instances', { count: n });
  return (await f.provider.listInstances(signal()))
    .filter((i) => i.state === 'running')
    .sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
}

describe('gce provider', () => {
  it('lists instances across pages, by label, with their state and selfLink', async () => {
    const f = await start({ internal: { instancePageSize: 10 } });
    await f.admin('POST', 'instances', { count: 25 });
    await f.admin('POST', 'instances', { count: 4, tags: { 'routesync-cluster': 'other' } });
    await f.admin('POST', 'instances', { instances: [{ name: 'halted', state: 'stopped', zone: 'us-central1-c' }] });
    const list = await f.provider.listInstances(signal());
    expect(list).toHaveLength(26);
    expect(
      f.calls.filter((c) => c.action === 'instances.aggregatedList' && c.outcome === 'ok').length,
    ).toBeGreaterThanOrEqual(3);
    const halted = list.find((i) => i.id === 'us-central1-c/halted');
    expect(halted).toMatchObject({ name: 'halted', zone: 'us-central1-c', state: 'stopped' });
    for (const i of list) {
      // Names are unique per zone only: the id is the zone and the name.
      expect(i.id).toBe(`${i.zone}/${i.name}`);
      expect(i.privateIp).toMatch(/^10\.128\.\d+\.\d+$/);
      expect(i.selfLink).toMatch(new RegExp(`/zones/${i.zone}/instances/${i.name}$`));
    }
  });

  it('fails the whole instance listing when a later page fails', async () => {
    const f = await start({ internal: { instancePageSize: 5 } });
    await f.admin('POST', 'instances', { count: 20 });
    let pages = 0;
    f.onCall = (action, outcome) => {
      // After the first page answered, every further page fails.
      if (action === 'instances.aggregatedList' && outcome === 'ok' && ++pages === 1)
        f.emu.faults.add([{ action, rate: 1, error: '5xx' }]);
    };
    const err = await f.provider.listInstances(signal()).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).kind).toBe('unavailable');
    expect(f.retries.some((r) => r.action === 'instances.aggregatedList')).toBe(true);
  });

  it('returns configured tables as given, or discovers the network', async () => {
    const configured = await start({ provider: { routeTableIds: [EMULATOR_TOPOLOGY.network, SECOND_NETWORK] } });
    expect((await configured.provider.routeTables(signal())).map((t) => t.id)).toEqual([
      EMULATOR_TOPOLOGY.network,
      SECOND_NETWORK,
    ]);
    expect(configured.calls).toEqual([]);
    const discovered = await start();
    const tables = await discovered.provider.routeTables(signal());
    expect(tables).toHaveLength(1);
    expect(tables[0]).toMatchObject({ id: EMULATOR_TOPOLOGY.network, name: EMULATOR_TOPOLOGY.network });
    const missing = await start({ provider: { network: 'no-such-net' } });
    await expect(missing.provider.routeTables(signal())).rejects.toMatchObject({ kind: 'notFound' });
  });

  it('marks routes as ours, foreign, system or blackhole', async () => {
    const f = await start();
    const [table] = await f.provider.routeTables(signal());
    const vms = await running(f, 3);
    const res = await f.provider.apply(
      table!,
      [create(table!, '172.16.1.0/24', vms[0]!.id), create(table!, '172.16.2.0/24', vms[1]!.id)],
      { signal: signal() },
    );
    expect(res.map((r) => r.outcome)).toEqual(['applied', 'applied']);
    await f.admin('POST', 'routes', {
      destination: '172.16.9.0/24',
      target: vms[2]!.id,
      name: 'hand-made',
      description: 'by an admin',
    });
    await f.admin('POST', 'routes', {
      table: SECOND_NETWORK,
      destination: '172.16.8.0/24',
      target: vms[2]!.id,
      name: 'elsewhere',
    });
    await f.admin('DELETE', `instances/${vms[1]!.id}`);
    const routes = await f.provider.listRoutes(table!, signal());
    const by = (d: string) => routes.find((r) => r.destination === d);
    expect(by('172.16.1.0/24')).toMatchObject({
      target: vms[0]!.id,
      marked: true,
      system: false,
      state: 'active',
      providerId: routeName('test', '172.16.1.0/24'),
    });
    expect(by('172.16.2.0/24')).toMatchObject({ target: vms[1]!.id, marked: true, state: 'blackhole' });
    expect(by('172.16.9.0/24')).toMatchObject({
      target: vms[2]!.id,
      marked: false,
      system: false,
      providerId: 'hand-made',
    });
    // Routes of another network are not this table's.
    expect(by('172.16.8.0/24')).toBeUndefined();
    expect(
      routes
        .filter((r) => r.system)
        .map((r) => r.nextHop)
        .sort(),
    ).toEqual(['default-internet-gateway', `network:${EMULATOR_TOPOLOGY.network}`]);
    expect(routes.every((r) => r.table === table!.id)).toBe(true);
  });

  it('routes to a VM it never listed (an inventory that is not the cloud’s): it finds the instance URL itself', async () => {
    const f = await start();
    // Not labelled for the cluster, in a zone of its own: only a lookup by name finds it. The emulator refuses
    // a nextHopInstance whose zone is not the VM's, so an applied create proves the URL is the VM's own.
    const added = await f.admin('POST', 'instances', {
      instances: [{ name: 'node-elsewhere', zone: 'us-central1-c' }],
      tags: { 'routesync-cluster': 'other' },
    });
    expect(added.status).toBe(201);
    const [t] = await f.provider.routeTables(signal());
    const res = await f.provider.apply(t!, [create(t!, '172.16.9.0/24', 'us-central1-c/node-elsewhere')], {
      signal: signal(),
    });
    expect(res.map((r) => [r.outcome, r.error?.message])).toEqual([['applied', undefined]]);
    const ours = (await f.provider.listRoutes(t!, signal())).filter((r) => r.marked);
    expect(ours.map((r) => [r.destination, r.target])).toEqual([['172.16.9.0/24', 'us-central1-c/node-elsewhere']]);
  });

  it('creates, repeats (409 → alreadyDone), replaces a wrong next hop and deletes idempotently', async () => {
    const f = await start();
    const [table] = await f.provider.routeTables(signal());
    const vms = await running(f, 3);
    const t = table!;
    const events: string[] = [];
    const onProgress = (e: { type: string }) => events.push(e.type);
    expect(
      (await f.provider.apply(t, [create(t, '172.16.1.0/24', vms[0]!.id)], { signal: signal(), onProgress })).map(
        (r) => r.outcome,
      ),
    ).toEqual(['applied']);
    expect(events).toEqual(['start', 'result']);
    // The same create again: the cloud says 409, the route already points there.
    expect(
      (await f.provider.apply(t, [create(t, '172.16.1.0/24', vms[0]!.id)], { signal: signal() })).map((r) => r.outcome),
    ).toEqual(['alreadyDone']);
    expect(f.emu.counters.snapshot().byAction['routes.insert']).toMatchObject({ ok: 1, alreadyExists: 1 });
    // A create whose name is taken by our route to another VM: immutable on GCE, so delete + insert.
    expect(
      (await f.provider.apply(t, [create(t, '172.16.1.0/24', vms[1]!.id)], { signal: signal() }))[0]!.outcome,
    ).toBe('applied');
    let ours = (await f.provider.listRoutes(t, signal())).filter((r) => r.marked);
    expect(ours.map((r) => [r.destination, r.target])).toEqual([['172.16.1.0/24', vms[1]!.id]]);
    // An explicit replace.
    const cur = ours[0]!;
    const rep = await f.provider.apply(
      t,
      [
        {
          op: 'replace',
          table: t.id,
          destination: cur.destination,
          target: vms[2]!.id,
          previousTarget: cur.target,
          providerId: cur.providerId!,
          reason: 'test',
        },
      ],
      { signal: signal() },
    );
    expect(rep[0]!.outcome).toBe('applied');
    ours = (await f.provider.listRoutes(t, signal())).filter((r) => r.marked);
    expect(ours.map((r) => r.target)).toEqual([vms[2]!.id]);
    const del: Change = {
      op: 'delete',
      table: t.id,
      destination: cur.destination,
      target: vms[2]!.id,
      providerId: cur.providerId!,
      reason: 'test',
    };
    expect((await f.provider.apply(t, [del], { signal: signal() }))[0]!.outcome).toBe('applied');
    expect((await f.provider.apply(t, [del], { signal: signal() }))[0]!.outcome).toBe('alreadyDone');
    expect((await f.provider.listRoutes(t, signal())).filter((r) => r.marked)).toEqual([]);
    // Every SDK call was observed.
    expect(f.calls.length).toBe(f.emu.counters.snapshot().total);
    expect(f.calls.some((c) => c.action === 'globalOperations.wait')).toBe(true);
  });

  it('rides out throttled writes (rate 0.3) and converges, counting retries', async () => {
    const f = await start();
    const [table] = await f.provider.routeTables(signal());
    const vms = await running(f, 12);
    await f.admin('POST', 'faults', {
      rules: [
        { action: 'routes.insert', rate: 0.3, error: 'throttle' },
        { action: 'globalOperations.wait', rate: 0.3, error: '429' },
      ],
    });
    const res = await f.provider.apply(
      table!,
      vms.map((v, i) => create(table!, `172.16.${i}.0/24`, v.id)),
      { signal: AbortSignal.timeout(60_000) },
    );
    expect(res.filter((r) => r.outcome !== 'applied')).toEqual([]);
    await f.admin('DELETE', 'faults');
    expect((await f.provider.listRoutes(table!, signal())).filter((r) => r.marked)).toHaveLength(12);
    expect(f.retries.filter((r) => r.kind === 'throttled').length).toBeGreaterThan(0);
    expect(f.emu.counters.snapshot().byAction['routes.insert']!.rateLimitExceeded).toBe(
      f.retries.filter((r) => r.action === 'routes.insert').length,
    );
  });

  it('paces inserts and waits under per-minute windows: a pass several minutes long, none refused', async () => {
    // Compute's groups cut to 30 per clock minute (the emulator resets each at the minute's turn); the
    // provider under them with a cushion, as by default (1,400 against 1,500). 100 realistic operations
    // (DONE 5-20 s after the insert, so every one needs its wait) are four minutes of inserts: with a token
    // bucket of a minute's worth plus its refill, a minute's turn lets almost two minutes' worth through.
    const f = await start({
      emu: { profile: 'realistic', timeScale: 50 },
      timeScale: 50,
      // The config's knobs (the test's own fast pacing of operation reads switched off so they apply).
      provider: { gce: { writesPerMinute: 28, operationReadsPerMinute: 28 } },
      internal: { operationReadsPerMinute: undefined },
    });
    const emu = f.emu.cloud as GceEmulator;
    emu.setRateLimit('default', 30);
    emu.setRateLimit('operation_read_requests', 30);
    const [table] = await f.provider.routeTables(signal());
    const vms = await running(f, 100);
    const res = await f.provider.apply(
      table!,
      vms.map((v, i) => create(table!, `172.16.${i}.0/24`, v.id)),
      { signal: AbortSignal.timeout(60_000) },
    );
    expect(res.filter((r) => r.outcome !== 'applied')).toEqual([]);
    const byAction = f.emu.counters.snapshot().byAction;
    expect(byAction['routes.insert']).toEqual({ ok: 100 });
    expect(byAction['globalOperations.wait']).toEqual({ ok: 100 });
    expect(f.retries).toEqual([]);
  });

  it('stops at the quota known up front: failures of kind quota and no insert beyond it', async () => {
    const f = await start();
    const [table] = await f.provider.routeTables(signal());
    const vms = await running(f, 6);
    const q = await f.provider.quota(table!, signal());
    await f.admin('POST', 'quota', { limit: q.used + 2 });
    const res = await f.provider.apply(
      table!,
      vms.map((v, i) => create(table!, `172.16.${i}.0/24`, v.id)),
      { signal: signal() },
    );
    expect(res.filter((r) => r.outcome === 'applied')).toHaveLength(2);
    expect(res.filter((r) => r.outcome === 'failed').map((r) => r.error?.kind)).toEqual([
      'quota',
      'quota',
      'quota',
      'quota',
    ]);
    expect(await f.count('routes.insert')).toBe(2);
  });

  it('stops creating on the first QUOTA_EXCEEDED operation when the quota API is unreadable', async () => {
    const f = await start({ provider: { concurrency: 1 } });
    const [table] = await f.provider.routeTables(signal());
    const vms = await running(f, 6);
    await f.admin('POST', 'quota', { limit: 3 });
    await f.admin('POST', 'routes', { destination: '10.99.0.0/24', nextHop: '10.128.0.50', name: 'filler' });
    await f.admin('POST', 'faults', { action: 'projects.get', rate: 1, error: '403' });
    const q = await f.provider.quota(table!, signal());
    expect(q).toMatchObject({ source: 'default', limit: 200, used: 1, scope: 'project' });
    const res = await f.provider.apply(
      table!,
      vms.map((v, i) => create(table!, `172.16.${i}.0/24`, v.id)),
      { signal: signal() },
    );
    expect(res.map((r) => r.outcome)).toEqual(['applied', 'applied', 'failed', 'failed', 'failed', 'failed']);
    expect(res.slice(2).every((r) => r.error?.kind === 'quota')).toBe(true);
    expect(res[2]!.error?.code).toBe('QUOTA_EXCEEDED');
    // Two that fit plus the one that hit the wall; no retry loop.
    expect(await f.count('routes.insert')).toBe(3);
    expect(f.retries.filter((r) => r.kind === 'quota')).toEqual([]);
  });

  it('reports the quota from the API (project scope), else config, else default', async () => {
    const api = await start({ emu: { routeQuota: 77 } });
    const [table] = await api.provider.routeTables(signal());
    expect(await api.provider.quota(table!, signal())).toEqual({ limit: 77, used: 0, source: 'api', scope: 'project' });
    // Routes of the other network use the same project quota.
    const vm = (await running(api, 1))[0]!;
    await api.admin('POST', 'routes', { table: SECOND_NETWORK, destination: '172.16.3.0/24', target: vm.id });
    expect((await api.provider.quota(table!, signal())).used).toBe(1);
    const cfg = await start({ provider: { routeQuota: 50 } });
    await cfg.admin('POST', 'faults', { action: 'projects.get', rate: 1, error: '403' });
    expect(await cfg.provider.quota(table!, signal())).toMatchObject({ limit: 50, source: 'config', scope: 'project' });
    // Throttling that never ends is not "no quota API": it fails instead of guessing.
    const flaky = await start({ internal: { retry: { baseMs: 1, capMs: 2, attempts: 2 } } });
    await flaky.admin('POST', 'faults', { action: 'projects.get', rate: 1, error: 'throttle' });
    await expect(flaky.provider.quota(table!, signal())).rejects.toMatchObject({ kind: 'throttled' });
  });

  it('refuses hostile answers instead of reading them as empty', async () => {
    const f = await start({ internal: { retry: { baseMs: 1, capMs: 2, attempts: 2 } } });
    const [table] = await f.provider.routeTables(signal());
    await running(f, 3);
    const hostile = ['truncate', 'empty-body-200', 'html-200', 'error-200', 'missing-fields', 'wrong-types'];
    for (const [action, read] of [
      ['routes.list', () => f.provider.listRoutes(table!, signal())],
      ['instances.aggregatedList', () => f.provider.listInstances(signal())],
    ] as const) {
      for (const error of hostile) {
        await f.admin('DELETE', 'faults');
        await f.admin('POST', 'faults', { action, rate: 1, error });
        const err = await (read as () => Promise<unknown>)().then(
          () => null,
          (e: unknown) => e,
        );
        expect(err, `${action} ${error}`).toBeInstanceOf(ProviderError);
        expect(['invalid', 'unavailable'], `${action} ${error}`).toContain((err as ProviderError).kind);
      }
    }
    await f.admin('DELETE', 'faults');
    expect((await f.provider.listInstances(signal())).length).toBe(3);
  });

  it('stops at a lost fence and throws only on abort', async () => {
    const f = await start();
    const [table] = await f.provider.routeTables(signal());
    const vms = await running(f, 3);
    const changes = vms.map((v, i) => create(table!, `172.16.${i}.0/24`, v.id));
    const fenced = await f.provider.apply(table!, changes, {
      signal: signal(),
      fence: () => {
        throw new Error('lease lost');
      },
    });
    expect(fenced.map((r) => r.outcome)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(await f.count('routes.insert')).toBe(0);
    const ac = new AbortController();
    ac.abort(new Error('shutting down'));
    await expect(f.provider.apply(table!, changes, { signal: ac.signal })).rejects.toThrow('shutting down');
    const bad = await f.provider.apply(table!, [create(table!, '172.16.5.0/24', 'ghost-vm')], { signal: signal() });
    expect(bad[0]).toMatchObject({ outcome: 'failed', error: { kind: 'notFound' } });
  });
});
