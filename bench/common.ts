// What the benchmarks share: a cloud emulator on its realistic profile (time-scaled, quota raised to fit)
// with the real provider in front of it, a convergence loop, request-log summaries and the bounds the
// emulator's own limits allow. Figures only: nothing here asserts.
import { startEmulator, type RunningEmulator } from '../providers/emulator/server.ts';
import { createProvider, EMULATORS } from '../providers/registry.ts';
import type { CloudProvider, ProviderKind } from '../providers/types.ts';
import { systemClock } from '../src/clock.ts';
import { validateConfig, type Config } from '../src/config.ts';
import { silentLogger } from '../src/log.ts';
import { reconcileOnce, type PassMemory, type PassReport } from '../src/reconcile.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import type { Store } from '../src/store/types.ts';
import { emulatorConfigDoc, TEST_TAG, useDummyCredentials } from '../test/helpers/clouds.ts';

export const WRITE = /^(Create|Delete|Replace|Modify)|\.(insert|delete|patch)$|insert|delete/i;

export interface Flags {
  sizes: number[];
  clouds: ProviderKind[];
  timeScale: number;
}

/** `--sizes 100,1000 --clouds aws,gce --time-scale 50`. */
export function parseFlags(argv: string[], defaults: Flags): Flags {
  const f = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const [k, inline] = (argv[i] as string).split('=', 2) as [string, string | undefined];
    const v = inline ?? argv[++i];
    if (v === undefined) throw new Error(`${k}: needs a value`);
    if (k === '--sizes') f.sizes = v.split(',').map((s) => Number(s));
    else if (k === '--clouds') f.clouds = v.split(',') as ProviderKind[];
    else if (k === '--time-scale') f.timeScale = Number(v);
    else throw new Error(`unknown flag ${k} (use --sizes, --clouds, --time-scale)`);
  }
  if (f.sizes.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error('--sizes: positive integers, e.g. 100,1000');
  if (f.clouds.some((c) => !['aliyun', 'aws', 'gce'].includes(c))) throw new Error('--clouds: aliyun, aws, gce');
  if (!(f.timeScale > 0)) throw new Error('--time-scale: a positive number');
  return f;
}

export interface BenchCloud {
  kind: ProviderKind;
  emu: RunningEmulator;
  config: Config;
  provider: CloudProvider;
  store: Store;
  memory: PassMemory;
  timeScale: number;
  pass(): Promise<PassReport>;
  close(): Promise<void>;
}

export async function startBenchCloud(
  kind: ProviderKind,
  opts: { instances: number; timeScale: number; client?: string; profile?: 'realistic' | 'fast'; config?: Record<string, unknown> },
): Promise<BenchCloud> {
  useDummyCredentials(opts.client ?? 'routesync-bench');
  const emu = await startEmulator(EMULATORS[kind], {
    profile: opts.profile ?? 'realistic',
    timeScale: opts.timeScale,
    instances: opts.instances,
    // Raised to fit: the quota is not what these figures measure.
    routeQuota: opts.instances * 2 + 100,
    instanceTag: TEST_TAG,
  });
  // A /12 holds 4,096 /24s; 5,000 VMs need /26s.
  const config = validateConfig(emulatorConfigDoc(kind, emu.url, { clusterCIDR: '172.16.0.0/12', subnetLen: 26, ...opts.config }));
  // The provider waits in the emulator's time (backoff, polling, settle), so the figures measure the
  // controller against the cloud's limits, not real-time sleeps against a 50× faster cloud.
  const provider = createProvider(config.provider, { cluster: config.cluster, clusterCIDR: config.clusterCIDR, logger: silentLogger, timeScale: opts.timeScale });
  const store = createMemoryStore();
  const memory: PassMemory = { quotaExceeded: new Set() };
  return {
    kind,
    emu,
    config,
    provider,
    store,
    memory,
    timeScale: opts.timeScale,
    pass: () =>
      reconcileOnce(
        { config, provider, store, logger: silentLogger, clock: systemClock, signal: new AbortController().signal, fence: () => {} },
        memory,
        { full: true },
      ),
    async close() {
      await provider.close();
      await emu.close();
    },
  };
}

/** Passes until converged (the controller would run these back to back on change signals). */
export async function converge(c: BenchCloud, maxPasses = 50): Promise<{ passes: number; converged: boolean; last: PassReport }> {
  let last = await c.pass();
  let passes = 1;
  while (!last.converged && passes < maxPasses) {
    last = await c.pass();
    passes++;
  }
  return { passes, converged: last.converged, last };
}

export interface CallSummary {
  total: number;
  reads: number;
  writes: number;
  /** Write calls that did not apply anything: throttled, conflict/busy, duplicate, 409. */
  wastedWrites: number;
  byAction: Record<string, number>;
}

export function summarize(emu: RunningEmulator): CallSummary {
  const snap = emu.counters.snapshot();
  const out: CallSummary = { total: snap.total, reads: 0, writes: 0, wastedWrites: 0, byAction: {} };
  for (const [action, outcomes] of Object.entries(snap.byAction)) {
    const n = Object.values(outcomes).reduce((a, b) => a + b, 0);
    out.byAction[action] = n;
    if (WRITE.test(action)) {
      out.writes += n;
      out.wastedWrites += n - (outcomes.ok ?? 0);
    } else out.reads += n;
  }
  return out;
}

/**
 * The fastest the emulator's own limits allow for creating `routes` route entries spread over `tables`
 * tables (emulated seconds), per cloud: AWS: one CreateRoute per route, mutating bucket 50 burst, 5/s;
 * Aliyun: batches of 50 entries, one 1 s task per table at a time, write bucket 10 burst 5/s, entries settle
 * in 2–5 s; GCE: one insert per route, 1,500 writes/min per project, operations done 5–20 s after insert.
 */
export function boundSeconds(kind: ProviderKind, routes: number, tables: number): number {
  switch (kind) {
    case 'aws':
      return Math.max(0.15, (routes - 50) / 5);
    case 'aliyun': {
      const tasksPerTable = Math.ceil(routes / tables / 50);
      return Math.max(tasksPerTable * 1, (tasksPerTable * tables - 10) / 5) + 5;
    }
    case 'gce':
      return Math.max(0, (routes - 1500) / 25) + 20;
  }
}

export function table(rows: Array<Record<string, string | number>>): string {
  if (rows.length === 0) return '(no rows)';
  const cols = Object.keys(rows[0] as object);
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (vals: string[]) => `| ${vals.map((v, i) => v.padEnd(w[i] as number)).join(' | ')} |`;
  return [line(cols), line(w.map((n) => '-'.repeat(n))), ...rows.map((r) => line(cols.map((c) => String(r[c] ?? ''))))].join('\n');
}

export function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}
