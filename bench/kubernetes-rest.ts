// Kubernetes mode at rest (issue 14, Figures): the real `routesync run` as a child — inventory.source
// kubernetes, store.type kubernetes, kubernetes.podCIDR allocate, the NetworkUnavailable reporter — against
// the Kubernetes API emulator (its Nodes named after the cloud emulator's VMs, providerIDs in each cloud's
// form) and a cloud emulator (realistic profile, time-scaled), both in this process, per cloud of the plug-in
// table. After convergence (every Node has its podCIDR and NetworkUnavailable=False, a pass with no change),
// over K full passes at rest: Kubernetes API calls per pass by verb:resource (goal: no Node list, no write —
// NetworkUnavailable patches and Events included), Lease calls per second (leader election's own), cloud
// API calls per pass, and the controller's RSS and V8 heap (bench/rss-probe.ts: used, live after a full GC).
// Figures, printed, not asserted (the tests of the parts: no Node list per pass in
// test/e2e/kubernetes-store-cache.test.ts, no NetworkUnavailable patch at rest in
// test/e2e/kubernetes-conditions.test.ts, one Lease call per renewal in
// test/integration/kubernetes-lease-calls.test.ts, one connection in test/e2e/kubernetes-connections.test.ts).
//   node bench/kubernetes-rest.ts [--clouds aws,gce,aliyun] [--nodes 1000] [--passes 5] [--images 50]
// --images N gives each Node N container images in status.images, as a kubelet reports them (it reports up
// to 50 by default, nodeStatusMaxImages): the bulk of a real Node object that routing never reads.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { EMULATORS } from '../emulators/clouds.ts';
import { seedsFromCloudState } from '../emulators/kubernetes/nodes.ts';
import { findResource } from '../emulators/kubernetes/resources.ts';
import { startKubeEmulator, type RunningKubeEmulator } from '../emulators/kubernetes/server.ts';
import type { Obj } from '../emulators/kubernetes/status.ts';
import type { RunningEmulator } from '../emulators/shared/server.ts';
import { startEmulator } from '../emulators/shared/server.ts';
import { PROVIDER_KINDS, type ProviderKind } from '../providers/plugins.ts';
import { emulatorConfigDoc, scaledPacing, TEST_TAG, useDummyCredentials } from '../testkit/clouds.ts';
import { until } from '../testkit/wait.ts';
import { table } from './common.ts';
import { benchFlags, clouds, int, num, oneOf, text } from './flags.ts';
import { childEnv, type Runtime, rssMB } from './rss.ts';

const CLUSTER_CIDR = '10.64.0.0/12';
const NAMESPACE = 'routesync';
const TOKEN = 'routesync-controller';
const MAX_CONVERGE_S = Number(process.env.BENCH_ROW_TIMEOUT_S ?? 600);

interface PassLine {
  full: boolean;
  ms: number;
  changes: number;
  converged: boolean;
  t: number;
}

type Counts = Record<string, number>;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

function countsOf(byAction: Record<string, Record<string, number>>): Counts {
  return Object.fromEntries(Object.entries(byAction).map(([a, o]) => [a, Object.values(o).reduce((x, y) => x + y, 0)]));
}

function diff(after: Counts, before: Counts): Counts {
  const out: Counts = {};
  for (const [a, n] of Object.entries(after)) {
    const d = n - (before[a] ?? 0);
    if (d > 0) out[a] = d;
  }
  return out;
}

/** `n` images of the size a kubelet reports: two names (digest and tag) and a size each. */
export function kubeletImages(n: number, seed: number): Array<{ names: string[]; sizeBytes: number }> {
  return Array.from({ length: n }, (_, i) => {
    const repo = `registry.example.com/team-${i % 7}/service-${i}`;
    const digest = ((seed * 2654435761 + i * 40503) >>> 0).toString(16).padStart(8, '0').repeat(8);
    return {
      names: [`${repo}@sha256:${digest}`, `${repo}:v1.${i}.${seed % 10}`],
      sizeBytes: 50_000_000 + i * 1_000_003,
    };
  });
}

/** Gives every Node `images` images in status.images (in this process, before the controller starts). */
function addImages(kube: RunningKubeEmulator, images: number): void {
  if (images === 0) return;
  const nodes = findResource('', 'v1', 'nodes');
  if (!nodes) throw new Error('the Kubernetes emulator has no nodes resource');
  kube.store.list(nodes).forEach((n, i) => {
    const name = (n.metadata as Obj).name as string;
    const status = { ...(n.status as Obj), images: kubeletImages(images, i) };
    kube.registry.update(nodes, undefined, name, { ...n, status }, 'status');
  });
}

/** Sockets the child holds open (its fds that are sockets): connections to the API server and the cloud. */
async function openSockets(pid: number): Promise<number> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
  let n = 0;
  for (const fd of fds) if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')).startsWith('socket:')) n++;
  return n;
}

interface Probe {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  spaces: Record<string, number>;
}

/** The child's heap before and after a full GC (bench/rss-probe.ts, on SIGUSR2). */
async function probe(pid: number, file: string): Promise<{ before: Probe; after: Probe } | undefined> {
  process.kill(pid, 'SIGUSR2');
  // A heap snapshot of a few hundred MB takes a while to write.
  for (let i = 0; i < 240; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) return JSON.parse(text) as { before: Probe; after: Probe };
  }
  return undefined;
}

function nodesConverged(kube: RunningKubeEmulator): boolean {
  const nodes = kube.store.list(findResource('', 'v1', 'nodes')!) as Array<{
    spec?: { podCIDR?: string };
    status?: { conditions?: Array<{ type: string; status: string }> };
  }>;
  return nodes.every(
    (n) =>
      n.spec?.podCIDR !== undefined &&
      n.status?.conditions?.find((c) => c.type === 'NetworkUnavailable')?.status === 'False',
  );
}

export interface RestOptions {
  nodes: number;
  passes: number;
  intervalS: number;
  images: number;
  timeScale: number;
  runtime: Runtime;
  /** Also write the child's heap snapshot (after the GC of the probe) to this file. */
  heapSnapshot?: string;
}

export interface RestResult {
  row: Record<string, string | number>;
  kubePerPass: Counts;
  cloudPerPass: Counts;
  /** Lease calls over the rest window, by verb. */
  lease: Counts;
  /** Warning and error log lines of the controller (the whole run), by message. */
  warnings: Counts;
  heap?: { before: Probe; after: Probe };
}

export async function atRest(kind: ProviderKind, o: RestOptions): Promise<RestResult> {
  useDummyCredentials('routesync-k8s-rest');
  const cloud: RunningEmulator = await startEmulator(EMULATORS[kind], {
    profile: 'realistic',
    timeScale: o.timeScale,
    instances: o.nodes,
    routeQuota: o.nodes * 2 + 100,
    instanceTag: TEST_TAG,
  });
  const state = await (await fetch(`${cloud.url}/_emulator/state`)).json();
  const kube = await startKubeEmulator({ tokens: [TOKEN], nodes: seedsFromCloudState(kind, state) });
  addImages(kube, o.images);
  const dir = await mkdtemp(join(tmpdir(), 'bench-k8s-rest-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kube.kubeconfig({ token: TOKEN, namespace: NAMESPACE }));
  const cfg = join(dir, 'routesync.yaml');
  await writeFile(
    cfg,
    stringify(
      emulatorConfigDoc(kind, cloud.url, {
        clusterCIDR: CLUSTER_CIDR,
        subnetLen: 24,
        inventory: { source: 'kubernetes' },
        store: { type: 'kubernetes' },
        kubernetes: { kubeconfig, namespace: NAMESPACE, podCIDR: 'allocate' },
        metrics: { listen: '127.0.0.1:0' },
        reconcile: { interval: `${o.intervalS}s`, debounce: '1s' },
        log: { level: 'info' },
        provider: scaledPacing(kind, o.timeScale),
      }),
    ),
  );
  const env = childEnv(o.runtime, dir);
  if (o.heapSnapshot) env.ROUTESYNC_HEAP_SNAPSHOT = o.heapSnapshot;
  const child = spawn(process.execPath, ['bin/routesync.js', 'run', '-c', cfg, '--log-format', 'json'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
  });
  const passes: PassLine[] = [];
  /** The controller's warnings and errors, by message: at rest there should be none. */
  const warnings = new Map<string, number>();
  let tail = '';
  let buf = '';
  child.stderr.on('data', (b: Buffer) => {
    buf += b.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      tail = `${tail}\n${line}`.slice(-4000);
      try {
        const j = JSON.parse(line) as PassLine & { msg?: string; level?: number };
        if (j.msg === 'reconcile pass done') passes.push({ ...j, t: Date.now() });
        else if ((j.level ?? 0) >= 40) warnings.set(j.msg ?? '', (warnings.get(j.msg ?? '') ?? 0) + 1);
      } catch {
        // not a log line of ours
      }
    }
  });
  const pid = child.pid as number;
  const alive = () => {
    if (child.exitCode !== null)
      throw new Error(`controller exited ${child.exitCode}: ${tail.trim().split('\n').pop()}`);
  };
  const t0 = performance.now();
  try {
    let peak = 0;
    let peakSockets = 0;
    await until(
      'converged',
      async () => {
        alive();
        peak = Math.max(peak, await rssMB(pid));
        peakSockets = Math.max(peakSockets, await openSockets(pid));
        const last = passes.at(-1);
        return last?.converged === true && last.changes === 0 && nodesConverged(kube);
      },
      MAX_CONVERGE_S * 1000,
      250,
    );
    const convergedS = (performance.now() - t0) / 1000;
    // The reports of the last passes (NetworkUnavailable patches) signal a follow-up pass: at rest from the
    // next full pass on. Then K full passes, one per reconcile.interval; a pass in between (signalled by a
    // Node change) is counted as "signalled" — at rest there should be none.
    const fulls = () => passes.filter((p) => p.full).length;
    const settled = fulls();
    await until(
      'a full pass after convergence',
      () => {
        alive();
        return fulls() > settled;
      },
      MAX_CONVERGE_S * 1000,
      100,
    );
    const from = passes.length;
    const fullFrom = fulls();
    const kubeBefore = countsOf(kube.counters.snapshot().byAction);
    const cloudBefore = countsOf(cloud.counters.snapshot().byAction);
    const tRest = Date.now();
    let restPeak = 0;
    await until(
      'passes at rest',
      async () => {
        alive();
        restPeak = Math.max(restPeak, await rssMB(pid));
        return fulls() >= fullFrom + o.passes;
      },
      MAX_CONVERGE_S * 1000,
      250,
    );
    const secs = (Date.now() - tRest) / 1000;
    const window = passes.slice(from);
    const kubeD = diff(countsOf(kube.counters.snapshot().byAction), kubeBefore);
    const cloudD = diff(countsOf(cloud.counters.snapshot().byAction), cloudBefore);
    const endRss = await rssMB(pid);
    const restSockets = await openSockets(pid);
    const heap = await probe(pid, env.ROUTESYNC_RSS_PROBE as string);
    const isLease = (a: string) => a.endsWith(':leases');
    const perPass = (c: Counts, keep: (a: string) => boolean) =>
      Object.fromEntries(Object.entries(c).flatMap(([a, n]) => (keep(a) ? [[a, n / o.passes]] : [])));
    const kubePerPass = perPass(kubeD, (a) => !isLease(a));
    const cloudPerPass = perPass(cloudD, () => true);
    const sum = (c: Counts) => Object.values(c).reduce((a, b) => a + b, 0);
    const kubeWrites = Object.entries(kubePerPass)
      .filter(([a]) => !/^(get|list|watch|discovery)(:|$)/.test(a))
      .reduce((k, [, v]) => k + v, 0);
    const leaseCalls = Object.entries(kubeD)
      .filter(([a]) => isLease(a))
      .reduce((k, [, v]) => k + v, 0);
    const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
    const row: Record<string, string | number> = {
      cloud: kind,
      nodes: o.nodes,
      images: o.images,
      passes: o.passes,
      'converged s': convergedS.toFixed(1),
      'rest s': secs.toFixed(1),
      'signalled passes': window.filter((p) => !p.full).length,
      'pass ms p50': median(window.map((p) => p.ms)).toFixed(0),
      'kube calls/pass': fmt(sum(kubePerPass)),
      'Node lists/pass': fmt(kubePerPass['list:nodes'] ?? 0),
      'kube writes/pass': fmt(kubeWrites),
      'Lease calls/s': (leaseCalls / secs).toFixed(2),
      'cloud calls/pass': fmt(sum(cloudPerPass)),
      'sockets peak/rest': `${peakSockets}/${restSockets}`,
      'peak RSS MB': Math.max(peak, restPeak).toFixed(0),
      'rest RSS MB': Math.max(restPeak, endRss).toFixed(0),
      'heap used MB': heap ? heap.before.heapUsed.toFixed(0) : 'n/a',
      'live heap MB': heap ? heap.after.heapUsed.toFixed(0) : 'n/a',
    };
    const lease = Object.fromEntries(Object.entries(kubeD).filter(([a]) => isLease(a)));
    return { row, kubePerPass, cloudPerPass, lease, warnings: Object.fromEntries(warnings), ...(heap ? { heap } : {}) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    await kube.close();
    await cloud.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const perPassText = (c: Counts) =>
  Object.entries(c)
    .sort()
    .map(([a, n]) => `${a} ${Number.isInteger(n) ? n : n.toFixed(1)}`)
    .join(', ') || 'none';

if (import.meta.main) {
  const f = benchFlags(
    'kubernetes-rest',
    'node bench/kubernetes-rest.ts [flags]: `routesync run` in Kubernetes mode at rest: API calls per pass and RSS',
    {
      clouds: { help: 'clouds, comma-separated', default: [...PROVIDER_KINDS], read: clouds },
      nodes: { help: 'Nodes (one VM each)', default: 1000, read: int(1, 4000) },
      passes: { help: 'full passes at rest to count over', default: 5, read: int(1, 100) },
      interval: { help: 'reconcile.interval in seconds (a full pass each)', default: 5, read: int(1, 300) },
      images: { help: 'container images per Node in status.images', default: 50, read: int(0, 200) },
      timeScale: { help: 'the cloud emulator: emulated ms per real ms', default: 50, read: num(0, undefined, true) },
      runtime: {
        help: 'container (the image ENV) or bare',
        default: 'container' as Runtime,
        read: oneOf<Runtime>(['container', 'bare']),
      },
      heapSnapshot: {
        help: 'write the controller heap snapshot to this file (one cloud; see bench/heap-summary.ts)',
        default: '',
        read: text,
        shown: 'none',
      },
    },
  );
  const rows = [];
  const details: string[] = [];
  for (const kind of f.clouds) {
    let r: RestResult;
    try {
      r = await atRest(kind, {
        nodes: f.nodes,
        passes: f.passes,
        intervalS: f.interval,
        images: f.images,
        timeScale: f.timeScale,
        runtime: f.runtime,
        ...(f.heapSnapshot ? { heapSnapshot: f.heapSnapshot } : {}),
      });
    } catch (e) {
      // One cloud's failure is its row's, not the run's.
      details.push(`${kind}: FAILED: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    rows.push(r.row);
    details.push(`${kind}: Kubernetes API per pass (not Lease): ${perPassText(r.kubePerPass)}`);
    details.push(`${kind}: cloud API per pass: ${perPassText(r.cloudPerPass)}`);
    details.push(`${kind}: Lease calls in the ${f.passes} passes: ${perPassText(r.lease)}`);
    details.push(`${kind}: controller warnings/errors (whole run): ${perPassText(r.warnings)}`);
    if (r.heap) details.push(`${kind}: heap probe ${JSON.stringify(r.heap)}`);
  }
  process.stdout.write(`${table(rows)}\n\n${details.join('\n')}\n`);
  process.exit(0);
}
