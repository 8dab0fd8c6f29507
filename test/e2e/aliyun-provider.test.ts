// The Aliyun provider (official @alicloud/pop-core) against the Aliyun emulator: inventory, tables, routes,
// batched and serialised apply, retries, quota.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAliyunEmulator, EMULATOR_TOPOLOGY } from '../../emulators/aliyun/emulator.ts';
import { configFor as sectionFor } from '../../providers/plugins.ts';
import { createAliyunProvider, type AliyunInternalOptions } from '../../providers/aliyun/provider.ts';
import { startEmulator, type RunningEmulator, type StartOptions } from '../../emulators/shared/server.ts';
import {
  ProviderError,
  type ApiObserver,
  type Change,
  type CloudAdapter,
  type Instance,
  type ProgressEvent,
  type RouteTable,
} from '../../providers/types.ts';
import { validateConfig, type Config } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';

const TAG = { key: 'routesync-cluster', value: 'e2e' };
const [SYS, CUS] = EMULATOR_TOPOLOGY.tables;
const FAST: AliyunInternalOptions = {
  retry: { attempts: 9, baseMs: 5, capMs: 40, maxRetryTimeMs: 10_000 },
  settle: { firstPollMs: 5, pollMs: 5, concurrency: 4, maxWaitMs: 10_000 },
  taskWindowMs: 1,
  requestTimeoutMs: 2000,
};
const signal = () => AbortSignal.timeout(30_000);

// Admin JSON is loosely shaped by design; assertions check the fields.
// biome-ignore lint/suspicious/noExplicitAny: admin JSON is loosely shaped; assertions check the fields
type Json = any;

interface Fixture {
  emu: RunningEmulator;
  provider: CloudAdapter;
  config: Config;
  calls: Array<{ action: string; outcome: string }>;
  retries: Array<{ action: string; kind: string }>;
  admin(method: string, path: string, body?: unknown): Promise<Json>;
  /** Emulator-side count of one action's requests, by outcome. */
  counted(action: string): Promise<Record<string, number>>;
  table: RouteTable;
}

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const x of open.splice(0)) await x.close();
});

function configFor(url: string, extra: Record<string, unknown> = {}): Config {
  return validateConfig({
    cluster: 'e2e',
    clusterCIDR: '10.244.0.0/16',
    store: { type: 'memory' },
    provider: {
      type: 'aliyun',
      region: EMULATOR_TOPOLOGY.region,
      vpcId: EMULATOR_TOPOLOGY.vpcId,
      endpoint: url,
      instanceFilter: `${TAG.key}=${TAG.value}`,
      ...extra,
    },
  });
}

function makeProvider(config: Config, key: string, internal: AliyunInternalOptions = FAST) {
  process.env.ALIBABA_CLOUD_ACCESS_KEY_ID = key;
  process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET = 'secret';
  const calls: Fixture['calls'] = [];
  const retries: Fixture['retries'] = [];
  const observer: ApiObserver = {
    request: (action, outcome) => calls.push({ action, outcome }),
    retry: (action, kind) => retries.push({ action, kind }),
  };
  const provider = createAliyunProvider(
    sectionFor('aliyun', config.provider),
    { cluster: config.cluster, clusterCIDR: config.clusterCIDR, logger: silentLogger, observer },
    internal,
  );
  open.push(provider);
  return { provider, calls, retries };
}

async function start(
  opts: StartOptions & { config?: Record<string, unknown>; internal?: AliyunInternalOptions } = {},
): Promise<Fixture> {
  const { config: extra, internal, ...emuOpts } = opts;
  const emu = await startEmulator(createAliyunEmulator, {
    profile: 'fast',
    timeScale: 50,
    instanceTag: TAG,
    ...emuOpts,
  });
  open.push(emu);
  const config = configFor(emu.url, extra);
  const { provider, calls, retries } = makeProvider(config, 'ak-main', internal);
  const admin = async (method: string, path: string, body?: unknown): Promise<Json> => {
    const r = await fetch(`${emu.url}/_emulator/${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return r.json();
  };
  const counted = async (action: string) => (await admin('GET', 'requests')).byAction[action] ?? {};
  return { emu, provider, config, calls, retries, admin, counted, table: { id: SYS, vpcId: EMULATOR_TOPOLOGY.vpcId } };
}

async function vms(f: Fixture, count: number): Promise<Instance[]> {
  const r = await f.admin('POST', 'instances', { count });
  const ids = new Set(r.instances.map((i: Json) => i.id));
  return (await f.provider.listInstances(signal())).filter((i) => ids.has(i.id));
}

const subnet = (i: number) => `10.244.${i}.0/24`;
const creates = (t: RouteTable, list: Instance[], from = 0): Change[] =>
  list.map((v, i) => ({ op: 'create', table: t.id, destination: subnet(from + i), target: v.id, reason: 'test' }));
const outcomes = (rs: Array<{ outcome: string }>) => rs.map((r) => r.outcome);

describe('aliyun provider against the aliyun emulator', () => {
  it('lists every tagged instance across pages with its state, and reports each SDK call', async () => {
    const f = await start();
    await f.admin('POST', 'instances', { count: 130 });
    await f.admin('POST', 'instances', { count: 3, tags: { [TAG.key]: 'other' } });
    await f.admin('POST', 'instances', {
      instances: [{ id: 'i-stopped', state: 'stopped', privateIp: '192.168.9.9', tags: { [TAG.key]: TAG.value } }],
    });
    const list = await f.provider.listInstances(signal());
    expect(list).toHaveLength(131);
    expect(list.find((i) => i.id === 'i-stopped')).toMatchObject({ state: 'stopped', privateIp: '192.168.9.9' });
    expect(list.filter((i) => i.state === 'running')).toHaveLength(130);
    expect(await f.counted('DescribeInstances')).toEqual({ ok: 2 });
    expect(f.calls).toEqual([
      { action: 'DescribeInstances', outcome: 'ok' },
      { action: 'DescribeInstances', outcome: 'ok' },
    ]);
  });

  it('fails the whole listing when a later page fails, after bounded retries', async () => {
    const f = await start({
      internal: { ...FAST, retry: { attempts: 4, baseMs: 5, capMs: 10, maxRetryTimeMs: 5000 } },
    });
    await f.admin('POST', 'instances', { count: 130 });
    await f.admin('POST', 'faults', { action: 'DescribeInstances', rate: 1, error: '5xx', after: 1 });
    const err = await f.provider.listInstances(signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'unavailable', code: 'ServiceUnavailable' });
    expect(await f.counted('DescribeInstances')).toEqual({ ok: 1, ServiceUnavailable: 4 });
    expect(f.retries).toHaveLength(3);
  });

  it('discovers the vRouter tables of the VPC, or takes the configured ones without a call', async () => {
    const f = await start();
    expect((await f.provider.routeTables(signal())).map((t) => t.id)).toEqual([SYS, CUS]);
    const { provider, calls } = makeProvider(configFor(f.emu.url, { routeTableIds: [CUS] }), 'ak-2');
    expect(await provider.routeTables(signal())).toEqual([{ id: CUS, vpcId: EMULATOR_TOPOLOGY.vpcId }]);
    expect(calls).toEqual([]);
    const { provider: wrong } = makeProvider(configFor(f.emu.url, { vpcId: 'vpc-typo' }), 'ak-3');
    await expect(wrong.routeTables(signal())).rejects.toMatchObject({ kind: 'notFound' });
  });

  it('marks routes ours, foreign and system; an instance hop is never a blackhole by its Enabled field', async () => {
    const f = await start();
    const [a, b] = await vms(f, 2);
    await f.provider.apply(f.table, creates(f.table, [a!]), { signal: signal() });
    await f.admin('POST', 'routes', {
      table: SYS,
      destination: '10.244.100.0/24',
      nextHop: 'vpn-x',
      description: 'team-b',
    });
    await f.admin('POST', 'routes', { table: SYS, destination: '10.244.101.0/24', target: b!.id });
    await f.admin('DELETE', `instances/${b!.id}`);
    const routes = await f.provider.listRoutes(f.table, signal());
    const by = (d: string) => routes.find((r) => r.destination === d);
    expect(by(subnet(0))).toMatchObject({
      target: a!.id,
      nextHop: a!.id,
      state: 'active',
      marked: true,
      system: false,
      providerId: expect.stringMatching(/^rte-/),
    });
    expect(by('10.244.100.0/24')).toMatchObject({
      target: null,
      nextHop: 'VpnGateway:vpn-x',
      marked: false,
      system: false,
    });
    // The emulator reports Enabled 0 for the released VM's hop, a field documented for router interfaces only:
    // the entry stays what it is (a foreign one here; one of ours goes by its mark and the inventory).
    expect(by('10.244.101.0/24')).toMatchObject({ target: b!.id, state: 'active', marked: false });
    expect(by('192.168.0.0/18')).toMatchObject({ system: true, target: null, nextHop: 'local', marked: false });
    expect(by('100.64.0.0/10')).toMatchObject({ system: true });
  });

  it('creates, repeats, replaces and deletes, waiting for entries to settle between tasks', async () => {
    const f = await start({ timeScale: 5 });
    const list = await vms(f, 6);
    const events: ProgressEvent[] = [];
    const res = await f.provider.apply(f.table, creates(f.table, list.slice(0, 5)), {
      signal: signal(),
      onProgress: (e) => events.push(e),
    });
    expect(outcomes(res)).toEqual(Array(5).fill('applied'));
    expect(events[0]).toEqual({ type: 'start', table: SYS, total: 5 });
    expect(events.some((e) => e.type === 'wait')).toBe(true);
    // Apply returns once the entries are Available: nothing is left Pending.
    const routes = (await f.provider.listRoutes(f.table, signal())).filter((r) => !r.system);
    expect(routes.map((r) => r.state)).toEqual(Array(5).fill('active'));
    const st = await f.admin('GET', 'state');
    const entry = st.tables[0].routes.find((r: Json) => r.destination === subnet(0));
    expect(entry).toMatchObject({ name: 'routesync-e2e-10-244-0-0-24', description: 'routesync:e2e' });

    expect(outcomes(await f.provider.apply(f.table, creates(f.table, list.slice(0, 2)), { signal: signal() }))).toEqual(
      ['alreadyDone', 'alreadyDone'],
    );

    const victim = routes.find((r) => r.destination === subnet(0))!;
    const replace: Change = {
      op: 'replace',
      table: SYS,
      destination: victim.destination,
      target: list[5]!.id,
      previousTarget: victim.target,
      providerId: victim.providerId!,
      reason: 'test',
    };
    expect(outcomes(await f.provider.apply(f.table, [replace], { signal: signal() }))).toEqual(['applied']);
    expect((await f.provider.listRoutes(f.table, signal())).find((r) => r.destination === subnet(0))).toMatchObject({
      target: list[5]!.id,
      state: 'active',
      providerId: victim.providerId,
    });
    expect(await f.counted('ModifyRouteEntry')).toEqual({ ok: 1 });

    const del = routes.slice(1).map(
      (r): Change => ({
        op: 'delete',
        table: SYS,
        destination: r.destination,
        target: r.target,
        providerId: r.providerId!,
        reason: 'test',
      }),
    );
    // One without id or target: the provider looks the entry up itself.
    del[0] = { op: 'delete', table: SYS, destination: del[0]!.destination, target: null, reason: 'test' };
    expect(outcomes(await f.provider.apply(f.table, del, { signal: signal() }))).toEqual(Array(4).fill('applied'));
    expect(outcomes(await f.provider.apply(f.table, del, { signal: signal() }))).toEqual(Array(4).fill('alreadyDone'));
    expect((await f.provider.listRoutes(f.table, signal())).filter((r) => !r.system).map((r) => r.destination)).toEqual(
      [subnet(0)],
    );
    expect(await f.counted('DeleteRouteEntries')).toEqual({ ok: 2 });
  });

  it('reports per-entry batch failures: a foreign route on our subnet, a VM that is gone, a bad change', async () => {
    const f = await start();
    const [a, b] = await vms(f, 2);
    await f.admin('POST', 'routes', { table: SYS, destination: subnet(1), nextHop: 'vpn-x' });
    const changes: Change[] = [
      { op: 'create', table: SYS, destination: subnet(0), target: a!.id, reason: 't' },
      { op: 'create', table: SYS, destination: subnet(1), target: b!.id, reason: 't' },
      { op: 'create', table: SYS, destination: subnet(2), target: 'i-gone', reason: 't' },
      { op: 'create', table: CUS, destination: subnet(3), target: a!.id, reason: 't' },
      { op: 'create', table: SYS, destination: '10.244.4.1/24', target: a!.id, reason: 't' },
    ];
    const res = await f.provider.apply(f.table, changes, { signal: signal() });
    expect(outcomes(res)).toEqual(['applied', 'failed', 'failed', 'failed', 'failed']);
    expect(res[1]!.error).toMatchObject({ kind: 'alreadyExists', code: 'VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE' });
    expect(res[1]!.error!.message).toMatch(/VpnGateway:vpn-x/);
    expect(res[2]!.error).toMatchObject({ kind: 'notFound', code: 'InvalidNextHop.NotFound' });
    expect(res[3]!.error).toMatchObject({ kind: 'invalid' });
    expect(res[4]!.error!.message).toMatch(/change.destination/);
    expect(await f.counted('CreateRouteEntries')).toEqual({ ok: 1 });
  });

  it('creates 200 routes in ceil(200/50) write calls, none repeated after success', async () => {
    const f = await start();
    const list = await vms(f, 200);
    const res = await f.provider.apply(f.table, creates(f.table, list), { signal: AbortSignal.timeout(60_000) });
    expect(res.every((r) => r.outcome === 'applied')).toBe(true);
    const log = (await f.admin('GET', 'requests?log=1')).log.filter((e: Json) => e.mutating);
    expect(log.map((e: Json) => `${e.action}:${e.outcome}`)).toEqual(Array(4).fill('CreateRouteEntries:ok'));
    expect((await f.provider.quota(f.table, signal())).used).toBe(200);
  });

  it('serialises concurrent applies on one table, and retries TaskConflict from another writer', async () => {
    // Slowed time: a route task holds the table for 40 ms of real time, entries settle after 80-200 ms.
    // A generous retry budget: the other writer may find the table busy for several tasks in a row.
    const patient: AliyunInternalOptions = {
      ...FAST,
      retry: { attempts: 31, baseMs: 10, capMs: 50, maxRetryTimeMs: 20_000 },
    };
    const f = await start({ timeScale: 0.5, internal: patient });
    const list = await vms(f, 12);
    const other = makeProvider(f.config, 'ak-other', patient);
    const [r1, r2, r3] = await Promise.all([
      f.provider.apply(f.table, creates(f.table, list.slice(0, 4)), { signal: signal() }),
      f.provider.apply(f.table, creates(f.table, list.slice(4, 8), 4), { signal: signal() }),
      other.provider.apply(f.table, creates(f.table, list.slice(8, 12), 8), { signal: signal() }),
    ]);
    for (const r of [r1!, r2!, r3!]) expect(r.map((x) => x.error?.code ?? x.outcome)).toEqual(Array(4).fill('applied'));
    const busy = [...f.retries, ...other.retries].filter((r) => r.kind === 'busy');
    expect(busy.length).toBeGreaterThan(0);
    const snap = await f.admin('GET', 'requests');
    // The main client never collided with itself: its own applies queued instead.
    const mainCreates = snap.byClient['ak-main'].CreateRouteEntries;
    const otherCreates = snap.byClient['ak-other'].CreateRouteEntries;
    expect(mainCreates.ok + otherCreates.ok).toBe(3);
    expect(
      (mainCreates.TaskConflict ?? 0) +
        (mainCreates.IncorrectRouteEntryStatus ?? 0) +
        (otherCreates.TaskConflict ?? 0) +
        (otherCreates.IncorrectRouteEntryStatus ?? 0),
    ).toBe(busy.length);
    expect(
      (await f.provider.listRoutes(f.table, signal())).filter((r) => !r.system && r.state === 'active'),
    ).toHaveLength(12);
  });

  it('rides out a throttling storm on writes and converges, counting the retries', async () => {
    const f = await start();
    const list = await vms(f, 120);
    for (const action of ['CreateRouteEntries', 'DeleteRouteEntries', 'ModifyRouteEntry'])
      await f.admin('POST', 'faults', { action, rate: 0.3, error: 'throttle' });
    await f.admin('POST', 'faults', { action: 'DescribeRouteEntryList', rate: 0.3, error: 'Throttling.User' });
    const res = await f.provider.apply(f.table, creates(f.table, list), { signal: AbortSignal.timeout(60_000) });
    expect(res.filter((r) => r.outcome !== 'applied')).toEqual([]);
    const routes = (await f.provider.listRoutes(f.table, signal())).filter((r) => !r.system);
    expect(routes).toHaveLength(120);
    const dels = routes.map(
      (r): Change => ({
        op: 'delete',
        table: SYS,
        destination: r.destination,
        target: r.target,
        providerId: r.providerId!,
        reason: 't',
      }),
    );
    const gone = await f.provider.apply(f.table, dels, { signal: AbortSignal.timeout(60_000) });
    expect(gone.every((r) => r.outcome === 'applied' || r.outcome === 'alreadyDone')).toBe(true);
    await f.admin('DELETE', 'faults');
    expect((await f.provider.listRoutes(f.table, signal())).filter((r) => !r.system)).toEqual([]);
    const throttled = f.retries.filter((r) => r.kind === 'throttled');
    const snap = await f.admin('GET', 'requests');
    const injected = Object.values(snap.byAction as Record<string, Record<string, number>>).reduce(
      (n, o) => n + (o.Throttling ?? 0) + (o['Throttling.User'] ?? 0),
      0,
    );
    expect(throttled.length).toBe(injected);
    expect(injected).toBeGreaterThan(0);
  });

  it('stops creating at the quota, told by the undocumented per-entry FailedCode: quota failures, no retry loop', async () => {
    const f = await start({ internal: { ...FAST, batchSize: 2 } });
    const list = await vms(f, 7);
    await f.admin('POST', 'routes', { table: SYS, destination: '10.9.0.0/24', nextHop: 'vpn-x' });
    await f.admin('POST', 'quota', { table: SYS, limit: 3 });
    const res = await f.provider.apply(f.table, creates(f.table, list), { signal: signal() });
    expect(outcomes(res)).toEqual(['applied', 'applied', 'failed', 'failed', 'failed', 'failed', 'failed']);
    // The per-entry code is not QuotaExceeded (emulators/aliyun/profile.ts entryQuotaCode): its message says quota.
    for (const r of res.slice(2))
      expect(r.error).toMatchObject({ kind: 'quota', code: 'VPC_ROUTE_ENTRY_QUOTA_EXCEEDED' });
    // Batch 1 fit, batch 2 hit the wall; batches 3 and 4 were never sent, nothing was retried.
    expect(await f.counted('CreateRouteEntries')).toEqual({ ok: 2 });
    expect(f.retries).toEqual([]);
  });

  it('reads the quota from Quota Center, else the configured one, else the documented default', async () => {
    const f = await start({ routeQuota: 77, config: { routeQuota: 50 } });
    await f.admin('POST', 'routes', { table: CUS, destination: '10.9.0.0/24', nextHop: 'vpn-x' });
    expect(await f.provider.quota({ id: CUS }, signal())).toEqual({
      limit: 77,
      used: 1,
      source: 'api',
      scope: 'table',
    });
    await f.admin('POST', 'faults', { action: 'GetProductQuota', rate: 1, error: 'Forbidden.RAM' });
    expect(await f.provider.quota({ id: CUS }, signal())).toEqual({
      limit: 50,
      used: 1,
      source: 'config',
      scope: 'table',
    });
    const { provider } = makeProvider(configFor(f.emu.url), 'ak-4');
    expect(await provider.quota({ id: CUS }, signal())).toEqual({
      limit: 200,
      used: 1,
      source: 'default',
      scope: 'table',
    });
  });

  it('checks the fence before every write and skips the rest once it refuses; throws on abort', async () => {
    const f = await start({ internal: { ...FAST, batchSize: 2 } });
    const list = await vms(f, 5);
    let calls = 0;
    const fence = () => {
      if (++calls > 1) throw new Error('lost leadership');
    };
    const res = await f.provider.apply(f.table, creates(f.table, list), { signal: signal(), fence });
    expect(outcomes(res)).toEqual(['applied', 'applied', 'skipped', 'skipped', 'skipped']);
    expect(await f.counted('CreateRouteEntries')).toEqual({ ok: 1 });

    const ac = new AbortController();
    ac.abort(new Error('shutdown'));
    await expect(f.provider.apply(f.table, creates(f.table, list, 10), { signal: ac.signal })).rejects.toThrow(
      'shutdown',
    );
  });

  it('treats malformed answers as errors, never as an empty result', async () => {
    const bodies: Record<string, string> = {
      DescribeInstances: JSON.stringify({ RequestId: 'r1', Instances: {} }),
      DescribeRouteEntryList: '{"RequestId":"r2","RouteEnt',
      DescribeRouteTableList: JSON.stringify({ RequestId: 'r3', Code: 'InternalError', Message: 'boom' }),
    };
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const action = new URLSearchParams(body).get('Action') ?? '';
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(bodies[action] ?? '{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    open.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { provider } = makeProvider(configFor(url), 'ak-5', {
      ...FAST,
      retry: { attempts: 2, baseMs: 1, capMs: 2, maxRetryTimeMs: 1000 },
    });
    await expect(provider.listInstances(signal())).rejects.toMatchObject({
      kind: 'invalid',
      code: 'MalformedResponse',
      requestId: 'r1',
    });
    await expect(provider.listRoutes({ id: SYS }, signal())).rejects.toMatchObject({
      kind: 'unavailable',
      code: 'MalformedResponse',
    });
    await expect(provider.routeTables(signal())).rejects.toMatchObject({
      kind: 'unavailable',
      code: 'InternalError',
      requestId: 'r3',
    });
  });
});
