// What the benchmarks share: a cloud emulator on its realistic profile (time-scaled, quota raised to fit)
// with the real provider in front of it, a convergence loop, request-log summaries and the bounds the
// emulator's own limits allow. Figures only: nothing here asserts.
import type { Bound } from '../emulators/shared/bound.ts';
import type { Profile } from '../emulators/shared/profile.ts';
import { startEmulator, type RunningEmulator } from '../emulators/shared/server.ts';
import { EMULATOR_PLUGINS, EMULATORS } from '../emulators/clouds.ts';
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

export type { Bound } from '../emulators/shared/bound.ts';

/**
 * The fastest the emulator's own limits allow for creating one route per VM in each of `tables` tables,
 * from empty, in emulated seconds, on `profile` (default realistic: the one the benches run). Each cloud's
 * is its emulator's (emulators/<cloud>/bound.ts, from its profile data, which says per cloud which limit
 * binds), so a profile changed there moves the bound with it. A client that knew exactly when each limit
 * lifts could reach it; request latency (≤ 0.4 s per call) is ignored.
 */
export function bound(kind: ProviderKind, vms: number, tables: number, profile: Profile = 'realistic'): Bound {
  return EMULATOR_PLUGINS[kind].bound(vms, tables, profile);
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
