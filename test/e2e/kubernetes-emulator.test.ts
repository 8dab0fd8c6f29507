// The Kubernetes API emulator held against real clients: the kubectl on the machine (with a kubeconfig
// pointing at it and its own discovery cache) and the official @kubernetes/client-node. Nothing here
// hand-builds an API request except the /_emulator/ admin calls and two raw checks of wire details
// (the Retry-After header, the BOOKMARK frame).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
  Watch,
  type V1Node,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOUD_EMULATOR_TOPOLOGY, providerIdFor, seedsFromCloudState } from '../../emulators/kubernetes/nodes.ts';
import { parseProviderId } from '../../src/kubernetes/provider-id.ts';
import { startEmulator } from '../../emulators/shared/server.ts';
import { EMULATORS } from '../../emulators/clouds.ts';
import { PROVIDER_KINDS } from '../../providers/plugins.ts';
import { startKubeEmulator, type RunningKubeEmulator } from '../../emulators/kubernetes/server.ts';
import { makeTls, type TlsFiles } from '../../testkit/tls.ts';
import { until } from '../../testkit/wait.ts';

const run = promisify(execFile);
const KUBECTL = '/usr/bin/kubectl';
const TOKEN = 'controller-a';
const OTHER = 'controller-b';

const seeds = [
  {
    name: 'ip-10-0-1-4',
    zone: 'us-east-1a',
    internalIP: '10.0.1.4',
    providerID: providerIdFor('aws', { id: 'i-0a1b2c3d4e5f60001', zone: 'us-east-1a' }),
  },
  {
    name: 'ip-10-0-1-5',
    zone: 'us-east-1b',
    internalIP: '10.0.1.5',
    providerID: providerIdFor('aws', { id: 'i-0a1b2c3d4e5f60002', zone: 'us-east-1b' }),
  },
  {
    name: 'ip-10-0-1-6',
    zone: 'us-east-1a',
    internalIP: '10.0.1.6',
    providerID: providerIdFor('aws', { id: 'i-0a1b2c3d4e5f60003', zone: 'us-east-1a' }),
    labels: { 'routesync.io/exclude': 'true' },
  },
];

let emu: RunningKubeEmulator;
let tls: TlsFiles;
let dir: string;
let kc: KubeConfig;
let core: CoreV1Api;
let coord: CoordinationV1Api;

function kubeClient(token: string): { core: CoreV1Api; coord: CoordinationV1Api; kc: KubeConfig } {
  const k = new KubeConfig();
  k.loadFromString(emu.kubeconfig({ token }));
  return { kc: k, core: k.makeApiClient(CoreV1Api), coord: k.makeApiClient(CoordinationV1Api) };
}

/** A plain request over the emulator's TLS (global fetch cannot take a CA). */
function raw(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((done, fail) => {
    const req = httpsRequest(`${emu.url}${path}`, { method, ca: readFileSync(tls.ca), headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', fail);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

// biome-ignore lint/suspicious/noExplicitAny: admin JSON is loosely shaped; assertions check the fields
async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  // any: admin JSON is loosely shaped
  const r = await raw(method, `/_emulator/${path}`, body);
  return { status: r.status, json: JSON.parse(r.text) };
}

async function kubectl(
  args: string[],
  kubeconfig = join(dir, 'kubeconfig'),
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      KUBECTL,
      ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args],
      { timeout: 15_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

function clientFor(e: RunningKubeEmulator): CoreV1Api {
  const k = new KubeConfig();
  k.loadFromString(e.kubeconfig());
  return k.makeApiClient(CoreV1Api);
}

async function apiCode(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    if (e instanceof ApiException) return e.code;
    throw e;
  }
}

beforeAll(async () => {
  // HTTPS because kubectl sends a kubeconfig's token only over TLS; the plain-http mode is tested below.
  tls = makeTls();
  emu = await startKubeEmulator({
    tokens: [TOKEN, OTHER],
    nodes: seeds,
    bookmarkIntervalMs: 100,
    timeoutFaultMs: 300,
    seed: 3,
    tls: {
      cert: readFileSync(tls.serverCert, 'utf8'),
      key: readFileSync(tls.serverKey, 'utf8'),
      ca: readFileSync(tls.ca, 'utf8'),
    },
  });
  dir = mkdtempSync(join(tmpdir(), 'k8s-emu-'));
  writeFileSync(join(dir, 'kubeconfig'), emu.kubeconfig({ token: TOKEN }));
  writeFileSync(join(dir, 'bad-kubeconfig'), emu.kubeconfig({ token: 'wrong' }));
  ({ kc, core, coord } = kubeClient(TOKEN));
});

afterAll(async () => {
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (tls) rmSync(tls.dir, { recursive: true, force: true });
});

describe('kubectl against the emulator', () => {
  it('get nodes -o wide renders the server-side table with addresses', async () => {
    const r = await kubectl(['get', 'nodes', '-o', 'wide']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP\s+EXTERNAL-IP\s+OS-IMAGE/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual([
      'ip-10-0-1-4 Ready',
      'ip-10-0-1-5 Ready',
      'ip-10-0-1-6 Ready',
    ]);
    expect(lines[1]).toContain('10.0.1.4');
  });

  it('get nodes with a label selector leaves out the excluded Node', async () => {
    const r = await kubectl(['get', 'nodes', '-l', 'routesync.io/exclude!=true', '-o', 'name']);
    expect(r.stdout.trim().split('\n')).toEqual(['node/ip-10-0-1-4', 'node/ip-10-0-1-5']);
  });

  it('get nodes -w prints a Node added while it watches', async () => {
    const child = spawn(
      KUBECTL,
      ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), 'get', 'nodes', '-w'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await until('the initial listing', () => out.includes('ip-10-0-1-6'), 10_000);
      await until('the watch to open', () => emu.watchCount() > 0, 10_000);
      expect((await admin('POST', 'nodes', { name: 'watched-node', internalIP: '10.0.2.9' })).status).toBe(201);
      await until('the new Node in the watch output', () => out.includes('watched-node'), 10_000);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await admin('DELETE', 'nodes/watched-node?force=1');
    }
    expect(out.split('\n')[0]).toMatch(/^NAME\s+STATUS/);
  });

  it('patch node --type merge changes the Node; a podCIDR change after set is refused with the real message', async () => {
    const ok = await kubectl([
      'patch',
      'node',
      'ip-10-0-1-4',
      '--type',
      'merge',
      '-p',
      '{"metadata":{"labels":{"team":"net"}},"spec":{"podCIDR":"10.244.1.0/24"}}',
    ]);
    expect(ok.stdout.trim()).toBe('node/ip-10-0-1-4 patched');
    const n = await core.readNode({ name: 'ip-10-0-1-4' });
    expect(n.metadata?.labels?.team).toBe('net');
    expect(n.spec?.podCIDRs).toEqual(['10.244.1.0/24']);
    const again = await kubectl([
      'patch',
      'node',
      'ip-10-0-1-4',
      '--type',
      'merge',
      '-p',
      '{"spec":{"podCIDR":"10.244.7.0/24","podCIDRs":["10.244.7.0/24"]}}',
    ]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(
      'The Node "ip-10-0-1-4" is invalid: spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid',
    );
    expect((await core.readNode({ name: 'ip-10-0-1-4' })).spec?.podCIDR).toBe('10.244.1.0/24');
  });

  it('patch --dry-run=server checks the change and stores nothing', async () => {
    const before = (await core.readNode({ name: 'ip-10-0-1-5' })).metadata?.resourceVersion;
    const r = await kubectl([
      'patch',
      'node',
      'ip-10-0-1-5',
      '--type',
      'merge',
      '--dry-run=server',
      '-p',
      '{"metadata":{"labels":{"dry":"run"}}}',
    ]);
    expect(r.stdout).toContain('node/ip-10-0-1-5 patched');
    const after = await core.readNode({ name: 'ip-10-0-1-5' });
    expect(after.metadata?.labels?.dry).toBeUndefined();
    expect(after.metadata?.resourceVersion).toBe(before);
    const bad = await kubectl([
      'patch',
      'node',
      'ip-10-0-1-5',
      '--type',
      'merge',
      '--dry-run=server',
      '-p',
      '{"spec":{"providerID":"aws:///us-east-1a/i-other"}}',
    ]);
    expect(bad.stderr).toContain(
      'spec.providerID: Forbidden: node updates may not change providerID except from "" to valid',
    );
  });

  it('get lease -n NS shows the holder', async () => {
    await coord.createNamespacedLease({
      namespace: 'routesync',
      body: { metadata: { name: 'routesync-leader' }, spec: { holderIdentity: 'pod-a', leaseDurationSeconds: 15 } },
    });
    const r = await kubectl(['get', 'lease', '-n', 'routesync']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+HOLDER\s+AGE\nroutesync-leader\s+pod-a\s+\d+s\n$/);
  });

  it('describe node shows providerID, podCIDR and conditions', async () => {
    const r = await kubectl(['describe', 'node', 'ip-10-0-1-4']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ProviderID:\s+aws:\/\/\/us-east-1a\/i-0a1b2c3d4e5f60001/);
    expect(r.stdout).toMatch(/PodCIDRs?:\s+10\.244\.1\.0\/24/);
    expect(r.stdout).toMatch(/Ready\s+True/);
  });

  it('over plain http without tokens (the default) kubectl and client-node work too', async () => {
    const plain = await startKubeEmulator({ nodes: [{ name: 'plain-1', internalIP: '10.9.0.1' }] });
    try {
      const kcPath = join(dir, 'plain-kubeconfig');
      writeFileSync(kcPath, plain.kubeconfig());
      const r = await kubectl(['get', 'nodes', '-o', 'wide'], kcPath);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/plain-1\s+Ready\s+<none>\s+\d+s\s+v1\.32\.0\s+10\.9\.0\.1/);
      const k = new KubeConfig();
      k.loadFromString(plain.kubeconfig({ token: 'over-http' }));
      expect((await k.makeApiClient(CoreV1Api).listNode()).items).toHaveLength(1);
      // client-node does send its token over http: the request log tells such clients apart.
      expect(plain.counters.snapshot().byClient['over-http']?.['list:nodes']).toEqual({ ok: 1 });
    } finally {
      await plain.close();
    }
  });

  it('a wrong bearer token is refused with 401', async () => {
    const r = await kubectl(['get', 'nodes'], join(dir, 'bad-kubeconfig'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Unauthorized|must be logged in/);
    expect((await admin('GET', 'requests')).json.byClient.wrong).toBeDefined();
  });
});

describe('@kubernetes/client-node against the emulator', () => {
  it('lists with label and field selectors and pages with limit/continue on one snapshot', async () => {
    const all = await core.listNode();
    expect(all.items.map((n) => n.metadata?.name)).toEqual(['ip-10-0-1-4', 'ip-10-0-1-5', 'ip-10-0-1-6']);
    expect(Number(all.metadata?.resourceVersion)).toBeGreaterThan(0);
    const included = await core.listNode({ labelSelector: 'routesync.io/exclude!=true' });
    expect(included.items.map((n) => n.metadata?.name)).toEqual(['ip-10-0-1-4', 'ip-10-0-1-5']);
    const one = await core.listNode({ fieldSelector: 'metadata.name=ip-10-0-1-5' });
    expect(one.items.map((n) => n.spec?.providerID)).toEqual(['aws:///us-east-1b/i-0a1b2c3d4e5f60002']);
    expect(await apiCode(core.listNode({ labelSelector: 'a in (b' }))).toBe(400);

    const p1 = await core.listNode({ limit: 2 });
    expect(p1.items).toHaveLength(2);
    expect(p1.metadata?._continue).toBeTruthy();
    expect(p1.metadata?.remainingItemCount).toBe(1);
    // A change between pages does not show in the second page: it is served from the first page's snapshot.
    await core.patchNode(
      { name: 'ip-10-0-1-6', body: { metadata: { labels: { paged: 'yes' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const p2 = await core.listNode({ limit: 2, _continue: p1.metadata?._continue as string });
    expect(p2.items.map((n) => n.metadata?.name)).toEqual(['ip-10-0-1-6']);
    expect(p2.items[0]?.metadata?.labels?.paged).toBeUndefined();
    expect(p2.metadata?.resourceVersion).toBe(p1.metadata?.resourceVersion);
    expect(p2.metadata?._continue).toBeFalsy();
  });

  it('watches from a resourceVersion, sees the change and a bookmark', async () => {
    const list = await core.listNode();
    const events: { type: string; obj: V1Node }[] = [];
    const w = new Watch(kc);
    const ctl = await w.watch(
      '/api/v1/nodes',
      { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
      (type, obj) => events.push({ type, obj }),
      () => {},
    );
    try {
      await core.patchNode(
        { name: 'ip-10-0-1-5', body: { metadata: { labels: { watched: 'yes' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      const mod = await until('MODIFIED', () => events.find((e) => e.type === 'MODIFIED'), 5_000);
      expect(mod.obj.metadata?.name).toBe('ip-10-0-1-5');
      expect(mod.obj.metadata?.labels?.watched).toBe('yes');
      const bm = await until('a BOOKMARK', () => events.find((e) => e.type === 'BOOKMARK'), 5_000);
      expect(Number(bm.obj.metadata?.resourceVersion)).toBeGreaterThanOrEqual(
        Number(mod.obj.metadata?.resourceVersion),
      );
      // Only the watched change came: nothing before the list's resourceVersion was replayed.
      expect(events.filter((e) => e.type !== 'BOOKMARK').map((e) => e.type)).toEqual(['MODIFIED']);
    } finally {
      ctl.abort();
    }
  });

  it('a watch with a label selector sees a Node leave (DELETED) and come back (ADDED) as its label changes', async () => {
    const rv = (await core.listNode()).metadata?.resourceVersion;
    const events: string[] = [];
    const ctl = await new Watch(kc).watch(
      '/api/v1/nodes',
      { resourceVersion: rv, labelSelector: 'routesync.io/exclude!=true' },
      (type, obj: V1Node) => events.push(`${type} ${obj.metadata?.name}`),
      () => {},
    );
    const label = (v: string | null) =>
      core.patchNode(
        { name: 'ip-10-0-1-5', body: { metadata: { labels: { 'routesync.io/exclude': v } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    try {
      await label('true');
      await label(null);
      await until('both transitions', () => events.length >= 2, 5_000);
      expect(events).toEqual(['DELETED ip-10-0-1-5', 'ADDED ip-10-0-1-5']);
    } finally {
      ctl.abort();
    }
  });

  it('a watch from a compacted resourceVersion gets 410 Gone; the informer relists and catches up', async () => {
    const old = (await core.listNode()).metadata?.resourceVersion as string;
    await core.patchNode(
      { name: 'ip-10-0-1-4', body: { metadata: { labels: { step: '1' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await admin('POST', 'compact');
    const seen: { type: string; obj: { code?: number; reason?: string } }[] = [];
    const ended = new Promise<unknown>((done) => {
      void new Watch(kc).watch(
        '/api/v1/nodes',
        { resourceVersion: old },
        (type, obj) => seen.push({ type, obj }),
        done,
      );
    });
    await ended;
    expect(seen).toEqual([{ type: 'ERROR', obj: expect.objectContaining({ code: 410, reason: 'Expired' }) }]);
    expect(await apiCode(core.listNode({ resourceVersion: old, resourceVersionMatch: 'Exact' }))).toBe(410);

    // The informer: watching, its watch dropped, history compacted: the re-watch gets 410, it relists.
    const informer = makeInformer(kc, '/api/v1/nodes', () => core.listNode());
    const errors: unknown[] = [];
    informer.on('error', (e) => errors.push(e));
    await informer.start();
    try {
      await until('the informer watch', () => emu.watchCount() > 0, 5_000);
      emu.stallWatches(); // the change below is not delivered on the open watch
      await core.patchNode(
        { name: 'ip-10-0-1-4', body: { metadata: { labels: { step: '2' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await admin('POST', 'compact');
      emu.dropWatches();
      await until(
        'the informer to relist and see step=2',
        () => informer.get('ip-10-0-1-4')?.metadata?.labels?.step === '2',
        10_000,
      );
      const log = (await admin('GET', 'requests?log=1')).json.log as { action: string; client: string }[];
      expect(log.filter((e) => e.action === 'list:nodes' && e.client === TOKEN).length).toBeGreaterThanOrEqual(2);
    } finally {
      await informer.stop();
    }
    expect(errors).toEqual([]);
  });

  it('merge patch needs the merge content type; strategic and JSON patch work too', async () => {
    // client-node defaults to json-patch: a merge-patch body sent that way is refused, not misapplied.
    expect(await apiCode(core.patchNode({ name: 'ip-10-0-1-5', body: { metadata: { labels: { x: '1' } } } }))).toBe(
      400,
    );
    const merged = await core.patchNode(
      { name: 'ip-10-0-1-5', body: { metadata: { labels: { x: '1' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(merged.metadata?.labels?.x).toBe('1');
    const json = await core.patchNode(
      { name: 'ip-10-0-1-5', body: [{ op: 'remove', path: '/metadata/labels/x' }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    expect(json.metadata?.labels?.x).toBeUndefined();
    const failedTest = core.patchNode(
      { name: 'ip-10-0-1-5', body: [{ op: 'test', path: '/spec/providerID', value: 'nope' }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    expect(await apiCode(failedTest)).toBe(422);
    const smp = await core.patchNode(
      { name: 'ip-10-0-1-5', body: { spec: { podCIDRs: ['10.244.5.0/24'] } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(smp.spec?.podCIDR).toBe('10.244.5.0/24');
  });

  it('patches a NodeCondition through nodes/status; the main endpoint ignores status', async () => {
    const cond = {
      type: 'NetworkUnavailable',
      status: 'False',
      reason: 'RouteCreated',
      message: 'routesync created a route',
      lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    const viaMain = await core.patchNode(
      { name: 'ip-10-0-1-4', body: { status: { conditions: [cond] } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(viaMain.status?.conditions?.map((c) => c.type)).not.toContain('NetworkUnavailable');
    const n = await core.patchNodeStatus(
      { name: 'ip-10-0-1-4', body: { status: { conditions: [cond] } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    const types = n.status?.conditions?.map((c) => c.type);
    expect(types).toContain('NetworkUnavailable');
    expect(types).toContain('Ready'); // merged by type, not replaced
    // A status write cannot change spec.
    const s = await core.patchNodeStatus(
      { name: 'ip-10-0-1-4', body: { spec: { unschedulable: true } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(s.spec?.unschedulable).toBeUndefined();
    const r = await kubectl([
      'get',
      'nodes',
      '-o',
      'custom-columns=NAME:.metadata.name,PODCIDR:.spec.podCIDR,NETWORK:.status.conditions[?(@.type=="NetworkUnavailable")].status',
    ]);
    expect(r.stdout).toMatch(/ip-10-0-1-4\s+10\.244\.1\.0\/24\s+False/);
  });

  it('Lease updates use optimistic concurrency: a stale resourceVersion is 409 Conflict', async () => {
    const created = await coord.createNamespacedLease({
      namespace: 'routesync',
      body: { metadata: { name: 'l1' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } },
    });
    expect(
      await apiCode(coord.createNamespacedLease({ namespace: 'routesync', body: { metadata: { name: 'l1' } } })),
    ).toBe(409);
    // Lease times are MicroTime (six fractional digits): a plain Date's milliseconds are refused, as the
    // apiserver's decoder refuses them; client-node's V1MicroTime is what a client must send.
    const plain = await coord
      .replaceNamespacedLease({
        namespace: 'routesync',
        name: 'l1',
        body: { ...created, spec: { ...created.spec, renewTime: new Date() } },
      })
      .catch((e: unknown) => e);
    expect((plain as ApiException<string>).code).toBe(400);
    expect(JSON.parse((plain as ApiException<string>).body).message).toMatch(
      /^Lease in version "v1" cannot be handled as a Lease: parsing time ".*" as "2006-01-02T15:04:05.000000Z07:00"/,
    );
    const renewed = await coord.replaceNamespacedLease({
      namespace: 'routesync',
      name: 'l1',
      body: { ...created, spec: { ...created.spec, renewTime: new V1MicroTime() } },
    });
    expect(Number(renewed.metadata?.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion));
    const { coord: b } = kubeClient(OTHER);
    let err: unknown;
    try {
      await b.replaceNamespacedLease({
        namespace: 'routesync',
        name: 'l1',
        body: { ...created, spec: { ...created.spec, holderIdentity: 'b' } },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<string>).code).toBe(409);
    expect(JSON.parse((err as ApiException<string>).body)).toMatchObject({ reason: 'Conflict' });
    expect((await coord.readNamespacedLease({ namespace: 'routesync', name: 'l1' })).spec?.holderIdentity).toBe('a');
    const patched = await coord
      .patchNamespacedLease(
        {
          namespace: 'routesync',
          name: 'l1',
          body: { metadata: { resourceVersion: created.metadata?.resourceVersion }, spec: { holderIdentity: 'b' } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )
      .catch((e: unknown) => e);
    expect((patched as ApiException<string>).code).toBe(409);
    expect(await apiCode(coord.readNamespacedLease({ namespace: 'routesync', name: 'missing' }))).toBe(404);
    // The request log tells the clients apart: B's failed write is on record under its token.
    const byClient = (await admin('GET', 'requests')).json.byClient;
    expect(byClient[OTHER]['update:leases']).toEqual({ Conflict: 1 });
  });

  it('creates Events and ConfigMaps (with resourceVersion checks)', async () => {
    const ev = await core.createNamespacedEvent({
      namespace: 'default',
      body: {
        metadata: { generateName: 'ip-10-0-1-4.' },
        involvedObject: { kind: 'Node', name: 'ip-10-0-1-4', apiVersion: 'v1' },
        reason: 'RouteCreated',
        message: 'route 10.244.1.0/24 created',
        type: 'Normal',
        source: { component: 'routesync' },
      },
    });
    expect(ev.metadata?.name).toMatch(/^ip-10-0-1-4\.[a-z0-9]{5}$/);
    const evs = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'involvedObject.name=ip-10-0-1-4',
    });
    expect(evs.items.map((e) => e.reason)).toEqual(['RouteCreated']);
    const cm = await core.createNamespacedConfigMap({
      namespace: 'routesync',
      body: { metadata: { name: 'released' }, data: { '10.244.3.0/24': 'ip-10-0-1-9' } },
    });
    const upd = await core.replaceNamespacedConfigMap({
      namespace: 'routesync',
      name: 'released',
      body: { ...cm, data: {} },
    });
    expect(upd.data).toBeUndefined();
    expect(await apiCode(core.replaceNamespacedConfigMap({ namespace: 'routesync', name: 'released', body: cm }))).toBe(
      409,
    );
    expect(
      await apiCode(
        core.createNamespacedConfigMap({
          namespace: 'routesync',
          body: { metadata: { name: 'bad' }, data: { k: 1 as unknown as string } },
        }),
      ),
    ).toBe(422);
  });

  it('creates and deletes Nodes; a finalizer keeps a deleted Node until it is removed', async () => {
    const events: string[] = [];
    const ctl = await new Watch(kc).watch(
      '/api/v1/nodes',
      { fieldSelector: 'metadata.name=held', resourceVersion: (await core.listNode()).metadata?.resourceVersion },
      (type) => events.push(type),
      () => {},
    );
    try {
      await core.createNode({
        body: {
          metadata: { name: 'held', finalizers: ['example.com/hold'] },
          spec: { providerID: 'aws:///us-east-1a/i-0000000000000beef' },
        },
      });
      await core.deleteNode({ name: 'held' });
      const n = await core.readNode({ name: 'held' });
      expect(n.metadata?.deletionTimestamp).toBeTruthy();
      const added = core.patchNode(
        { name: 'held', body: { metadata: { finalizers: ['example.com/hold', 'another/one'] } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      expect(await apiCode(added)).toBe(422);
      await core.patchNode(
        { name: 'held', body: { metadata: { finalizers: null } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      expect(await apiCode(core.readNode({ name: 'held' }))).toBe(404);
      await until('ADDED, MODIFIED, DELETED', () => events.includes('DELETED'), 5_000);
      expect(events[0]).toBe('ADDED');
      expect(events.at(-1)).toBe('DELETED');
    } finally {
      ctl.abort();
    }
    expect(await apiCode(core.createNode({ body: { metadata: { name: 'Bad_Name' } } }))).toBe(422);
  });
});

describe('fault switches', () => {
  it('429 with Retry-After, 5xx, a stalled watch and dropped watches', async () => {
    await admin('POST', 'faults', {
      rules: [
        { action: 'list:nodes', rate: 1, error: 'throttle', count: 1 },
        { action: 'get:nodes', rate: 1, error: '5xx', count: 1 },
      ],
    });
    const throttled = await raw('GET', '/api/v1/nodes', undefined, { authorization: `Bearer ${TOKEN}` });
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('1');
    expect(JSON.parse(throttled.text)).toMatchObject({ kind: 'Status', code: 429, reason: 'TooManyRequests' });
    expect(await apiCode(core.readNode({ name: 'ip-10-0-1-4' }))).toBe(500);
    expect(await apiCode(core.readNode({ name: 'ip-10-0-1-4' }))).toBe(200); // count: 1 → spent

    // A stalled watch: connected, silent. client-node's inactivity timeout is what ends it.
    await admin('POST', 'faults', { action: 'watch:nodes', rate: 1, error: 'stall', count: 1 });
    const w = new Watch(kc);
    // The inactivity timeout is private (30 s); shortened so the stall shows in well under a second.
    (w as unknown as { requestTimeoutMs: number }).requestTimeoutMs = 400;
    const events: string[] = [];
    const done = new Promise<unknown>(
      (d) =>
        void w.watch(
          '/api/v1/nodes',
          // A selector every Node matches, so this watch is told apart from others of this file still open
          // (client-node's informer, stopped above, may have re-watched meanwhile).
          { allowWatchBookmarks: true, labelSelector: 'stall-probe!=x' },
          (t) => events.push(t),
          d,
        ),
    );
    await core.patchNode(
      { name: 'ip-10-0-1-4', body: { metadata: { labels: { during: 'stall' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const err = await done;
    expect(String(err)).toMatch(/timeout|aborted/i);
    expect(events).toEqual([]);

    // Dropped watches end cleanly: the client's done callback runs with no error.
    await until('the stalled watch to be closed by its client', () => emu.watchCount('stall-probe') === 0, 5_000);
    // Counted from what is open now: a watch another client re-opens meanwhile must not hide this one.
    const open = emu.watchCount();
    const ended = new Promise<unknown>((d) => void new Watch(kc).watch('/api/v1/nodes', {}, () => {}, d));
    await until('the watch to open', () => emu.watchCount() > open, 10_000);
    expect((await admin('POST', 'watches/drop')).json.dropped).toBeGreaterThanOrEqual(1);
    expect(await ended).toBeNull();

    expect((await admin('POST', 'faults', { rate: 1, error: 'nonsense' })).status).toBe(400);
    await admin('DELETE', 'faults');
  });
});

describe('the standalone entry (emulators/kubernetes/main.ts)', () => {
  const MAIN = fileURLToPath(new URL('../../emulators/kubernetes/main.ts', import.meta.url));

  it('serves seeded Nodes that kubectl lists, and stops on SIGTERM', async () => {
    const kcPath = join(dir, 'cli-kubeconfig');
    const child = spawn(process.execPath, [MAIN, '--nodes', '2', '--cloud', 'gce', '--kubeconfig', kcPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    try {
      await until('the listening line', () => out.includes('listening on http://127.0.0.1:'), 15_000);
      const r = await kubectl(
        ['get', 'nodes', '-o', 'custom-columns=NAME:.metadata.name,PROVIDER:.spec.providerID', '--no-headers'],
        kcPath,
      );
      expect(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => l.split(/\s+/)),
      ).toEqual([
        ['node-1', 'gce://routesync-emu/us-central1-a/node-1'],
        ['node-2', 'gce://routesync-emu/us-central1-b/node-2'],
      ]);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('--from-cloud registers a Node for every live VM of a cloud emulator', async () => {
    const aws = await startEmulator(EMULATORS.aws, { instances: 3, profile: 'fast' });
    const kcPath = join(dir, 'from-cloud-kubeconfig');
    const child = spawn(process.execPath, [MAIN, '--cloud', 'aws', '--from-cloud', aws.url, '--kubeconfig', kcPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    try {
      await until('the listening line', () => out.includes('listening on'), 15_000);
      const r = await kubectl(['get', 'nodes', '-o', 'jsonpath={.items[*].spec.providerID}'], kcPath);
      const vms = (aws.cloud.admin.state() as { instances: { id: string; zone: string }[] }).instances;
      expect(r.stdout.split(' ').sort()).toEqual(vms.map((v) => `aws:///${v.zone}/${v.id}`).sort());
    } finally {
      child.kill('SIGTERM');
      await aws.close();
    }
    expect(await exited).toBe(0);
  });

  it('a bad flag is one line naming it and exit 2', async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const c = spawn(process.execPath, [MAIN, '--cloud', 'azure'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      c.once('close', (code) => done({ code, stderr }));
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `routesync kubernetes emulator: --cloud: "azure" must be one of ${PROVIDER_KINDS.join(', ')}\n`,
    );
  });
});

describe('next to a cloud emulator', () => {
  for (const kind of PROVIDER_KINDS) {
    it(`${kind}: each Node's providerID names a live VM of the cloud emulator, in its zone`, async () => {
      const cloud = await startEmulator(EMULATORS[kind], { instances: 4, profile: 'fast' });
      try {
        const state = cloud.cloud.admin.state() as { instances: { id: string; zone: string }[] };
        const gone = state.instances[0]!.id;
        cloud.cloud.admin.terminateInstance(gone);
        const k = await startKubeEmulator({ nodes: seedsFromCloudState(kind, cloud.cloud.admin.state()) });
        try {
          const live = state.instances.filter((i) => i.id !== gone);
          const nodes = (await clientFor(k).listNode()).items;
          expect(nodes).toHaveLength(live.length);
          for (const n of nodes) {
            // Read by the controller's own parser, bounded by the emulators' project and region.
            const r = parseProviderId(n.spec?.providerID ?? '', kind, CLOUD_EMULATOR_TOPOLOGY);
            const p = r.ok ? r.ref : undefined;
            const vm = live.find((i) => i.id === p?.instanceId);
            expect(p?.cloud, n.spec?.providerID).toBe(kind);
            expect(vm, n.spec?.providerID).toBeDefined();
            expect(n.metadata?.labels?.['topology.kubernetes.io/zone']).toBe(vm?.zone);
            if (p?.zone !== undefined) expect(p.zone).toBe(vm?.zone);
          }
        } finally {
          await k.close();
        }
      } finally {
        await cloud.close();
      }
    });
  }
  it('a cloud state of the wrong shape is an error naming the field', () => {
    expect(() => seedsFromCloudState('aws', { instances: [{ id: 'i-1', state: 'running' }] })).toThrow(
      'cloud emulator state: instances[0].zone must be a non-empty string',
    );
    expect(() => seedsFromCloudState('aws', {})).toThrow('cloud emulator state: instances must be a list');
  });
});

describe('providerIDs', () => {
  it('are in each cloud provider form and parse back', () => {
    expect(providerIdFor('aws', { id: 'i-0abc', zone: 'us-east-1a' })).toBe('aws:///us-east-1a/i-0abc');
    expect(providerIdFor('gce', { id: 'vm-1', zone: 'us-central1-a' }, { project: 'p1' })).toBe(
      'gce://p1/us-central1-a/vm-1',
    );
    expect(providerIdFor('aliyun', { id: 'i-bp1abc', zone: 'cn-hangzhou-h' }, { region: 'cn-hangzhou' })).toBe(
      'cn-hangzhou.i-bp1abc',
    );
    expect(() => providerIdFor('gce', { id: 'vm-1', zone: 'us-central1-a' })).toThrow(
      'providerIdFor gce: the project is needed',
    );
    expect(providerIdFor('gce', { id: 'us-central1-b/vm-1', zone: 'us-central1-b' }, { project: 'p1' })).toBe(
      'gce://p1/us-central1-b/vm-1',
    );
  });
});
