// The GCE emulator driven through the official @google-cloud/compute client (REST fallback) and through
// gcloud, as a real cloud would be: only the /_emulator/ admin API is called by hand.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  GlobalOperationsClient,
  InstancesClient,
  ProjectsClient,
  RoutesClient,
  type protos,
} from '@google-cloud/compute';
import { OAuth2Client } from 'google-auth-library';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator, type StartOptions } from '../../emulators/shared/server.ts';
import {
  createGceEmulator,
  EMULATOR_TOPOLOGY,
  SECOND_NETWORK,
  type GceEmulator,
} from '../../emulators/gce/emulator.ts';

const PROJECT = EMULATOR_TOPOLOGY.project as string;
const NET = EMULATOR_TOPOLOGY.network as string;
const TAG = { key: 'routesync-cluster', value: 'test' };

interface Sdk {
  routes: RoutesClient;
  ops: GlobalOperationsClient;
  instances: InstancesClient;
  projects: ProjectsClient;
}

function sdk(emu: RunningEmulator, token = 'token-a'): Sdk {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: token, expiry_date: Date.now() + 3_600_000 });
  const o = { apiEndpoint: '127.0.0.1', port: emu.port, protocol: 'http', fallback: true, authClient };
  return {
    routes: new RoutesClient(o),
    ops: new GlobalOperationsClient(o),
    instances: new InstancesClient(o),
    projects: new ProjectsClient(o),
  };
}

/** The gax error a rejected call carries: HTTP status, reason (ErrorInfo) and message. */
async function failure(p: Promise<unknown>): Promise<{ httpStatusCode?: number; reason?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { httpStatusCode?: number; reason?: string; message: string };
  }
  throw new Error('expected the call to fail');
}

async function admin(
  emu: RunningEmulator,
  method: string,
  path: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: admin JSON is loosely shaped; assertions check the fields
): Promise<{ status: number; json: any }> {
  // eslint-disable-line -- admin JSON is loosely shaped
  const r = await fetch(`${emu.url}/_emulator/${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: r.status, json: await r.json() };
}

/** The SDK types an insert's `latestResponse` as a generic LRO; on Compute it is a compute Operation. */
const opOf = (lro: { latestResponse: unknown }) => lro.latestResponse as protos.google.cloud.compute.v1.IOperation;

const routeBody = (name: string, destRange: string, instance: { zone: string; name: string }, network = NET) => ({
  name,
  destRange,
  network: `projects/${PROJECT}/global/networks/${network}`,
  nextHopInstance: `projects/${PROJECT}/zones/${instance.zone}/instances/${instance.name}`,
  priority: 1000,
});

describe('gce emulator through @google-cloud/compute', () => {
  let emu: RunningEmulator | undefined;
  let c: Sdk | undefined;
  const start = async (o: StartOptions = {}) => {
    emu = await startEmulator(createGceEmulator, {
      profile: 'fast',
      timeScale: 50,
      instanceTag: TAG,
      instances: 4,
      ...o,
    });
    c = sdk(emu);
    return { emu, c };
  };
  afterEach(async () => {
    await Promise.all(Object.values(c ?? {}).map((x: { close(): Promise<void> }) => x.close()));
    await emu?.close();
    emu = undefined;
    c = undefined;
  });

  async function firstInstance(e: RunningEmulator) {
    return (await admin(e, 'GET', 'state')).json.instances[0] as { id: string; name: string; zone: string };
  }

  async function insertAndWait(s: Sdk, body: ReturnType<typeof routeBody>) {
    const [lro] = await s.routes.insert({ project: PROJECT, routeResource: body });
    const [done] = await s.ops.wait({ project: PROJECT, operation: lro.latestResponse.name as string });
    return done;
  }

  it('lists routes across pages with system routes, and gets one', async () => {
    const { emu, c } = await start();
    const vm = await firstInstance(emu);
    for (let i = 0; i < 5; i++)
      expect(
        (await admin(emu, 'POST', 'routes', { destination: `172.16.${i}.0/24`, target: vm.id, name: `r-${i}` })).status,
      ).toBe(201);
    const names: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const [items, next, raw] = await c.routes.list(
        { project: PROJECT, maxResults: 2, ...(pageToken ? { pageToken } : {}) },
        { autoPaginate: false },
      );
      expect((raw as { kind?: string }).kind).toBe('compute#routeList');
      names.push(...items.map((r) => r.name as string));
      pageToken = next?.pageToken ?? undefined;
      pages++;
    } while (pageToken);
    expect(pages).toBeGreaterThanOrEqual(3);
    // 5 ours + (default internet + subnet route) per network, two networks.
    expect(names).toHaveLength(9);
    expect(new Set(names).size).toBe(9);
    const [filtered] = await c.routes.list(
      { project: PROJECT, filter: `(name eq r-[0-2]) (network eq .*/networks/${NET})` },
      { autoPaginate: false },
    );
    expect(filtered.map((r) => r.name).sort()).toEqual(['r-0', 'r-1', 'r-2']);
    await admin(emu, 'POST', 'routes', {
      destination: '172.16.50.0/24',
      target: vm.id,
      name: 'test-172-16-50-0-24',
      description: 'routesync:test',
    });
    const [marked] = await c.routes.list(
      { project: PROJECT, filter: 'description = "routesync:test"' },
      { autoPaginate: false },
    );
    expect(marked.map((r) => r.name)).toEqual(['test-172-16-50-0-24']);
    const [all] = await c.routes.list(
      { project: PROJECT, filter: `network eq .*/networks/${NET}` },
      { autoPaginate: false },
    );
    expect(all.some((r) => r.routeType === 'SUBNET')).toBe(true);
    expect(
      all.some((r) => r.nextHopGateway?.endsWith('/gateways/default-internet-gateway') && r.destRange === '0.0.0.0/0'),
    ).toBe(true);
    const [one] = await c.routes.get({ project: PROJECT, route: 'r-3' });
    expect(one.destRange).toBe('172.16.3.0/24');
    expect(one.nextHopInstance).toMatch(new RegExp(`/zones/${vm.zone}/instances/${vm.name}$`));
  });

  it('insert returns a PENDING operation that turns DONE; the route appears only then', async () => {
    const { emu, c } = await start({ profile: 'realistic', timeScale: 100 });
    const vm = await firstInstance(emu);
    // Held: the operation cannot finish while the test looks at it, however slow this machine is.
    (emu.cloud as GceEmulator).holdOperations(true);
    const [lro] = await c.routes.insert({ project: PROJECT, routeResource: routeBody('r-op', '172.16.1.0/24', vm) });
    const op = opOf(lro);
    expect(op.kind).toBe('compute#operation');
    expect(op.status).toBe('PENDING');
    expect(op.operationType).toBe('insert');
    expect((await failure(c.routes.get({ project: PROJECT, route: 'r-op' }))).httpStatusCode).toBe(404);
    const [polled] = await c.ops.get({ project: PROJECT, operation: op.name as string });
    expect(polled.status).toBe('PENDING');
    // Released: the realistic 5–20 s of emulated time start now; wait blocks until DONE.
    (emu.cloud as GceEmulator).holdOperations(false);
    const [done] = await c.ops.wait({ project: PROJECT, operation: op.name as string });
    expect(done.status).toBe('DONE');
    expect(done.error).toBeFalsy();
    expect(done.endTime).toBeTruthy();
    const [route] = await c.routes.get({ project: PROJECT, route: 'r-op' });
    expect(route.destRange).toBe('172.16.1.0/24');
    expect((await failure(c.ops.get({ project: PROJECT, operation: 'operation-nope' }))).httpStatusCode).toBe(404);
  });

  it('duplicate insert is 409 alreadyExists; delete works once, then 404', async () => {
    const { emu, c } = await start();
    const vm = await firstInstance(emu);
    expect((await insertAndWait(c, routeBody('r-dup', '172.16.2.0/24', vm))).status).toBe('DONE');
    const dup = await failure(
      c.routes.insert({ project: PROJECT, routeResource: routeBody('r-dup', '172.16.2.0/24', vm) }),
    );
    expect(dup.httpStatusCode).toBe(409);
    expect(dup.reason).toBe('alreadyExists');
    const [del] = await c.routes.delete({ project: PROJECT, route: 'r-dup' });
    expect(opOf(del).operationType).toBe('delete');
    const [done] = await c.ops.wait({ project: PROJECT, operation: del.latestResponse.name as string });
    expect(done.status).toBe('DONE');
    const missing = await failure(c.routes.delete({ project: PROJECT, route: 'r-dup' }));
    expect(missing.httpStatusCode).toBe(404);
    expect(missing.reason).toBe('notFound');
    const state = (await admin(emu, 'GET', 'state')).json;
    expect(state.tables[0].routes.some((r: { name: string }) => r.name === 'r-dup')).toBe(false);
  });

  it('QUOTA_EXCEEDED arrives inside the operation, and the quota is shared by every network of the project', async () => {
    const { emu, c } = await start();
    const vm = await firstInstance(emu);
    expect((await admin(emu, 'POST', 'quota', { limit: 2 })).status).toBe(200);
    expect((await insertAndWait(c, routeBody('r-a', '172.16.1.0/24', vm))).error).toBeFalsy();
    // The second network counts against the same project quota.
    expect((await insertAndWait(c, routeBody('r-b', '172.16.2.0/24', vm, SECOND_NETWORK))).error).toBeFalsy();
    const [project] = await c.projects.get({ project: PROJECT });
    expect(project.quotas?.find((q) => q.metric === 'ROUTES')).toMatchObject({ limit: 2, usage: 2 });
    const [lro] = await c.routes.insert({ project: PROJECT, routeResource: routeBody('r-c', '172.16.3.0/24', vm) });
    expect(lro.latestResponse.error).toBeFalsy();
    const [done] = await c.ops.wait({ project: PROJECT, operation: lro.latestResponse.name as string });
    expect(done.status).toBe('DONE');
    expect(done.error?.errors?.[0]?.code).toBe('QUOTA_EXCEEDED');
    expect(done.httpErrorStatusCode).toBe(403);
    expect((await failure(c.routes.get({ project: PROJECT, route: 'r-c' }))).httpStatusCode).toBe(404);
    const state = (await admin(emu, 'GET', 'state')).json;
    expect(state.tables.map((t: { quota: number }) => t.quota)).toEqual([2, 2]);
  });

  it('throttles with 403 rateLimitExceeded from the per-group bucket and from injected faults', async () => {
    const { emu, c } = await start({ timeScale: 1 });
    const vm = await firstInstance(emu);
    (emu.cloud as GceEmulator).setRateLimit('default', 3);
    for (let i = 0; i < 3; i++)
      await c.routes.insert({ project: PROJECT, routeResource: routeBody(`r-t${i}`, `172.16.${i}.0/24`, vm) });
    const limited = await failure(
      c.routes.insert({ project: PROJECT, routeResource: routeBody('r-t9', '172.16.9.0/24', vm) }),
    );
    expect(limited.httpStatusCode).toBe(403);
    expect(limited.reason).toBe('rateLimitExceeded');
    // Reads are another quota group.
    await c.routes.list({ project: PROJECT }, { autoPaginate: false });

    await admin(emu, 'POST', 'faults', { action: 'routes.list', rate: 1, error: 'throttle', count: 1 });
    const injected = await failure(c.routes.list({ project: PROJECT }, { autoPaginate: false, maxRetries: 0 }));
    expect(injected.httpStatusCode).toBe(403);
    expect(injected.reason).toBe('rateLimitExceeded');
    await admin(emu, 'POST', 'faults', { action: 'routes.get', rate: 1, error: '429', count: 1 });
    expect((await failure(c.routes.get({ project: PROJECT, route: 'r-t0' }, { maxRetries: 0 }))).httpStatusCode).toBe(
      429,
    );
    const counts = (await admin(emu, 'GET', 'requests')).json;
    expect(counts.byAction['routes.insert'].rateLimitExceeded).toBe(1);
    expect(counts.byClient['token-a']['routes.insert'].ok).toBe(3);
  });

  it('answers malformed requests with Compute validation errors, not crashes', async () => {
    const { emu, c } = await start();
    const vm = await firstInstance(emu);
    const noDest = await failure(
      c.routes.insert({
        project: PROJECT,
        routeResource: {
          name: 'r-x',
          network: `global/networks/${NET}`,
          nextHopInstance: `zones/${vm.zone}/instances/${vm.name}`,
        },
      }),
    );
    expect(noDest.httpStatusCode).toBe(400);
    expect(noDest.message).toMatch(/destRange/);
    const badCidr = await failure(
      c.routes.insert({ project: PROJECT, routeResource: routeBody('r-x', '172.16.1.7/33', vm) }),
    );
    expect(badCidr.httpStatusCode).toBe(400);
    expect(badCidr.message).toMatch(/destRange/);
    const badName = await failure(
      c.routes.insert({ project: PROJECT, routeResource: routeBody('Bad_Name', '172.16.1.0/24', vm) }),
    );
    expect(badName.httpStatusCode).toBe(400);
    const noHop = await failure(
      c.routes.insert({
        project: PROJECT,
        routeResource: { name: 'r-y', destRange: '172.16.1.0/24', network: `global/networks/${NET}` },
      }),
    );
    expect(noHop.httpStatusCode).toBe(400);
    const ghost = await failure(
      c.routes.insert({
        project: PROJECT,
        routeResource: routeBody('r-z', '172.16.1.0/24', { zone: vm.zone, name: 'ghost' }),
      }),
    );
    expect(ghost.httpStatusCode).toBe(404);
    expect(
      (await failure(c.routes.list({ project: PROJECT, pageToken: 'garbage' }, { autoPaginate: false })))
        .httpStatusCode,
    ).toBe(400);
    expect(
      (await failure(c.routes.list({ project: PROJECT, filter: 'nosuchfield eq x' }, { autoPaginate: false })))
        .httpStatusCode,
    ).toBe(400);
    expect(
      (await failure(c.routes.list({ project: PROJECT, maxResults: 501 }, { autoPaginate: false }))).httpStatusCode,
    ).toBe(400);
    expect((await failure(c.routes.list({ project: 'other-project' }, { autoPaginate: false }))).httpStatusCode).toBe(
      404,
    );
  });

  it('lists instances (zonal and aggregated) by label, with status, and turns routes to deleted VMs into blackholes', async () => {
    const { emu, c } = await start({ instances: 0 });
    await admin(emu, 'POST', 'instances', { count: 7 });
    await admin(emu, 'POST', 'instances', { count: 2, tags: { 'routesync-cluster': 'other' } });
    const added = (
      await admin(emu, 'POST', 'instances', {
        instances: [{ name: 'stopped-vm', state: 'stopped', zone: 'us-central1-a' }],
      })
    ).json.instances;
    expect(added[0]).toMatchObject({ id: 'us-central1-a/stopped-vm', name: 'stopped-vm', state: 'stopped' });
    const seen: Array<{
      name?: string | null;
      status?: string | null;
      networkInterfaces?: Array<{ networkIP?: string | null }> | null;
    }> = [];
    for await (const [scope, list] of c.instances.aggregatedListAsync({
      project: PROJECT,
      filter: 'labels.routesync-cluster = "test"',
      maxResults: 3,
    })) {
      expect(scope).toMatch(/^zones\//);
      seen.push(...(list.instances ?? []));
    }
    expect(seen).toHaveLength(8);
    expect(seen.find((i) => i.name === 'stopped-vm')?.status).toBe('TERMINATED');
    expect(seen.every((i) => /^10\.128\./.test(i.networkInterfaces?.[0]?.networkIP ?? ''))).toBe(true);
    const [zonal] = await c.instances.list(
      { project: PROJECT, zone: 'us-central1-a', filter: 'labels.routesync-cluster eq test' },
      { autoPaginate: false },
    );
    expect(zonal.every((i) => i.zone?.endsWith('/zones/us-central1-a'))).toBe(true);
    expect(zonal.some((i) => i.name === 'stopped-vm')).toBe(true);

    const vm = (await admin(emu, 'GET', 'state')).json.instances[0] as { id: string; name: string; zone: string };
    await insertAndWait(c, routeBody('r-bh', '172.16.5.0/24', vm));
    expect((await admin(emu, 'DELETE', `instances/${vm.id}`)).status).toBe(200);
    const [route] = await c.routes.get({ project: PROJECT, route: 'r-bh' });
    expect(route.warnings?.[0]?.code).toBe('NEXT_HOP_INSTANCE_NOT_FOUND');
    const state = (await admin(emu, 'GET', 'state')).json;
    expect(state.tables[0].routes.find((r: { name: string }) => r.name === 'r-bh')).toMatchObject({
      destination: '172.16.5.0/24',
      target: vm.id,
      state: 'blackhole',
    });
    expect(
      (await failure(c.instances.get({ project: PROJECT, zone: vm.zone, instance: vm.name }))).httpStatusCode,
    ).toBe(404);
  });

  it('keeps the admin state shape and refuses bad admin bodies', async () => {
    const { emu } = await start();
    const vm = await firstInstance(emu);
    expect(
      (
        await admin(emu, 'POST', 'routes', {
          destination: '172.16.7.0/24',
          nextHop: 'vpn-1',
          name: 'other-team',
          description: 'theirs',
        })
      ).status,
    ).toBe(201);
    expect(
      (await admin(emu, 'POST', 'routes', { table: SECOND_NETWORK, destination: '172.16.8.0/24', target: vm.id }))
        .status,
    ).toBe(201);
    const s = (await admin(emu, 'GET', 'state')).json;
    // `topology`: what a config needs (the same for every cloud; test/e2e/emulator-cli.test.ts).
    expect(Object.keys(s).sort()).toEqual(['instances', 'tables', 'topology']);
    expect(s.topology).toMatchObject({
      provider: 'gce',
      project: PROJECT,
      network: NET,
      tables: [NET, SECOND_NETWORK],
    });
    expect(Object.keys(s.instances[0]).sort()).toEqual(['id', 'name', 'privateIp', 'state', 'tags', 'zone']);
    expect(s.tables.map((t: { id: string }) => t.id)).toEqual([NET, SECOND_NETWORK]);
    const t0 = s.tables[0];
    expect(t0.quota).toBe(200);
    expect(t0.routes.find((r: { name: string }) => r.name === 'other-team')).toEqual({
      destination: '172.16.7.0/24',
      target: null,
      nextHop: 'vpnTunnel:vpn-1',
      state: 'active',
      name: 'other-team',
      description: 'theirs',
    });
    expect(t0.routes.some((r: { nextHop: string }) => r.nextHop === 'local')).toBe(true);
    expect(t0.routes.some((r: { nextHop: string }) => r.nextHop === 'default-internet-gateway')).toBe(true);
    expect(s.tables[1].routes.find((r: { destination: string }) => r.destination === '172.16.8.0/24')).toMatchObject({
      target: vm.id,
      nextHop: vm.id,
      state: 'active',
    });
    expect((await admin(emu, 'DELETE', 'routes', { destination: '172.16.7.0/24' })).status).toBe(200);
    expect((await admin(emu, 'DELETE', 'routes', { destination: '172.16.7.0/24' })).status).toBe(404);
    expect((await admin(emu, 'POST', 'routes', { destination: 'nope' })).status).toBe(400);
    expect((await admin(emu, 'POST', 'routes', { destination: '172.16.9.0/24', target: 'ghost' })).status).toBe(400);
    expect(
      (await admin(emu, 'POST', 'routes', { table: 'nope', destination: '172.16.9.0/24', nextHop: '10.0.0.1' })).status,
    ).toBe(400);
    expect((await admin(emu, 'POST', 'quota', { limit: -1 })).status).toBe(400);
    expect((await admin(emu, 'POST', 'instances', { count: 0 })).status).toBe(400);
  });
});

describe('gce emulator through gcloud', () => {
  let emu: RunningEmulator | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await emu?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('gcloud compute routes list and create (waiting on the operation) succeed against the emulator', async () => {
    emu = await startEmulator(createGceEmulator, { profile: 'fast', timeScale: 50, instanceTag: TAG, instances: 2 });
    dir = mkdtempSync(join(tmpdir(), 'routesync-gcloud-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'gcloud-token\n');
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      CLOUDSDK_CONFIG: join(dir, 'config'),
      CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
      CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: '1',
      CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: '1',
      CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false',
      CLOUDSDK_METRICS_ENVIRONMENT: 'routesync-test',
      CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${emu.url}/compute/v1/`,
      NO_PROXY: '127.0.0.1',
    };
    const gcloud = (args: string[]) =>
      promisify(execFile)(
        'gcloud',
        [...args, '--project', PROJECT, '--access-token-file', tokenFile, '--format=json'],
        { env, timeout: 60_000 },
      );
    const listed = JSON.parse((await gcloud(['compute', 'routes', 'list'])).stdout) as Array<{
      name: string;
      routeType: string;
    }>;
    expect(listed.some((r) => r.routeType === 'SUBNET')).toBe(true);
    const vm = (await admin(emu, 'GET', 'state')).json.instances[0] as { id: string; name: string; zone: string };
    const created = JSON.parse(
      (
        await gcloud([
          'compute',
          'routes',
          'create',
          'by-gcloud',
          '--network',
          NET,
          '--destination-range',
          '172.16.42.0/24',
          '--next-hop-instance',
          vm.name,
          '--next-hop-instance-zone',
          vm.zone,
          '--description',
          'routesync:test',
        ])
      ).stdout,
    ) as Array<{ name: string; destRange: string; nextHopInstance: string }>;
    expect(created[0]).toMatchObject({ name: 'by-gcloud', destRange: '172.16.42.0/24' });
    const counts = (await admin(emu, 'GET', 'requests')).json;
    expect(counts.byClient['gcloud-token']['routes.insert'].ok).toBe(1);
    expect(Object.keys(counts.byClient['gcloud-token']).some((a) => a.startsWith('globalOperations.'))).toBe(true);
    const state = (await admin(emu, 'GET', 'state')).json;
    expect(state.tables[0].routes.find((r: { name: string }) => r.name === 'by-gcloud')).toMatchObject({
      target: vm.id,
      state: 'active',
      description: 'routesync:test',
    });
  });
});
