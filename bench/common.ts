// What the benchmarks share: a cloud emulator on its realistic profile (time-scaled, quota raised to fit)
// with the real provider in front of it, a convergence loop, request-log summaries and the bounds the
// emulator's own limits allow. Figures only: nothing here asserts.
import { PROFILES as ALIYUN_PROFILES } from '../emulators/aliyun/profile.ts';
import { PROFILES as AWS_PROFILES } from '../emulators/aws/profile.ts';
import { PROFILES as GCE_PROFILES } from '../emulators/gce/profile.ts';
import type { Profile } from '../emulators/shared/profile.ts';
import { startEmulator, type RunningEmulator } from '../emulators/shared/server.ts';
import { EMULATORS } from '../emulators/clouds.ts';
import { loadProvider } from '../providers/plugins.ts';
import type { CloudAdapter } from '../providers/types.ts';
import type { ProviderKind } from '../providers/plugins.ts';
import { systemClock } from '../src/lib/clock.ts';
import { validateConfig, type Config } from '../src/config.ts';
import { silentLogger } from '../src/log.ts';
import { reconcileOnce, type PassMemory, type PassReport } from '../src/reconcile.ts';
import { createMemoryStore } from '../src/store/memory/store.ts';
import type { Store } from '../src/store/types.ts';
import { emulatorConfigDoc, TEST_TAG, useDummyCredentials } from '../testkit/clouds.ts';
import { cloudInventory } from '../src/inventory/cloud.ts';

export const WRITE = /^(Create|Delete|Replace|Modify)|\.(insert|delete|patch)$|insert|delete/i;

export interface BenchCloud {
  kind: ProviderKind;
  emu: RunningEmulator;
  config: Config;
  provider: CloudAdapter;
  store: Store;
  memory: PassMemory;
  timeScale: number;
  pass(): Promise<PassReport>;
  close(): Promise<void>;
}

export async function startBenchCloud(
  kind: ProviderKind,
  opts: {
    instances: number;
    timeScale: number;
    client?: string;
    profile?: 'realistic' | 'fast';
    config?: Record<string, unknown>;
  },
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
  const config = validateConfig(
    emulatorConfigDoc(kind, emu.url, { clusterCIDR: '172.16.0.0/12', subnetLen: 26, ...opts.config }),
  );
  // The provider waits in the emulator's time (backoff, polling, settle), so the figures measure the
  // controller against the cloud's limits, not real-time sleeps against a 50× faster cloud.
  const provider = await loadProvider(config.provider, {
    cluster: config.cluster,
    clusterCIDR: config.clusterCIDR,
    logger: silentLogger,
    timeScale: opts.timeScale,
  });
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
        {
          config,
          provider,
          inventory: cloudInventory(provider),
          store,
          logger: silentLogger,
          clock: systemClock,
          signal: new AbortController().signal,
          fence: () => {},
        },
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
export async function converge(
  c: BenchCloud,
  maxPasses = 50,
): Promise<{ passes: number; converged: boolean; last: PassReport }> {
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

/** Where a bound's numbers come from, for BENCHMARKS.md. */
export interface Bound {
  seconds: number;
  /** The binding term, e.g. "settle chain" or "CreateRoute bucket". */
  limitedBy: string;
}

/** Emulated seconds at which the i-th request (0-based) can take a token from a full bucket. */
function bucketTime(i: number, capacity: number, perSecond: number): number {
  return Math.max(0, (i + 1 - capacity) / perSecond);
}

/** E[max of m draws of min + U(0,1)·spread] = min + spread·m/(m+1). */
function expectedMaxUniform(m: number, minMs: number, spreadMs: number): number {
  return minMs + (spreadMs * m) / (m + 1);
}

/**
 * E[max_i (t_i + D_i)], D_i ~ U(lo, hi) independent: ∫ (1 − Π_i F(x − t_i)) dx, on a 10 ms grid. Exact up
 * to the grid; cheap for 10,000 terms because only the issue times within (x − hi, x − lo] contribute a
 * factor below 1.
 */
function expectedLastDone(issueS: number[], loS: number, hiS: number): number {
  const t = [...issueS].sort((a, b) => a - b);
  const last = t[t.length - 1] ?? 0;
  const step = 0.01;
  let e = (t[0] ?? 0) + loS; // max ≥ every t_i + lo for sure
  for (let x = e; x < last + hiS; x += step) {
    let p = 1;
    for (let i = t.length - 1; i >= 0; i--) {
      const d = x - (t[i] as number);
      if (d >= hiS) break; // sorted: every earlier request is surely done
      p *= d <= loS ? 0 : (d - loS) / (hiS - loS);
      if (p === 0) break;
    }
    e += (1 - p) * step;
  }
  return e;
}

/**
 * The fastest the emulator's own limits allow for creating one route per VM in each of `tables` tables,
 * from empty, in emulated seconds, on `profile` (default realistic: the one the benches run). The numbers are
 * the emulators' own profiles (emulators/<cloud>/profile.ts), imported, so a profile changed there moves the
 * bound with it. A client that knew exactly when each limit lifts could reach it; request latency (≤ 0.4 s
 * per call) is ignored. Per cloud:
 *
 * - AWS (`mutatingBucket`, one bucket per action): mutating actions 50 burst + 5/s. CreateRoute needs
 *   vms × tables tokens and ModifyNetworkInterfaceAttribute (source/dest check, per primary ENI) vms tokens, each from its own bucket,
 *   so they run side by side: max((vms·tables − 50)/5, (vms − 50)/5).
 * - Aliyun (`batchMax`, `taskMs`, `settle`, `perMinute`; emulator `busy()`): batches of 50 entries; a
 *   table refuses a new task (TaskConflict / IncorrectRouteEntryStatus) until its last task's `taskMs` (1 s)
 *   has passed AND every entry it created has left Pending, each after U(settle) (2–5 s): a 50-entry task
 *   blocks its table for E[max of 50] ≈ 4.94 s. A batch is also refused (OperationConflict) while another
 *   table's task runs, so tasks across tables start ≥ taskMs apart. `perMinute`: CreateRouteEntries 300 per main
 *   account per 60 s window. Bound = max(per-table settle chain + (tables − 1) · taskMs stagger, all tasks ×
 *   taskMs, the minute windows the calls need).
 * - GCE (`rateQuotaPerMinute`, `operationDone`; emulator `rateGroup`, `MinuteWindow`): inserts count
 *   against the `default` group, 1,500 per clock-minute window (reset at the minute's turn); each operation
 *   is DONE 5–20 s (uniform) after its insert; at least one `globalOperations.wait` per operation from the
 *   `operation_read_requests` group, 1,500 per window, issued no earlier than its insert. The windows are
 *   taken to turn every 60 s from the first insert (the bench's pass starts near the emulator's start, where
 *   its minutes count from), so request i goes at ⌊i / 1,500⌋ minutes.
 *   Bound = E[max_i (max(insert_i, wait_i) + done_i)].
 */
export function bound(kind: ProviderKind, vms: number, tables: number, profile: Profile = 'realistic'): Bound {
  switch (kind) {
    case 'aws': {
      const b = AWS_PROFILES[profile].mutatingBucket;
      const create = bucketTime(vms * tables - 1, b.capacity, b.perSecond);
      const modify = bucketTime(vms - 1, b.capacity, b.perSecond);
      return create >= modify
        ? { seconds: create, limitedBy: 'CreateRoute bucket' }
        : { seconds: modify, limitedBy: 'ModifyNetworkInterfaceAttribute bucket' };
    }
    case 'aliyun': {
      const p = ALIYUN_PROFILES[profile];
      const perTable = Math.ceil(vms / p.batchMax);
      let chainMs = 0;
      for (let k = 0; k < perTable; k++) {
        const m = Math.min(p.batchMax, vms - k * p.batchMax);
        chainMs += Math.max(p.taskMs, expectedMaxUniform(m, p.settle.minMs, p.settle.maxMs - p.settle.minMs));
      }
      const tasks = perTable * tables;
      const chain = (chainMs + (tables - 1) * p.taskMs) / 1000;
      const serial = (tasks * p.taskMs) / 1000;
      // CreateRouteEntries calls per main account per 60 s window: call k waits for window floor(k / limit).
      const perMinute = p.perMinute.byAction.CreateRouteEntries ?? p.perMinute.writes;
      const window = Math.floor((tasks - 1) / perMinute) * 60;
      const s = Math.max(chain, serial, window);
      return {
        seconds: s,
        limitedBy:
          s === chain
            ? 'settle chain per table'
            : s === serial
              ? 'one task per VPC per taskMs'
              : 'CreateRouteEntries per-minute window',
      };
    }
    case 'gce': {
      const p = GCE_PROFILES[profile];
      const inserts = perMinuteWindow(p.rateQuotaPerMinute.default);
      const waits = perMinuteWindow(p.rateQuotaPerMinute.operation_read_requests);
      const routes = vms * tables;
      const issue: number[] = [];
      // A wait can be sent the moment its insert is, and not before.
      for (let i = 0; i < routes; i++) issue.push(Math.max(inserts(i), waits(i)));
      const s = expectedLastDone(issue, p.operationDone.minMs / 1000, p.operationDone.maxMs / 1000);
      const writes = inserts(routes - 1);
      return {
        seconds: s,
        limitedBy: writes > 0 ? 'insert + operation-read minute windows, then completion' : 'operation completion',
      };
    }
  }
}

/** GCE's rate groups as the emulator plays them: `perMinute` requests in each minute, the i-th in minute ⌊i/perMinute⌋. */
function perMinuteWindow(perMinute: number): (i: number) => number {
  return (i) => Math.floor(i / perMinute) * 60;
}

/** Emulated seconds of `bound` (kept for callers that only want the number). */
export function boundSeconds(kind: ProviderKind, vms: number, tables: number): number {
  return bound(kind, vms, tables).seconds;
}

export function table(rows: Array<Record<string, string | number>>): string {
  if (rows.length === 0) return '(no rows)';
  const cols = Object.keys(rows[0] as object);
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (vals: string[]) => `| ${vals.map((v, i) => v.padEnd(w[i] as number)).join(' | ')} |`;
  return [
    line(cols),
    line(w.map((n) => '-'.repeat(n))),
    ...rows.map((r) => line(cols.map((c) => String(r[c] ?? '')))),
  ].join('\n');
}

export function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}
