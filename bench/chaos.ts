// The bounded chaos run (`npm run chaos`): two `routesync run` processes on one real etcd and one emulated
// cloud, under throttling, 5xx, timeouts and connection resets, with the leader SIGKILLed three times
// mid-apply, etcd restarted once, ~10 % of the VMs churned per minute and foreign routes injected on the
// cluster CIDR. Then the faults stop and the tables must match the desired state within two resyncs.
// Prints I1–I6 with PASS/FAIL and the counts behind them; exits 1 on any failure.
//
//   node bench/chaos.ts [--provider aws|aliyun|gce] [--minutes 3] [--vms 60] [--seed 1] [--time-scale 5]
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { stringify } from 'yaml';
import { seededRng, type Rng } from '../providers/emulator/rng.ts';
import { startEmulator, type RunningEmulator } from '../providers/emulator/server.ts';
import type { RequestLogEntry } from '../providers/emulator/counters.ts';
import { EMULATORS } from '../providers/registry.ts';
import type { ProviderKind } from '../providers/types.ts';
import { BIN, controllerEnv } from '../test/helpers/cli.ts';
import { emulatorConfigDoc, TOPOLOGY } from '../test/helpers/clouds.ts';
import { startEtcd, type EtcdServer } from '../test/helpers/etcd.ts';
import {
  CLOUD_ACTIONS,
  checkI1,
  checkI2,
  checkI3,
  checkI4,
  checkI5,
  checkI6,
  formatResult,
  liveInstanceIds,
  parseEtcdAllocations,
  quotaSamples,
  type EmuState,
  type ForeignRoute,
  type InvariantResult,
  type LeaderSample,
  type LoggedRequest,
  type QuotaSample,
} from './chaos-invariants.ts';

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

const CLUSTER = 'chaos';
const TAG = { key: 'routesync-cluster', value: CLUSTER };
const PREFIX = '/routesync';
const CLUSTER_CIDR = '172.16.0.0/16';
const SUBNET_LEN = 24;
const INTERVAL_MS = 3000;
const RELEASE_AFTER_MS = 6000;
const ELECTION_TTL = '2s';
const LEADER_POLL_MS = 200;
/** A leader poll answered slower than this is not trusted to say who led at its midpoint. */
const LEADER_POLL_TRUST_MS = 250;
const STATE_POLL_MS = 1000;
/**
 * I4's margin: a write must fall within this of a poll naming its client as leader. It covers the poll
 * period (200 ms), a trusted poll's own uncertainty (≤ 250 ms), and the write's latency in the emulator
 * (≤ 180 emulated ms, logged when served, while the fence ran before it was sent).
 */
const I4_MARGIN_MS = 1000;
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

/** A next hop that is no VM, in the form each emulator's admin API takes. */
const FOREIGN_HOP: Record<ProviderKind, string> = {
  aws: 'nat-0c4a05f0000000001',
  aliyun: 'ngw-chaos00000000000001',
  gce: '10.128.0.250',
};

interface Controller {
  client: string;
  identity: string;
  child: ChildProcess;
}

class Deadline extends Error {}

export async function runChaos(o: ChaosOptions, stop: AbortSignal = new AbortController().signal): Promise<ChaosReport> {
  const lines: string[] = [];
  const say = (l: string) => {
    lines.push(l);
    o.out?.(l);
  };
  const t0 = Date.now();
  const since = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s`;
  const step = (l: string) => say(`[${since()}] ${l}   (${new Date().toISOString().slice(11, 23)})`);
  const dir = mkdtempSync(join(tmpdir(), 'routesync-chaos-'));
  const actions = CLOUD_ACTIONS[o.provider];
  const tables = TOPOLOGY[o.provider].tables;
  const rng: Rng = seededRng(o.seed ^ 0xc4a05);
  const T = Math.round(o.minutes * 60_000);
  const burst = Math.max(3, Math.round(o.vms / 10));

  const controllers: Controller[] = [];
  const dead: Controller[] = [];
  let etcd: EtcdServer | undefined;
  let emu: RunningEmulator | undefined;
  let watcher: Etcd3 | undefined;
  const timers: Array<() => void> = [];
  const onExit = () => {
    for (const c of controllers) c.child.kill('SIGKILL');
  };
  process.once('exit', onExit);

  const sleep = (ms: number) =>
    new Promise<void>((resolve, reject) => {
      if (stop.aborted) return reject(new Deadline('deadline'));
      const t = setTimeout(() => {
        stop.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(t);
        reject(new Deadline('deadline'));
      };
      stop.addEventListener('abort', onAbort, { once: true });
    });
  async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 50): Promise<T | undefined> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > end) {
        step(`gave up waiting for ${what} after ${timeoutMs} ms`);
        return undefined;
      }
      await sleep(everyMs);
    }
  }

  // Every request the emulator serves, stamped with real time as it is logged (the log's own `at` is
  // emulated time). Tapping the counters in-process also proves the log is complete: no ring-buffer loss.
  const log: LoggedRequest[] = [];
  const writesBy = new Map<string, number>();
  const leaderSamples: LeaderSample[] = [];
  const snapshots: Array<{ at: number; state: EmuState }> = [];
  const quota: QuotaSample[] = [];
  const foreign: Array<ForeignRoute & { since: number }> = [];
  const kills: string[] = [];
  let churned = 0;
  let burstVms = 0;

  try {
    etcd = await startEtcd();
    emu = await startEmulator(EMULATORS[o.provider], {
      profile: 'realistic',
      timeScale: o.timeScale,
      instances: o.vms,
      instanceTag: TAG,
      seed: o.seed,
      // Room for every VM the run adds (bursts) and the foreign routes, so the quota is not the bottleneck;
      // I5 still proves it is never exceeded.
      routeQuota: o.vms + 3 * burst + 15,
      timeoutFaultMs: 500,
    });
    const e = emu;
    const counters = e.counters;
    const record = counters.record.bind(counters);
    counters.record = (entry: RequestLogEntry) => {
      record(entry);
      log.push({ at: Date.now(), client: entry.client, action: entry.action, outcome: entry.outcome, mutating: entry.mutating });
      if (entry.mutating) writesBy.set(entry.client, (writesBy.get(entry.client) ?? 0) + 1);
    };
    const admin = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
      const r = await fetch(`${e.url}/_emulator/${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: r.status, json: await r.json() };
    };
    const state = async () => (await admin('GET', 'state')).json as EmuState;
    step(`${o.provider} emulator (realistic ×${o.timeScale}) with ${o.vms} VMs at ${e.url}; etcd at ${etcd.endpoints[0]}; logs in ${dir}`);

    const configFile = join(dir, 'routesync.yaml');
    const doc = emulatorConfigDoc(o.provider, e.url, {
      cluster: CLUSTER,
      clusterCIDR: CLUSTER_CIDR,
      subnetLen: SUBNET_LEN,
      provider: { instanceFilter: `${TAG.key}=${TAG.value}`, concurrency: 4 },
      store: { type: 'etcd', endpoints: etcd.endpoints, prefix: PREFIX, electionTTL: ELECTION_TTL },
      reconcile: { interval: `${INTERVAL_MS}ms`, debounce: '200ms', releaseAfter: `${RELEASE_AFTER_MS}ms`, reuseAfter: '12s' },
      metrics: { listen: '127.0.0.1:0' },
      log: { level: 'info' },
    });
    writeFileSync(configFile, stringify(doc));

    let serial = 0;
    const spawnController = (): Controller => {
      const client = `chaos-ctl-${++serial}`;
      // A distinct dummy key per process: the emulator's log attributes every request to its sender.
      const child = spawn(process.execPath, [BIN, 'run', '-c', configFile], { env: controllerEnv(client), stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr?.pipe(createWriteStream(join(dir, `${client}.log`)));
      const c = { client, identity: `${hostname()}/${child.pid}`, child };
      controllers.push(c);
      return c;
    };

    // ---- observers ----
    watcher = new Etcd3({ hosts: etcd.endpoints });
    const w = watcher;
    const electionPrefix = `${PREFIX}/${CLUSTER}/election/leader/`;
    let observing = true;
    const leaderLoop = (async () => {
      while (observing) {
        const a = Date.now();
        try {
          const kv = await w.getAll().prefix(electionPrefix).sort('Create', 'Ascend').limit(1).options({ deadline: a + LEADER_POLL_TRUST_MS }).strings();
          const b = Date.now();
          const leader = Object.values(kv)[0] ?? null;
          leaderSamples.push(b - a <= LEADER_POLL_TRUST_MS ? { at: (a + b) / 2, leader } : { at: (a + b) / 2, error: `slow answer (${b - a} ms)` });
        } catch (err) {
          leaderSamples.push({ at: Date.now(), error: (err as Error).message.split('\n')[0] as string });
        }
        await new Promise((r) => setTimeout(r, LEADER_POLL_MS));
      }
    })();
    const sample = async () => {
      const at = Date.now();
      const s = await state();
      snapshots.push({ at, state: s });
      quota.push(...quotaSamples(at, s, actions, tables));
      return s;
    };
    const stateLoop = (async () => {
      while (observing) {
        await sample().catch(() => undefined);
        await new Promise((r) => setTimeout(r, STATE_POLL_MS));
      }
    })();
    timers.push(() => {
      observing = false;
    });

    /** The leader named by an answer less than a second old. */
    const currentLeader = (): Controller | undefined => {
      const last = leaderSamples[leaderSamples.length - 1];
      if (!last || last.error !== undefined || Date.now() - last.at > 1000) return undefined;
      return controllers.find((c) => c.identity === last.leader);
    };
    const readAllocations = async () => parseEtcdAllocations(await w.getAll().prefix(`${PREFIX}/${CLUSTER}/`).strings(), `${PREFIX}/${CLUSTER}/`);

    // ---- chaos ----
    spawnController();
    spawnController();
    await admin('POST', 'faults', { rules: FAULTS });
    const chaosStart = Date.now();
    const at = (fraction: number) => sleep(Math.max(0, chaosStart + fraction * T - Date.now()));
    step(`2 controllers started; faults on: ${FAULTS.map((f) => f.error).join(', ')} (30/5/2/2 %)`);

    const killLeader = async (n: number, addBurst: boolean) => {
      const baseline = new Map(controllers.map((c) => [c.client, writesBy.get(c.client) ?? 0]));
      if (addBurst) {
        await admin('POST', 'instances', { count: burst });
        burstVms += burst;
      }
      // Mid-apply: right after the current leader's first writes of the work just created. The leader is
      // re-read on every poll: after an etcd restart the one named a moment ago may have stepped down.
      const need = addBurst ? 1 : 3;
      const leader = await until(
        'the leader to write',
        () => {
          const l = currentLeader();
          return l && (writesBy.get(l.client) ?? 0) - (baseline.get(l.client) ?? 0) >= need ? l : undefined;
        },
        20_000,
        20,
      );
      const victim = leader ?? currentLeader();
      if (!victim) {
        kills.push(`kill #${n}: no leader found`);
        return;
      }
      victim.child.kill('SIGKILL');
      const wrote = (writesBy.get(victim.client) ?? 0) - (baseline.get(victim.client) ?? 0);
      controllers.splice(controllers.indexOf(victim), 1);
      dead.push(victim);
      const next = spawnController();
      const what = `kill #${n}: SIGKILL leader ${victim.client} ${leader ? `mid-apply, after ${wrote} writes` : 'without seeing it write'}${addBurst ? ` of a ${burst}-VM burst` : ' of the initial apply'}; started ${next.client}`;
      kills.push(what);
      step(what);
    };

    // Churn stops early enough that the last vanished VM's release (releaseAfter) is due before the faults stop.
    const churnEnd = chaosStart + T - RELEASE_AFTER_MS - INTERVAL_MS - 2000;
    // ~10 % of the VMs per minute; a short run churns faster so that it churns at all.
    const churnEvery = Math.min(60_000 / Math.max(1, Math.round(o.vms * 0.1)), Math.max(1000, (churnEnd - chaosStart) / 5));
    const churnLoop = (async () => {
      await sleep(Math.min(churnEvery, 0.1 * T));
      while (Date.now() + churnEvery / 2 < churnEnd && !stop.aborted) {
        const s = await state();
        const live = liveInstanceIds(s, TAG);
        const victim = live[Math.floor(rng() * live.length)];
        if (victim !== undefined) await admin('DELETE', `instances/${encodeURIComponent(victim)}`);
        await admin('POST', 'instances', { count: 1 });
        churned++;
        await sleep(Math.max(0, Math.min(churnEvery, churnEnd - Date.now())));
      }
    })().catch((err: unknown) => {
      // The deadline ends the churn with the rest; anything else is reported, not left unhandled.
      if (!(err instanceof Deadline)) step(`churn stopped: ${(err as Error).message}`);
    });

    const injectForeign = async () => {
      const first = tables[0] as string;
      const last = tables[tables.length - 1] as string;
      // F1: a subnet of the cluster CIDR no VM holds (the last /24, far above what the allocator reaches).
      const free = '172.16.255.0/24';
      const r1 = await admin('POST', 'routes', { table: first, destination: free, nextHop: FOREIGN_HOP[o.provider] });
      if (r1.status !== 201) throw new Error(`injecting foreign route ${free}: ${JSON.stringify(r1.json)}`);
      const injected: Array<{ table: string; destination: string }> = [{ table: first, destination: free }];
      // F2: one of our routes in the last table, taken over out of band (ours deleted, a foreign one put in
      // its place): routesync must report the conflict and leave it.
      const ours = await until(
        'a route of ours to take over',
        async () => {
          const alloc = await readAllocations();
          const t = (await state()).tables.find((x) => x.id === last);
          return t?.routes.find((r) => r.target !== null && alloc.instances.get(r.target) === r.destination);
        },
        20_000,
        250,
      );
      for (let i = 0; ours && i < 5; i++) {
        await admin('DELETE', 'routes', { table: last, destination: ours.destination });
        const r2 = await admin('POST', 'routes', { table: last, destination: ours.destination, nextHop: FOREIGN_HOP[o.provider] });
        if (r2.status === 201) {
          injected.push({ table: last, destination: ours.destination });
          break;
        }
      }
      const after = await state();
      const now = Date.now();
      for (const f of injected) {
        const r = after.tables.find((t) => t.id === f.table)?.routes.find((x) => x.destination === f.destination);
        if (r) foreign.push({ ...f, nextHop: r.nextHop ?? String(r.target), since: now });
      }
      step(`foreign routes injected: ${foreign.map((f) => `${f.table} ${f.destination} → ${f.nextHop}`).join('; ')}`);
    };

    await killLeader(1, false);
    await at(0.15);
    await until('allocations in etcd', async () => ((await readAllocations()).instances.size >= o.vms / 2 ? true : undefined), 20_000, 250);
    await injectForeign();
    await at(0.4);
    await killLeader(2, true);
    await at(0.55);
    step('etcd: restarting');
    await etcd.restart();
    step('etcd: restarted');
    await at(0.7);
    await killLeader(3, true);
    await at(1);
    await churnLoop;
    await admin('DELETE', 'faults');
    const faultsStoppedAt = Date.now();
    step(`faults stopped; ${churned} VMs churned; waiting up to ${CONVERGE_LIMIT_MS / 1000} s (two resyncs + apply) for the tables to match`);

    // ---- after the faults: the end state ----
    let convergedAfterMs: number | undefined;
    await until(
      'convergence',
      async () => {
        const s = await sample();
        const a = await readAllocations();
        const live = liveInstanceIds(s, TAG);
        const ok = checkI1(a, live, CLUSTER_CIDR, SUBNET_LEN).pass && checkI6(s, a, live, { clusterCIDR: CLUSTER_CIDR, tables, foreign }).pass;
        if (ok) convergedAfterMs = Date.now() - faultsStoppedAt;
        return ok ? true : undefined;
      },
      CONVERGE_LIMIT_MS,
      250,
    );
    const finalState = await sample();
    const finalAlloc = await readAllocations();
    const live = liveInstanceIds(finalState, TAG);
    observing = false;
    await Promise.all([leaderLoop, stateLoop]);

    const identityOf = Object.fromEntries([...controllers, ...dead].map((c) => [c.client, c.identity]));
    const writes = log.filter((x) => x.mutating);
    const results = [
      checkI1(finalAlloc, live, CLUSTER_CIDR, SUBNET_LEN),
      checkI2(foreign, snapshots),
      checkI3(log, actions),
      checkI4(writes, leaderSamples, identityOf, I4_MARGIN_MS),
      checkI5(quota, log, actions),
      checkI6(finalState, finalAlloc, live, { clusterCIDR: CLUSTER_CIDR, tables, foreign, ...(convergedAfterMs !== undefined ? { convergedAfterMs } : { limitMs: CONVERGE_LIMIT_MS }) }),
    ];
    if (log.length !== counters.snapshot().total) {
      results[2] = { ...(results[2] as InvariantResult), pass: false, details: [`request log incomplete: ${log.length} of ${counters.snapshot().total}`] };
    }
    const failed = log.filter((x) => x.outcome !== 'ok');
    const byOutcome = countBy(failed.map((x) => x.outcome));
    say('');
    say(`chaos run: ${o.provider}, ${o.vms} VMs, ${o.minutes} min, seed ${o.seed}, realistic profile ×${o.timeScale}, interval ${INTERVAL_MS / 1000} s, electionTTL ${ELECTION_TTL}`);
    say(`  requests: ${log.length.toLocaleString('en-US')} served, ${failed.length.toLocaleString('en-US')} failed (${Object.entries(byOutcome).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k} ${v}`).join(', ')})`);
    say(`  controllers: ${serial} processes (${kills.length} leaders SIGKILLed); ${churned} VMs churned (+${burstVms} added in bursts); ${foreign.length} foreign routes; etcd restarted once`);
    for (const k of kills) say(`  ${k}`);
    for (const r of results) say(formatResult(r));
    const pass = results.every((r) => r.pass);
    writeFileSync(join(dir, 'collected.json'), JSON.stringify({ lines, identityOf, leaderSamples, log, foreign }, null, 0));
    say(pass ? 'chaos run: PASS' : `chaos run: FAIL (controller logs kept in ${dir})`);
    return { results, pass, lines, dir };
  } catch (err) {
    if (err instanceof Deadline) step('hard deadline reached: stopping');
    else step(`chaos run aborted: ${(err as Error).stack ?? String(err)}`);
    return { results: [], pass: false, lines, dir };
  } finally {
    for (const t of timers) t();
    await Promise.all(controllers.map((c) => stopChild(c.child)));
    await watcher?.close();
    await emu?.close().catch(() => undefined);
    await etcd?.stop({ keepData: false }).catch(() => undefined);
    process.removeListener('exit', onExit);
    if (lines.some((l) => l === 'chaos run: PASS')) rmSync(dir, { recursive: true, force: true });
  }
}

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

/** SIGTERM (clean resign), SIGKILL after 3 s. */
function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export function parseChaosFlags(argv: string[]): Omit<ChaosOptions, 'out'> {
  const o = { provider: 'aws' as ProviderKind, minutes: 3, vms: 60, seed: 1, timeScale: 5 };
  for (let i = 0; i < argv.length; i++) {
    const [k, inline] = (argv[i] as string).split('=', 2) as [string, string | undefined];
    const v = inline ?? argv[++i];
    if (v === undefined) throw new Error(`${k}: needs a value`);
    if (k === '--provider') {
      if (!['aws', 'aliyun', 'gce'].includes(v)) throw new Error(`--provider: aws, aliyun or gce, not ${v}`);
      o.provider = v as ProviderKind;
    } else if (k === '--minutes') o.minutes = Number(v);
    else if (k === '--vms') o.vms = Number(v);
    else if (k === '--seed') o.seed = Number(v);
    else if (k === '--time-scale') o.timeScale = Number(v);
    else throw new Error(`unknown flag ${k} (use --provider, --minutes, --vms, --seed, --time-scale)`);
  }
  if (!(o.minutes > 0 && o.minutes <= 60)) throw new Error('--minutes: a number in (0, 60]');
  if (!(Number.isInteger(o.vms) && o.vms >= 4 && o.vms <= 200)) throw new Error('--vms: an integer in 4..200 (the /16 holds 256 /24s)');
  if (!Number.isInteger(o.seed)) throw new Error('--seed: an integer');
  if (!(o.timeScale >= 1 && o.timeScale <= 100)) throw new Error('--time-scale: a number in 1..100');
  return o;
}

async function main(): Promise<void> {
  let o: Omit<ChaosOptions, 'out'>;
  try {
    o = parseChaosFlags(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`chaos: ${(e as Error).message}\n`);
    process.exit(2);
  }
  // Hard deadline: minutes + 2, then everything is torn down and the run fails.
  const ac = new AbortController();
  const hard = setTimeout(() => {
    ac.abort();
    // Cleanup itself is bounded too: never outlive the deadline by more than half a minute.
    setTimeout(() => process.exit(1), 30_000).unref();
  }, (o.minutes + 2) * 60_000);
  const report = await runChaos({ ...o, out: (l) => process.stdout.write(`${l}\n`) }, ac.signal);
  clearTimeout(hard);
  process.exit(report.pass ? 0 : 1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
