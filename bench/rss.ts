// Controller memory in a process of its own: `routesync run` (child, file store) against an emulator in this
// process; VmRSS of the child sampled from /proc until every VM's route is in every table, then over a few
// steady resync passes. `node bench/rss.ts --sizes 5000 --clouds aws [--runtime container,bare]`.
// `container` (the default) starts the child with the environment the image gives it (the runtime stage's
// ENV in the Dockerfile: V8 young-generation cap, malloc arenas, a compile cache warmed the way the image
// build warms it); `bare` is plain `node bin/routesync.js` as `npx routesync` starts it.
// After the RSS samples, bench/rss-probe.ts (preloaded into the child) reports its V8 heap before and after
// a full GC: `heapMB` (used) and `liveHeapMB` (what survives), the figures a heap limit is sized from.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { startEmulator } from '../emulators/shared/server.ts';
import { EMULATORS } from '../emulators/clouds.ts';
import type { ProviderKind } from '../providers/plugins.ts';
import { emulatorConfigDoc, scaledPacing, TEST_TAG, TOPOLOGY, useDummyCredentials } from '../testkit/clouds.ts';
import { contains, parseCidr } from '../src/lib/cidr.ts';
import { table } from './common.ts';
import { benchFlags, sizesCloudsScale, someOf } from './flags.ts';

const STEADY_S = 20;
const CLUSTER_CIDR = '172.16.0.0/12';
// Rendering every table's state costs the emulator (this process, sharing the cores) more than RSS sampling.
const COUNT_EVERY_MS = 1000;
const MAX_CONVERGE_S = Number(process.env.BENCH_ROW_TIMEOUT_S ?? 600);

export async function rssMB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!m) throw new Error(`/proc/${pid}/status has no VmRSS`);
  return Number(m[1]) / 1024;
}

export type Runtime = 'container' | 'bare';

/** `ENV` of the Dockerfile's last stage (the image the controller runs in), continuations joined. */
export function containerEnv(dockerfile: string): Record<string, string> {
  const lines: string[] = [];
  let buf = '';
  for (const raw of dockerfile.split(/\r?\n/)) {
    const t = raw.trim();
    if (t.startsWith('#') || t === '') continue;
    if (t.endsWith('\\')) {
      buf += `${t.slice(0, -1).trim()} `;
      continue;
    }
    lines.push(buf + t);
    buf = '';
  }
  const lastFrom = lines.findLastIndex((l) => /^FROM\s/i.test(l));
  const env: Record<string, string> = {};
  for (const l of lines.slice(lastFrom + 1)) {
    const m = /^ENV\s+(.*)$/i.exec(l);
    if (!m) continue;
    for (const kv of (m[1] as string).matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
      const v = kv[2] as string;
      env[kv[1] as string] = v.startsWith('"') ? (JSON.parse(v) as string) : v;
    }
  }
  return env;
}

/** The child's environment; a compile cache goes to `dir` and is filled as the image build fills it. */
export function childEnv(runtime: Runtime, dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv =
    runtime === 'bare'
      ? { ...process.env }
      : { ...process.env, ...containerEnv(readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8')) };
  // Before warming: the probe's stripped source must be in the cache too, or the child would load the
  // TypeScript stripper for it alone (~15 MB the image never spends).
  env.NODE_OPTIONS =
    `${env.NODE_OPTIONS ?? ''} --import ${fileURLToPath(new URL('./rss-probe.ts', import.meta.url))}`.trim();
  if (runtime === 'container' && env.NODE_COMPILE_CACHE !== undefined) {
    env.NODE_COMPILE_CACHE = join(dir, 'compile-cache');
    const warm = spawnSync(process.execPath, ['bin/routesync.js', '--help'], { env, stdio: 'ignore' });
    if (warm.status !== 0) throw new Error(`warming the compile cache: exit ${warm.status}`);
  }
  env.ROUTESYNC_RSS_PROBE = join(dir, 'heap.json');
  return env;
}

/** Our routes in the emulator's tables: an instance target and a destination inside the cluster CIDR. */
export function countOurRoutes(state: unknown, clusterCIDR: string): number {
  const cluster = parseCidr(clusterCIDR);
  const s = state as { tables?: Array<{ routes?: Array<{ destination?: string; target?: string | null }> }> };
  if (!Array.isArray(s.tables)) throw new Error('/_emulator/state has no tables[]');
  let n = 0;
  for (const t of s.tables) {
    for (const r of t.routes ?? []) {
      if (!r.target || !r.destination || r.destination.includes(':')) continue;
      if (contains(cluster, parseCidr(r.destination))) n++;
    }
  }
  return n;
}

async function routesIn(url: string): Promise<number> {
  const r = await fetch(`${url}/_emulator/state`);
  if (!r.ok) throw new Error(`/_emulator/state: HTTP ${r.status}`);
  return countOurRoutes(await r.json(), CLUSTER_CIDR);
}

/** The child's heap before and after a full GC (bench/rss-probe.ts); n/a when the probe did not answer. */
async function heapOf(child: ReturnType<typeof spawn>, file: string): Promise<{ heapMB: string; liveHeapMB: string }> {
  child.kill('SIGUSR2');
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const h = JSON.parse(text) as { before: { heapUsed: number }; after: { heapUsed: number } };
    return { heapMB: h.before.heapUsed.toFixed(0), liveHeapMB: h.after.heapUsed.toFixed(0) };
  }
  return { heapMB: 'n/a', liveHeapMB: 'n/a' };
}

export async function controllerRss(
  kind: ProviderKind,
  vms: number,
  timeScale: number,
  runtime: Runtime = 'container',
): Promise<Record<string, string | number>> {
  useDummyCredentials('routesync-rss');
  const emu = await startEmulator(EMULATORS[kind], {
    profile: 'realistic',
    timeScale,
    instances: vms,
    routeQuota: vms * 2 + 100,
    instanceTag: TEST_TAG,
  });
  const dir = await mkdtemp(join(tmpdir(), 'routesync-rss-'));
  const cfg = join(dir, 'routesync.yaml');
  await writeFile(
    cfg,
    stringify(
      emulatorConfigDoc(kind, emu.url, {
        clusterCIDR: CLUSTER_CIDR,
        subnetLen: 26,
        store: { type: 'file', path: join(dir, 'state.json') },
        metrics: { listen: '127.0.0.1:0' },
        reconcile: { interval: '5s' },
        log: { level: 'warn' },
        provider: scaledPacing(kind, timeScale),
      }),
    ),
  );
  const env = childEnv(runtime, dir);
  const child = spawn(process.execPath, ['bin/routesync.js', 'run', '-c', cfg], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => void (stderr = (stderr + b.toString()).slice(-4000)));
  const pid = child.pid as number;
  const want = vms * TOPOLOGY[kind].tables.length;
  let peak = 0;
  const t0 = performance.now();
  try {
    let routes = 0;
    let countedAt = Number.NEGATIVE_INFINITY;
    while (routes < want) {
      if (child.exitCode !== null)
        throw new Error(`controller exited ${child.exitCode}: ${stderr.trim().split('\n').pop()}`);
      if ((performance.now() - t0) / 1000 > MAX_CONVERGE_S)
        throw new Error(`not converged after ${MAX_CONVERGE_S}s (${routes}/${want})`);
      peak = Math.max(peak, await rssMB(pid));
      await new Promise((r) => setTimeout(r, 250));
      if (performance.now() - countedAt >= COUNT_EVERY_MS) {
        countedAt = performance.now();
        routes = await routesIn(emu.url);
      }
    }
    const convergedS = (performance.now() - t0) / 1000;
    let steadyPeak = 0;
    for (let i = 0; i < STEADY_S * 4; i++) {
      steadyPeak = Math.max(steadyPeak, await rssMB(pid));
      await new Promise((r) => setTimeout(r, 250));
    }
    const end = await rssMB(pid);
    steadyPeak = Math.max(steadyPeak, end);
    peak = Math.max(peak, steadyPeak);
    const endRssMB = end.toFixed(0);
    const heap = await heapOf(child, env.ROUTESYNC_RSS_PROBE as string);
    return {
      cloud: kind,
      vms,
      runtime,
      convergedWallS: convergedS.toFixed(1),
      peakRssMB: peak.toFixed(0),
      steadyRssMB: steadyPeak.toFixed(0),
      endRssMB,
      ...heap,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await emu.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const f = benchFlags(
    'rss',
    'node bench/rss.ts [flags]: VmRSS of a `routesync run` child until converged, then steady',
    {
      ...sizesCloudsScale({ sizes: [5000], clouds: ['aws'], timeScale: 50 }),
      runtime: {
        help: 'container (the image ENV) and/or bare, comma-separated',
        default: ['container'] as Runtime[],
        read: someOf<Runtime>(['container', 'bare']),
      },
    },
  );
  const rows = [];
  for (const kind of f.clouds)
    for (const n of f.sizes) for (const rt of f.runtime) rows.push(await controllerRss(kind, n, f.timeScale, rt));
  process.stdout.write(`${table(rows)}\n`);
  process.exit(0);
}
