// The AWS provider (official SDK) against the AWS emulator: listing, discovery, route marks, apply with
// retries, quota handling and malformed answers.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAwsEmulator, EMULATOR_TOPOLOGY } from '../../emulators/aws/emulator.ts';
import { configFor } from '../../providers/plugins.ts';
import { createAwsProvider, type AwsInternalOptions } from '../../providers/aws/provider.ts';
import { startEmulator, type StartOptions } from '../../emulators/shared/server.ts';
import {
  FencedError,
  ProviderError,
  type ApiObserver,
  type Change,
  type ChangeResult,
  type CloudProvider,
  type Route,
} from '../../providers/types.ts';
import { validateConfig } from '../../src/config.ts';
import { classifyRoute } from '../../src/ownership.ts';
import { silentLogger } from '../../src/log.ts';
import { emulatorConfigDoc, TEST_TAG, useDummyCredentials } from '../../testkit/clouds.ts';

const [MAIN, SUBNET_RT] = EMULATOR_TOPOLOGY.tables as [string, string];
const FAST: AwsInternalOptions = { retry: { baseMs: 1, capMs: 5, attempts: 8 }, pageSize: 5 };
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()?.();
});

const signal = () => AbortSignal.timeout(30_000);

async function setup(opts: StartOptions & { provider?: Record<string, unknown>; internal?: AwsInternalOptions } = {}) {
  useDummyCredentials('AKIDPROVIDER');
  const emu = await startEmulator(createAwsEmulator, {
    profile: 'fast',
    timeScale: 100,
    instanceTag: TEST_TAG,
    ...opts,
  });
  const config = validateConfig(emulatorConfigDoc('aws', emu.url, { provider: opts.provider ?? {} }));
  const calls: Array<{ action: string; outcome: string }> = [];
  const retries: Array<{ action: string; kind: string }> = [];
  const hooks: { onRequest?: (action: string) => void } = {};
  const observer: ApiObserver = {
    request: (action, outcome) => {
      calls.push({ action, outcome });
      hooks.onRequest?.(action);
    },
    retry: (action, kind) => retries.push({ action, kind }),
  };
  const provider = createAwsProvider(
    configFor('aws', config.provider),
    { cluster: 'test', clusterCIDR: config.clusterCIDR, logger: silentLogger, observer },
    opts.internal ?? FAST,
  );
  cleanup.push(async () => {
    await provider.close();
    await emu.close();
  });
  const admin = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${emu.url}/_emulator/${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: admin JSON is loosely shaped; assertions check the fields
    return { status: r.status, json: (await r.json()) as any };
  };
  const count = async (action: string): Promise<Record<string, number>> =>
    (await admin('GET', 'requests')).json.byAction[action] ?? {};
  const ids = async (): Promise<string[]> =>
    (await admin('GET', 'state')).json.instances
      .filter(
        (i: { tags: Record<string, string>; state: string }) =>
          i.tags[TEST_TAG.key] === TEST_TAG.value && i.state === 'running',
      )
      .map((i: { id: string }) => i.id);
  return { emu, provider, calls, retries, hooks, admin, count, ids };
}

const create = (table: string, n: number, target: string): Change => ({
  op: 'create',
  table,
  destination: `172.16.${n}.0/24`,
  target,
  reason: 'test',
});
const outcomes = (rs: ChangeResult[]) => rs.map((r) => r.outcome);
const apply = (
  p: CloudProvider,
  table: string,
  changes: Change[],
  extra: Partial<Parameters<CloudProvider['apply']>[2]> = {},
) => p.apply({ id: table }, changes, { signal: signal(), ...extra });

describe('aws provider: inventory and tables', () => {
  it('lists tagged instances across pages, with stopped and terminated ones and their states', async () => {
    const { provider, admin, ids } = await setup({ instances: 12 });
    await admin('POST', 'instances', { count: 3, tags: { other: 'x' } });
    await admin('POST', 'instances', {
      instances: [
        { id: 'i-0stopped', state: 'stopped', tags: { [TEST_TAG.key]: TEST_TAG.value }, privateIp: '10.0.9.9' },
      ],
    });
    const [first] = await ids();
    await admin('DELETE', `instances/${first}`);
    const list = await provider.listInstances(signal());
    expect(list).toHaveLength(13);
    expect(list.find((i) => i.id === 'i-0stopped')).toMatchObject({ state: 'stopped', privateIp: '10.0.9.9' });
    expect(list.find((i) => i.id === first)).toMatchObject({ state: 'terminated', privateIp: '' });
    const running = list.filter((i) => i.state === 'running');
    expect(running).toHaveLength(11);
    for (const i of running) {
      expect(i.privateIp).toMatch(/^10\.0\.\d+\.\d+$/);
      expect(i.zone).toMatch(/^us-east-1[abc]$/);
    }
  });

  it('a failed page fails the whole listing', async () => {
    const { provider, emu, hooks } = await setup({ instances: 12 });
    let pages = 0;
    hooks.onRequest = (action) => {
      // after the first page succeeded, every later DescribeInstances is refused
      if (action === 'DescribeInstances' && ++pages === 1)
        emu.faults.add([{ action: 'DescribeInstances', rate: 1, error: 'UnauthorizedOperation' }]);
    };
    const err = await provider.listInstances(signal()).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'auth', code: 'UnauthorizedOperation' });
  });

  it('discovers the main and the subnet tables, or uses the configured ones', async () => {
    const a = await setup();
    expect(await a.provider.routeTables(signal())).toEqual([
      { id: MAIN, vpcId: EMULATOR_TOPOLOGY.vpcId },
      { id: SUBNET_RT, vpcId: EMULATOR_TOPOLOGY.vpcId },
    ]);
    const b = await setup({ provider: { routeTableIds: [SUBNET_RT] } });
    expect(await b.provider.routeTables(signal())).toEqual([{ id: SUBNET_RT, vpcId: EMULATOR_TOPOLOGY.vpcId }]);
    const c = await setup({ provider: { routeTableIds: ['rtb-0nothere'] } });
    await expect(c.provider.routeTables(signal())).rejects.toMatchObject({
      kind: 'notFound',
      code: 'InvalidRouteTableID.NotFound',
    });
    const d = await setup({ provider: { vpcId: 'vpc-0wrong' } });
    await expect(d.provider.routeTables(signal())).rejects.toMatchObject({ kind: 'notFound' });
  });

  it('lists routes with system, foreign-instance and blackhole entries, all unmarked', async () => {
    const { provider, admin, ids } = await setup({ instances: 3 });
    const [a, b] = await ids();
    await apply(provider, MAIN, [create(MAIN, 1, a as string)]);
    await admin('POST', 'routes', { destination: '172.16.2.0/24', target: b });
    await admin('POST', 'routes', { destination: '0.0.0.0/0', nextHop: 'igw-0abc' });
    await admin('POST', 'routes', { destination: '172.16.3.0/24', nextHop: 'eni-0abc' });
    await admin('DELETE', `instances/${a}`);
    const routes = await provider.listRoutes({ id: MAIN }, signal());
    const by = Object.fromEntries(routes.map((r) => [r.destination, r]));
    expect(by['10.0.0.0/16']).toMatchObject({
      system: true,
      target: null,
      nextHop: 'local',
      state: 'active',
      marked: null,
    });
    expect(by['0.0.0.0/0']).toMatchObject({ system: true, target: null, nextHop: 'igw-0abc' });
    // An ENI that is no instance's: not system (an ENI route can be ours), not ours either (no VM of ours).
    expect(by['172.16.3.0/24']).toMatchObject({ system: false, target: null, nextHop: 'eni-0abc', state: 'active' });
    expect(by['172.16.1.0/24']).toMatchObject({
      system: false,
      target: a,
      state: 'blackhole',
      marked: null,
      table: MAIN,
    });
    expect(by['172.16.2.0/24']).toMatchObject({ system: false, target: b, state: 'active', marked: null });
    await expect(provider.listRoutes({ id: 'rtb-0nothere' }, signal())).rejects.toMatchObject({ kind: 'notFound' });
  });
});

describe('aws provider: apply', () => {
  it('creates, replaces and deletes, with idempotent repeats and one source/dest change per instance', async () => {
    const { provider, ids, count, admin } = await setup({ instances: 3 });
    const [a, b, c] = (await ids()) as [string, string, string];
    const creates = [create(SUBNET_RT, 1, a), create(SUBNET_RT, 2, b), create(SUBNET_RT, 3, a)];
    const progress: string[] = [];
    expect(outcomes(await apply(provider, SUBNET_RT, creates, { onProgress: (e) => progress.push(e.type) }))).toEqual([
      'applied',
      'applied',
      'applied',
    ]);
    expect(progress).toEqual(['start', 'result', 'result', 'result']);
    expect(outcomes(await apply(provider, SUBNET_RT, creates))).toEqual(['alreadyDone', 'alreadyDone', 'alreadyDone']);
    expect((await count('ModifyNetworkInterfaceAttribute')).ok).toBe(2);
    expect(await count('ModifyInstanceAttribute')).toEqual({});
    const st = (await admin('GET', 'state')).json;
    expect(st.instances.filter((i: { id: string }) => i.id === a || i.id === b)).toHaveLength(2);

    const replace: Change = {
      op: 'replace',
      table: SUBNET_RT,
      destination: '172.16.1.0/24',
      target: c,
      previousTarget: a,
      reason: 'moved',
    };
    expect(outcomes(await apply(provider, SUBNET_RT, [replace]))).toEqual(['applied']);
    expect(outcomes(await apply(provider, SUBNET_RT, [replace]))).toEqual(['applied']);
    expect((await count('DeleteRoute')).ok ?? 0).toBe(0);
    let routes = await provider.listRoutes({ id: SUBNET_RT }, signal());
    expect(routes.find((r) => r.destination === '172.16.1.0/24')?.target).toBe(c);

    // a replace whose route vanished meanwhile creates it
    const gone: Change = {
      op: 'replace',
      table: SUBNET_RT,
      destination: '172.16.7.0/24',
      target: b,
      previousTarget: a,
      reason: 'moved',
    };
    expect(outcomes(await apply(provider, SUBNET_RT, [gone]))).toEqual(['applied']);

    const del: Change = { op: 'delete', table: SUBNET_RT, destination: '172.16.2.0/24', target: b, reason: 'gone' };
    expect(outcomes(await apply(provider, SUBNET_RT, [del]))).toEqual(['applied']);
    expect(outcomes(await apply(provider, SUBNET_RT, [del]))).toEqual(['alreadyDone']);
    routes = await provider.listRoutes({ id: SUBNET_RT }, signal());
    expect(
      routes
        .filter((r) => !r.system)
        .map((r) => [r.destination, r.target])
        .sort(),
    ).toEqual([
      ['172.16.1.0/24', c],
      ['172.16.3.0/24', a],
      ['172.16.7.0/24', b],
    ]);
  });

  it('routes a multi-ENI instance to its primary ENI by NetworkInterfaceId, with source/dest check off on that ENI', async () => {
    const { provider, admin, count } = await setup();
    const added = (
      await admin('POST', 'instances', {
        instances: [
          { networkInterfaces: 2, tags: { [TEST_TAG.key]: TEST_TAG.value } },
          { tags: { [TEST_TAG.key]: TEST_TAG.value } },
        ],
        networkInterfaces: 1,
      })
    ).json.instances as Array<{ id: string; networkInterfaces: string[] }>;
    const [multi, single] = added as [(typeof added)[0], (typeof added)[0]];
    expect(multi.networkInterfaces).toHaveLength(2);
    // No listing first: the provider finds the primary ENI itself (a Kubernetes inventory lists no instances).
    expect(outcomes(await apply(provider, MAIN, [create(MAIN, 1, multi.id), create(MAIN, 2, single.id)]))).toEqual([
      'applied',
      'applied',
    ]);
    const routes = await provider.listRoutes({ id: MAIN }, signal());
    expect(routes.find((r) => r.destination === '172.16.1.0/24')).toMatchObject({
      target: multi.id,
      state: 'active',
      system: false,
    });
    const st = (await admin('GET', 'state')).json;
    expect(st.tables[0].routes.find((r: { destination: string }) => r.destination === '172.16.1.0/24')).toMatchObject({
      target: multi.id,
      networkInterfaceId: multi.networkInterfaces[0],
    });
    const nics = st.instances.find((i: { id: string }) => i.id === multi.id).networkInterfaces;
    expect(
      nics.map((n: { deviceIndex: number; sourceDestCheck: boolean }) => [n.deviceIndex, n.sourceDestCheck]),
    ).toEqual([
      [0, false],
      [1, true],
    ]);
    expect(await count('ModifyInstanceAttribute')).toEqual({});
    // A wrong target is replaced onto the other instance's primary ENI, also by NetworkInterfaceId.
    const replace: Change = { ...create(MAIN, 1, single.id), op: 'replace', previousTarget: multi.id };
    expect(outcomes(await apply(provider, MAIN, [replace]))).toEqual(['applied']);
    expect(
      (await provider.listRoutes({ id: MAIN }, signal())).find((r) => r.destination === '172.16.1.0/24')?.target,
    ).toBe(single.id);
    // An instance EC2 does not know fails its change, naming it; nothing is sent for it.
    const [gone] = await apply(provider, MAIN, [create(MAIN, 3, 'i-0000000000dead000')]);
    expect(gone).toMatchObject({ outcome: 'failed', error: { code: 'NoPrimaryInterface' } });
  });

  it('a blackhole left with only the ENI id is not a system route: ours by rule, and deleted', async () => {
    const first = await setup({ instances: 2 });
    const [a] = (await first.ids()) as [string];
    await apply(first.provider, MAIN, [create(MAIN, 4, a)]);
    await first.admin('POST', 'routes', { destination: '172.16.6.0/24', nextHop: 'nat-0dead' });
    await first.admin('DELETE', `instances/${a}`);
    // A provider that never saw the instance (a restarted controller): EC2 names only the ENI now.
    const config = validateConfig(emulatorConfigDoc('aws', first.emu.url));
    const fresh = createAwsProvider(
      configFor('aws', config.provider),
      { cluster: 'test', clusterCIDR: config.clusterCIDR, logger: silentLogger },
      FAST,
    );
    cleanup.push(() => fresh.close());
    const routes = await fresh.listRoutes({ id: MAIN }, signal());
    const hole = routes.find((r) => r.destination === '172.16.4.0/24');
    expect(hole).toMatchObject({ state: 'blackhole', target: null, system: false, marked: null });
    expect(hole?.nextHop).toMatch(/^eni-/);
    const own = { clusterCIDR: '172.16.0.0/16', subnetLen: 24, knownInstanceIds: new Set<string>() };
    expect(classifyRoute(hole as Route, own)).toBe('ours');
    // An active route to a gateway stays the VPC's plumbing.
    expect(routes.find((r) => r.destination === '172.16.6.0/24')).toMatchObject({ state: 'active', system: true });
    const res = await apply(fresh, MAIN, [
      { op: 'delete', table: MAIN, destination: '172.16.4.0/24', target: null, reason: 'blackhole' },
    ]);
    expect(outcomes(res)).toEqual(['applied']);
  });

  it('deletes a blackhole route left by a terminated instance', async () => {
    const { provider, ids, admin } = await setup({ instances: 2 });
    const [a] = (await ids()) as [string];
    await apply(provider, MAIN, [create(MAIN, 4, a)]);
    await admin('DELETE', `instances/${a}`);
    const hole = (await provider.listRoutes({ id: MAIN }, signal())).find((r) => r.destination === '172.16.4.0/24');
    expect(hole?.state).toBe('blackhole');
    const res = await apply(provider, MAIN, [
      { op: 'delete', table: MAIN, destination: '172.16.4.0/24', target: a, reason: 'blackhole' },
    ]);
    expect(outcomes(res)).toEqual(['applied']);
    expect((await provider.listRoutes({ id: MAIN }, signal())).map((r) => r.destination)).toEqual(['10.0.0.0/16']);
  });

  it('a create that finds the CIDR held by another target fails with alreadyExists and changes nothing', async () => {
    const { provider, ids, admin } = await setup({ instances: 2 });
    const [a, b] = (await ids()) as [string, string];
    await admin('POST', 'routes', { destination: '172.16.5.0/24', target: b });
    const [r] = await apply(provider, MAIN, [create(MAIN, 5, a)]);
    expect(r?.outcome).toBe('failed');
    expect(r?.error).toMatchObject({ kind: 'alreadyExists', code: 'RouteAlreadyExists' });
    expect(
      (await provider.listRoutes({ id: MAIN }, signal())).find((x) => x.destination === '172.16.5.0/24')?.target,
    ).toBe(b);
  });

  it('converges through a throttling storm on writes and counts the retries', async () => {
    // Injected refusals are random, not a bucket running dry: a raised client limit keeps the pacer's
    // decrease (down to 1/16 of the rate, in real time here) from turning the storm into a long wait.
    const raised = { aws: { writeRateLimit: { burst: 1000, perSecond: 1000 } } };
    const { provider, ids, admin, retries, emu } = await setup({ instances: 20, routeQuota: 100, provider: raised });
    const all = await ids();
    for (const action of ['CreateRoute', 'ModifyNetworkInterfaceAttribute', 'ReplaceRoute', 'DeleteRoute']) {
      await admin('POST', 'faults', { action, rate: 0.3, error: 'throttle' });
    }
    const changes = all.map((id, n) => create(MAIN, n, id));
    const res = await apply(provider, MAIN, changes);
    expect(res.every((r) => r.outcome === 'applied' || r.outcome === 'alreadyDone')).toBe(true);
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.every((r) => r.kind === 'throttled')).toBe(true);
    const throttled = emu.counters.snapshot().byAction.CreateRoute?.RequestLimitExceeded ?? 0;
    expect(throttled).toBeGreaterThan(0);
    const routes = (await provider.listRoutes({ id: MAIN }, signal())).filter((r) => !r.system);
    expect(routes).toHaveLength(20);
  });

  it('paces writes inside the realistic write bucket from the first call: every create lands, none is refused', async () => {
    useDummyCredentials('AKIDPROVIDER');
    const timeScale = 50;
    const emu = await startEmulator(createAwsEmulator, {
      profile: 'realistic',
      timeScale,
      instanceTag: TEST_TAG,
      instances: 80,
      routeQuota: 200,
    });
    const config = validateConfig(emulatorConfigDoc('aws', emu.url, { provider: { concurrency: 8 } }));
    const provider = createAwsProvider(
      configFor('aws', config.provider),
      { cluster: 'test', clusterCIDR: config.clusterCIDR, logger: silentLogger, timeScale },
      { pageSize: 100 },
    );
    cleanup.push(async () => {
      await provider.close();
      await emu.close();
    });
    const all = (await provider.listInstances(signal())).map((i) => i.id);
    expect(all).toHaveLength(80);
    const res = await apply(
      provider,
      MAIN,
      all.map((id, n) => create(MAIN, n, id)),
    );
    expect(res.every((r) => r.outcome === 'applied')).toBe(true);
    // 80 creates (and 80 source/dest-check changes) against buckets of 50 + 5/s: unpaced, 8 lanes would
    // keep hitting the empty bucket; the client buckets stay under the cloud's, so none is refused.
    const byAction = emu.counters.snapshot().byAction;
    expect(byAction.CreateRoute).toEqual({ ok: 80 });
    expect(byAction.ModifyNetworkInterfaceAttribute).toEqual({ ok: 80 });
  });

  it('stops creating on RouteLimitExceeded: quota failures, no retry loop', async () => {
    const { provider, ids, count, retries } = await setup({
      instances: 8,
      routeQuota: 3,
      provider: { concurrency: 2 },
    });
    const all = await ids();
    const res = await apply(
      provider,
      MAIN,
      all.map((id, n) => create(MAIN, n, id)),
    );
    expect(res.filter((r) => r.outcome === 'applied')).toHaveLength(3);
    const failed = res.filter((r) => r.outcome === 'failed');
    expect(failed).toHaveLength(5);
    for (const f of failed) expect(f.error).toMatchObject({ kind: 'quota', code: 'RouteLimitExceeded' });
    const creates = await count('CreateRoute');
    // near the limit creates go one at a time: one refused call, never retried
    expect(creates).toEqual({ ok: 3, RouteLimitExceeded: 1 });
    expect(retries.filter((r) => r.action === 'CreateRoute')).toHaveLength(0);
  });

  it('checks the fence before every write and skips the rest once it fails', async () => {
    const { provider, ids, count } = await setup({ instances: 4, provider: { concurrency: 1 } });
    const all = await ids();
    let allowed = 3; // ModifyNetworkInterfaceAttribute + CreateRoute for the first, then Modify for the second
    const res = await apply(
      provider,
      MAIN,
      all.map((id, n) => create(MAIN, n, id)),
      {
        fence: () => {
          if (allowed-- <= 0) throw new Error('lease lost');
        },
      },
    );
    expect(outcomes(res)).toEqual(['applied', 'skipped', 'skipped', 'skipped']);
    expect(res[1]?.error).toBeInstanceOf(FencedError);
    expect((await count('CreateRoute')).ok).toBe(1);
  });

  it('throws when aborted', async () => {
    const { provider, ids } = await setup({ instances: 2 });
    const [a] = (await ids()) as [string];
    const ac = new AbortController();
    ac.abort(new Error('shutdown'));
    await expect(provider.apply({ id: MAIN }, [create(MAIN, 1, a)], { signal: ac.signal })).rejects.toThrow('shutdown');
  });
});

describe('aws provider: quota', () => {
  it('reads Routes per route table from Service Quotas, else config, else the default', async () => {
    const a = await setup({ instances: 2, routeQuota: 120 });
    const [x] = (await a.ids()) as [string];
    await apply(a.provider, MAIN, [create(MAIN, 1, x)]);
    expect(await a.provider.quota({ id: MAIN }, signal())).toEqual({
      limit: 120,
      used: 1,
      source: 'api',
      scope: 'table',
    });

    const b = await setup({ provider: { routeQuota: 70 } });
    await b.admin('POST', 'faults', { action: 'GetServiceQuota', rate: 1, error: 'AccessDeniedException' });
    expect(await b.provider.quota({ id: MAIN }, signal())).toEqual({
      limit: 70,
      used: 0,
      source: 'config',
      scope: 'table',
    });

    const c = await setup();
    await c.admin('POST', 'faults', { action: 'GetServiceQuota', rate: 1, error: 'AccessDeniedException' });
    expect(await c.provider.quota({ id: MAIN }, signal())).toEqual({
      limit: 50,
      used: 0,
      source: 'default',
      scope: 'table',
    });
  });

  it('an account without an applied value (GetServiceQuota: NoSuchResourceException) gets the AWS default from GetAWSDefaultServiceQuota, over provider.routeQuota', async () => {
    // No routeQuota at start: the emulated account never had a quota increase applied.
    const a = await setup({ provider: { routeQuota: 70 } });
    expect(await a.provider.quota({ id: MAIN }, signal())).toEqual({
      limit: 50,
      used: 0,
      source: 'api-default',
      scope: 'table',
    });
    expect(await a.count('GetServiceQuota')).toEqual({ NoSuchResourceException: 1 });
    expect(await a.count('GetAWSDefaultServiceQuota')).toEqual({ ok: 1 });
    // Once an increase is applied, GetServiceQuota answers it.
    await a.admin('POST', 'quota', { limit: 400 });
    expect((await a.provider.quota({ id: MAIN }, signal())).limit).toBe(400);

    // Neither answers: provider.routeQuota, else the documented default.
    const b = await setup({ provider: { routeQuota: 70 } });
    await b.admin('POST', 'faults', { action: 'GetAWSDefaultServiceQuota', rate: 1, error: 'AccessDeniedException' });
    expect(await b.provider.quota({ id: MAIN }, signal())).toMatchObject({ limit: 70, source: 'config' });
  });

  it('counts only what EC2 counts against the IPv4 quota: not propagated or IPv6 routes; a prefix list as its max entries', async () => {
    const { provider, ids, admin } = await setup({ instances: 2, routeQuota: 20 });
    const [a] = (await ids()) as [string];
    await apply(provider, MAIN, [create(MAIN, 1, a)]);
    await admin('POST', 'routes', { destination: '192.168.10.0/24', nextHop: 'vgw-0abc', propagated: true });
    await admin('POST', 'routes', { destination: '2600:1f18::/64', nextHop: 'eigw-0abc' });
    await admin('POST', 'routes', { destination: 'pl-0123456789abcdef0', nextHop: 'tgw-0abc', maxEntries: 8 });
    const routes = await provider.listRoutes({ id: MAIN }, signal());
    expect(routes.find((r) => r.destination === 'pl-0123456789abcdef0')).toMatchObject({
      system: true,
      quotaWeight: 8,
    });
    const q = await provider.quota({ id: MAIN }, signal(), routes);
    // ours 1 + the prefix list's 8: what the emulator (as EC2) counts, so the room left is right.
    expect(q).toMatchObject({ limit: 20, used: 9, source: 'api' });
    expect((await admin('GET', 'state')).json.tables[0].used).toBe(9);
  });
});

describe('aws provider: malformed answers', () => {
  async function fakeEc2(body: string, status = 200): Promise<string> {
    const server: Server = createServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'text/xml' });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  function providerAt(endpoint: string) {
    useDummyCredentials('AKIDPROVIDER');
    const config = validateConfig(emulatorConfigDoc('aws', endpoint));
    const p = createAwsProvider(
      configFor('aws', config.provider),
      { cluster: 'test', clusterCIDR: config.clusterCIDR, logger: silentLogger },
      { ...FAST, retry: { baseMs: 1, capMs: 2, attempts: 2 } },
    );
    cleanup.push(() => p.close());
    return p;
  }

  it('a 200 without reservationSet or routeSet is an error, not an empty list', async () => {
    const ns = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"';
    const p = providerAt(
      await fakeEc2(`<DescribeInstancesResponse ${ns}><requestId>r-1</requestId></DescribeInstancesResponse>`),
    );
    await expect(p.listInstances(signal())).rejects.toMatchObject({ kind: 'invalid', code: 'MalformedResponse' });
    const q = providerAt(
      await fakeEc2(
        `<DescribeRouteTablesResponse ${ns}><requestId>r-1</requestId><routeTableSet><item><routeTableId>${MAIN}</routeTableId></item></routeTableSet></DescribeRouteTablesResponse>`,
      ),
    );
    await expect(q.listRoutes({ id: MAIN }, signal())).rejects.toMatchObject({ kind: 'invalid' });
  });

  it('a truncated body fails the read', async () => {
    const p = providerAt(
      await fakeEc2(
        '<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId><reservationSet><item><reserv',
      ),
    );
    const err = await p.listInstances(signal()).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect(['invalid', 'unavailable']).toContain((err as ProviderError).kind);
  });
});

describe('aws provider: hostile answers from the emulator', () => {
  const cases: Array<[string, 'listInstances' | 'listRoutes']> = [
    ['truncate', 'listInstances'],
    ['truncate', 'listRoutes'],
    ['empty-body-200', 'listRoutes'],
    ['html-200', 'listInstances'],
    ['error-200', 'listInstances'],
    ['error-200', 'listRoutes'],
    ['empty-listing', 'listRoutes'],
    ['missing-fields', 'listInstances'],
    ['missing-fields', 'listRoutes'],
    ['wrong-types', 'listInstances'],
    ['wrong-types', 'listRoutes'],
  ];
  it.each(cases)('%s on %s fails the read instead of returning a short list', async (error, read) => {
    const { provider, admin } = await setup({
      instances: 3,
      internal: { ...FAST, retry: { baseMs: 1, capMs: 2, attempts: 2 } },
    });
    const action = read === 'listInstances' ? 'DescribeInstances' : 'DescribeRouteTables';
    await admin('POST', 'faults', { action, rate: 1, error });
    const run =
      read === 'listInstances' ? provider.listInstances(signal()) : provider.listRoutes({ id: MAIN }, signal());
    const err = await run.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect(['invalid', 'unavailable']).toContain((err as ProviderError).kind);
  });
});
