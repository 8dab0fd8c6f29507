// The bounded chaos run (`npm run chaos`): two `routesync run` processes on one real etcd and one emulated
// cloud, under throttling, 5xx, timeouts and connection resets, with the leader SIGKILLed three times
// mid-apply and SIGSTOPped once for 3× its lease (then resumed), etcd restarted once, ~10 % of the VMs
// churned per minute and foreign routes injected on the cluster CIDR, and a window of hostile paging on
// every listing (short, overlapping, endless, repeating pages).
// Then the faults stop and the tables must match the desired state within two resyncs.
// Prints I1–I6 with PASS/FAIL and the counts behind them; exits 1 on any failure.
//
//   node bench/chaos/run.ts [--provider aws|aliyun|gce] [--minutes 3] [--vms 60] [--seed 1] [--time-scale 5]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRng } from '../../emulators/shared/rng.ts';
import type { ProviderKind } from '../../providers/plugins.ts';
import { anyInt, benchFlags, cloud, int, num, type Spec } from '../flags.ts';
import { TOPOLOGY } from '../../testkit/clouds.ts';
import {
  churn,
  hostilePages,
  injectForeign,
  killLeader,
  newTally,
  stopLeader,
  type Stage,
  type Tally,
} from './acts.ts';
import {
  CLOUD_ACTIONS,
  checkI1,
  checkI2,
  checkI3,
  checkI4,
  checkI5,
  checkI6,
  checkDeposedWrites,
  frozenSends,
  formatResult,
  liveInstanceIds,
  type InvariantResult,
  withDeposed,
} from './invariants.ts';
import { Observers } from './observers.ts';
import { CLUSTER_CIDR, ChaosRig, ELECTION_TTL, INTERVAL_MS, SUBNET_LEN, TAG } from './rig.ts';
import { Deadline, Timeline } from './timeline.ts';

export interface ChaosOptions {
  provider: ProviderKind;
  minutes: number;
  vms: number;
  seed: number;
  /** Emulated ms per real ms: the realistic profile's latencies and limits, played faster. */
  timeScale: number;
  /** Lines of progress and the report. */
  out?: (line: string) => void;
}

export interface ChaosReport {
  results: InvariantResult[];
  pass: boolean;
  lines: string[];
  /** Controller logs; removed when the run passed. */
  dir: string;
}

/**
 * I4's margin: a write must fall within this of a poll naming its client as leader. It covers the poll
 * period (200 ms), a trusted poll's own uncertainty (≤ 250 ms), and the write's latency in the emulator
 * (≤ 180 emulated ms, logged when served, while the fence ran before it was sent).
 */
const I4_MARGIN_MS = 1000;
/** How long after its SIGCONT a resumed leader's writes are counted: every overdue timer has fired by then. */
const DEPOSED_WINDOW_MS = 5000;
// A send frozen mid-syscall by SIGSTOP reaches the cloud the moment the process is resumed: within a few ms.
const FROZEN_SEND_MS = 50;
/** After faults stop: two resyncs, plus time for the pass in flight (backoff ≤ one interval) to apply. */
const CONVERGE_LIMIT_MS = 2 * INTERVAL_MS + 5000;

// 30 % throttling, 5 % 5xx, 2 % timeouts, 2 % resets overall. The injector tries rules in order, so each
// later rate is conditional on the earlier rules not firing.
const FAULTS = [
  { rate: 0.3, error: 'throttle' },
  { rate: 0.05 / 0.7, error: '5xx' },
  { rate: 0.02 / 0.65, error: 'timeout' },
  { rate: 0.02 / 0.63, error: 'reset' },
];

export async function runChaos(
  o: ChaosOptions,
  stop: AbortSignal = new AbortController().signal,
): Promise<ChaosReport> {
  const time = new Timeline(stop, o.out);
  const dir = mkdtempSync(join(tmpdir(), 'routesync-chaos-'));
  const actions = CLOUD_ACTIONS[o.provider];
  const tables = TOPOLOGY[o.provider].tables;
  const burst = Math.max(3, Math.round(o.vms / 10));
  let rig: ChaosRig | undefined;
  let obs: Observers | undefined;
  try {
    // Room for every VM the run adds (bursts) and the foreign routes, so the quota is not the bottleneck;
    // I5 still proves it is never exceeded.
    rig = await ChaosRig.start({
      provider: o.provider,
      vms: o.vms,
      seed: o.seed,
      timeScale: o.timeScale,
      routeQuota: o.vms + 3 * burst + 15,
      dir,
    });
    time.step(
      `${o.provider} emulator (realistic ×${o.timeScale}) with ${o.vms} VMs at ${rig.emu.url}; etcd at ${rig.etcd.endpoints[0]}; logs in ${dir}`,
    );
    obs = new Observers(rig, actions, tables);
    const stage: Stage = { rig, obs, time, provider: o.provider, tables, burst };
    const tally = newTally();
    const faultsStoppedAt = await disrupt(stage, tally, o);
    const convergedAfterMs = await awaitConvergence(stage, tally.foreign, faultsStoppedAt);
    const results = await judge(stage, tally, convergedAfterMs);
    printSummary(time, o, rig, tally, results);
    const pass = results.every((r) => r.pass);
    writeFileSync(
      join(dir, 'collected.json'),
      JSON.stringify(
        {
          lines: time.lines,
          identityOf: rig.identities(),
          leaderSamples: obs.leaderSamples,
          log: rig.log,
          foreign: tally.foreign,
        },
        null,
        0,
      ),
    );
    time.say(pass ? 'chaos run: PASS' : `chaos run: FAIL (controller logs kept in ${dir})`);
    return { results, pass, lines: time.lines, dir };
  } catch (err) {
    if (err instanceof Deadline) time.step('hard deadline reached: stopping');
    else time.step(`chaos run aborted: ${(err as Error).stack ?? String(err)}`);
    return { results: [], pass: false, lines: time.lines, dir };
  } finally {
    await obs?.close();
    await rig?.close();
    if (time.lines.some((l) => l === 'chaos run: PASS')) rmSync(dir, { recursive: true, force: true });
  }
}

/** The schedule of the run, as fractions of its length; returns when the faults stopped. */
async function disrupt(s: Stage, tally: Tally, o: ChaosOptions): Promise<number> {
  const { rig, time } = s;
  rig.spawnController();
  rig.spawnController();
  await rig.admin('POST', 'faults', { rules: FAULTS });
  const start = Date.now();
  const end = start + Math.round(o.minutes * 60_000);
  const at = (fraction: number) => time.sleep(Math.max(0, start + fraction * (end - start) - Date.now()));
  time.step(`2 controllers started; faults on: ${FAULTS.map((f) => f.error).join(', ')} (30/5/2/2 %)`);
  const churning = churn(s, tally, seededRng(o.seed ^ 0xc4a05), o.vms, start, end);

  await killLeader(s, tally, 1, false);
  await at(0.15);
  await time.until(
    'allocations in etcd',
    async () => ((await s.obs.allocations()).instances.size >= o.vms / 2 ? true : undefined),
    20_000,
    250,
  );
  await injectForeign(s, tally);
  await at(0.2);
  await hostilePages(s, FAULTS, start + 0.38 * (end - start));
  await at(0.4);
  await killLeader(s, tally, 2, true);
  await at(0.55);
  time.step('etcd: restarting');
  await rig.etcd.restart();
  time.step('etcd: restarted');
  await at(0.7);
  await killLeader(s, tally, 3, true);
  await at(0.8);
  await stopLeader(s, tally, 1);
  await at(1);
  await churning;
  await rig.admin('DELETE', 'faults');
  time.step(
    `faults stopped; ${tally.churned} VMs churned; waiting up to ${CONVERGE_LIMIT_MS / 1000} s (two resyncs + apply) for the tables to match`,
  );
  return Date.now();
}

/** How long after the faults stopped I1 and I6 first held, if they did within the limit. */
async function awaitConvergence(
  s: Stage,
  foreign: Tally['foreign'],
  faultsStoppedAt: number,
): Promise<number | undefined> {
  let convergedAfterMs: number | undefined;
  await s.time.until(
    'convergence',
    async () => {
      const state = await s.obs.sample();
      const a = await s.obs.allocations();
      const live = liveInstanceIds(state, TAG);
      const ok =
        checkI1(a, live, CLUSTER_CIDR, SUBNET_LEN).pass &&
        checkI6(state, a, live, { clusterCIDR: CLUSTER_CIDR, tables: s.tables, foreign }).pass;
      if (ok) convergedAfterMs = Date.now() - faultsStoppedAt;
      return ok ? true : undefined;
    },
    CONVERGE_LIMIT_MS,
    250,
  );
  return convergedAfterMs;
}

async function judge(s: Stage, tally: Tally, convergedAfterMs: number | undefined): Promise<InvariantResult[]> {
  const { rig, obs } = s;
  const actions = CLOUD_ACTIONS[s.provider];
  const finalState = await obs.sample();
  const finalAlloc = await obs.allocations();
  const live = liveInstanceIds(finalState, TAG);
  await obs.stop();
  const writes = rig.log.filter((x) => x.mutating);
  const frozen = frozenSends(writes, tally.stops, FROZEN_SEND_MS);
  const results = [
    checkI1(finalAlloc, live, CLUSTER_CIDR, SUBNET_LEN),
    checkI2(tally.foreign, obs.snapshots),
    checkI3(rig.log, actions),
    withDeposed(
      checkI4(
        writes.filter((w) => !frozen.has(w)),
        obs.leaderSamples,
        rig.identities(),
        I4_MARGIN_MS,
      ),
      checkDeposedWrites(writes, tally.stops, DEPOSED_WINDOW_MS),
    ),
    checkI5(obs.quota, rig.log, actions),
    checkI6(finalState, finalAlloc, live, {
      clusterCIDR: CLUSTER_CIDR,
      tables: s.tables,
      foreign: tally.foreign,
      ...(convergedAfterMs !== undefined ? { convergedAfterMs } : { limitMs: CONVERGE_LIMIT_MS }),
    }),
  ];
  const total = rig.emu.counters.snapshot().total;
  if (rig.log.length !== total) {
    results[2] = {
      ...(results[2] as InvariantResult),
      pass: false,
      details: [`request log incomplete: ${rig.log.length} of ${total}`],
    };
  }
  return results;
}

function printSummary(time: Timeline, o: ChaosOptions, rig: ChaosRig, tally: Tally, results: InvariantResult[]): void {
  const failed = rig.log.filter((x) => x.outcome !== 'ok');
  const byOutcome = countBy(failed.map((x) => x.outcome));
  const top = Object.entries(byOutcome)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  time.say('');
  time.say(
    `chaos run: ${o.provider}, ${o.vms} VMs, ${o.minutes} min, seed ${o.seed}, realistic profile ×${o.timeScale}, interval ${INTERVAL_MS / 1000} s, electionTTL ${ELECTION_TTL}`,
  );
  time.say(
    `  requests: ${rig.log.length.toLocaleString('en-US')} served, ${failed.length.toLocaleString('en-US')} failed (${top})`,
  );
  time.say(
    `  controllers: ${rig.processes} processes (${tally.kills.length} leaders SIGKILLed, ${tally.stops.length} SIGSTOPped); ${tally.churned} VMs churned (+${tally.burstVms} added in bursts); ${tally.foreign.length} foreign routes; etcd restarted once`,
  );
  for (const k of tally.kills) time.say(`  ${k}`);
  for (const st of tally.stops) time.say(`  ${st.what}`);
  for (const r of results) time.say(formatResult(r));
}

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}
export const CHAOS_FLAGS = {
  provider: { help: 'the cloud', default: 'aws' as ProviderKind, read: cloud },
  minutes: { help: 'length of the faulty part, in (0, 60]', default: 3, read: num(0, 60, true) },
  vms: { help: 'VMs at the start (the /16 holds 256 /24s)', default: 60, read: int(4, 200) },
  seed: { help: 'seed of faults, churn and timing', default: 1, read: anyInt },
  timeScale: { help: 'emulated ms per real ms', default: 5, read: num(1, 100) },
} satisfies Spec;

async function main(): Promise<void> {
  const o: Omit<ChaosOptions, 'out'> = benchFlags(
    'chaos',
    'npm run chaos -- [flags] (node bench/chaos/run.ts): two controllers under faults; prints I1–I6, exits 1 on a failure',
    CHAOS_FLAGS,
  );
  // Hard deadline: minutes + 2, then everything is torn down and the run fails.
  const ac = new AbortController();
  const hard = setTimeout(
    () => {
      ac.abort();
      // Cleanup itself is bounded too: never outlive the deadline by more than half a minute.
      setTimeout(() => process.exit(1), 30_000).unref();
    },
    (o.minutes + 2) * 60_000,
  );
  const report = await runChaos({ ...o, out: (l) => process.stdout.write(`${l}\n`) }, ac.signal);
  clearTimeout(hard);
  process.exit(report.pass ? 0 : 1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
