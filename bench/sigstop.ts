// A deposed leader must not write (I4): two `routesync run` processes on one real etcd and one emulated
// cloud with 50 % of its writes failing 5xx; the leader is SIGSTOPped mid-apply for 3× store.electionTTL (its lease
// expires, the standby takes over and writes), then SIGCONTed. From the emulator's request log, by arrival
// order: how many writes the old leader sent after the new leader's first write (must be 0), and after the
// SIGCONT. `node bench/sigstop.ts --provider aws --rounds 10` (all three clouds when --provider is omitted).
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { stringify } from 'yaml';
import type { RequestLogEntry } from '../emulators/shared/counters.ts';
import { startEmulator } from '../emulators/shared/server.ts';
import { EMULATORS, VOCABULARIES } from '../emulators/clouds.ts';
import { PROVIDER_KINDS, type ProviderKind } from '../providers/plugins.ts';
import { spawnRun } from '../testkit/cli.ts';
import { emulatorConfigDoc, scaledPacing } from '../testkit/clouds.ts';
import { startEtcd, type EtcdServer } from '../testkit/etcd.ts';
import { table } from './common.ts';
import { anyInt, benchFlags, cloud, FlagError, int, num, type Spec, text } from './flags.ts';

const TAG = { key: 'routesync-cluster', value: 'sigstop' };

const PREFIX = '/routesync-sigstop';
/** From a refused write's answer to the SIGSTOP: the answer has arrived, the retry's backoff (≥ 200 ms) runs. */
const STOP_DELAY_MS = 30;

export interface SigstopOptions {
  provider: ProviderKind;
  rounds: number;
  ttlS: number;
  vms: number;
  /** Emulated ms per real ms (the realistic profile, played faster). */
  timeScale: number;
  /** Share of the write requests answered with a 5xx. */
  faultRate: number;
  /**
   * The leader is stopped STOP_DELAY_MS after this many of its writes were refused (5xx): it is then
   * inside its apply, waiting out the backoff of a retry, the state in which a paused leader wakes up
   * into timers that send.
   */
  stopAfter: number;
  /** Seed of the first round; round n uses seed + n. */
  seed: number;
  /** Where controller logs go; kept when a round fails. */
  dir?: string;
}

/** A write as the emulator saw it arrive, in real ms. */
interface Arrival {
  client: string;
  action: string;
  outcome: string;
  arrivedAt: number;
}

export interface SigstopRound {
  provider: ProviderKind;
  round: number;
  /** Writes the old leader had sent when it was stopped. */
  writesBeforeStop: number;
  /** ms from SIGSTOP to the new leader's first write arriving (NaN if it never wrote). */
  newFirstWriteMs: number;
  /** Whether the new leader's first write arrived while the old one was still stopped. */
  newWroteWhileStopped: boolean;
  /**
   * Old-leader writes that arrived after the new leader's first write, while it was deposed: I4 wants 0.
   * Should the new leader lose the lease in turn (a starved event loop) and the old one be elected again,
   * its writes from then on are a leader's.
   */
  oldWritesAfterNewFirst: number;
  /** Old-leader writes that arrived after SIGCONT, while it was deposed. */
  oldWritesAfterCont: number;
  /** ms after SIGCONT at which etcd named the old leader leader again, if it did within the round. */
  reElectedMs?: number;
  /** The old leader's writes after SIGCONT, for the report: action outcome +ms. */
  late: string[];
  /** Writes by the new leader after the SIGCONT (it carried on). */
  newWritesAfterCont: number;
  /** Leaders etcd named from the SIGSTOP on, in order (polled every 25 ms): one hand-over expected. */
  leadersAfterStop: string[];
}

/** One round on its own emulator and cluster (the etcd is shared). */
export async function sigstopRound(etcd: EtcdServer, o: SigstopOptions, n: number, dir: string): Promise<SigstopRound> {
  const cluster = `sigstop-${o.provider}-${n}`;
  const emu = await startEmulator(EMULATORS[o.provider], {
    profile: 'realistic',
    timeScale: o.timeScale,
    instances: o.vms,
    routeQuota: o.vms * 2 + 100,
    instanceTag: TAG,
    seed: o.seed + n,
  });
  // Arrival in real time: the log stamps a request when answered; its receivedAt (emulated) says how long before.
  const writes: Arrival[] = [];
  let refused = 0;
  let onRefused: ((client: string) => void) | undefined;
  const record = emu.counters.record.bind(emu.counters);
  emu.counters.record = (e: RequestLogEntry) => {
    record(e);
    if (!e.mutating) return;
    const heldMs = e.receivedAt === undefined ? 0 : (e.at - e.receivedAt) / o.timeScale;
    writes.push({ client: e.client, action: e.action, outcome: e.outcome, arrivedAt: Date.now() - heldMs });
    if (e.outcome !== 'ok' && ++refused === o.stopAfter) onRefused?.(e.client);
  };
  // Only the leader writes, so the client of the refused write is the leader.
  const refusedWrite = new Promise<string>((resolve) => (onRefused = resolve));
  const configFile = join(dir, `${cluster}.yaml`);
  writeFileSync(
    configFile,
    stringify(
      emulatorConfigDoc(o.provider, emu.url, {
        cluster,
        clusterCIDR: '172.16.0.0/16',
        provider: {
          instanceFilter: `${TAG.key}=${TAG.value}`,
          concurrency: 4,
          ...scaledPacing(o.provider, o.timeScale),
        },
        store: { type: 'etcd', endpoints: etcd.endpoints, prefix: PREFIX, electionTTL: `${o.ttlS}s` },
        reconcile: { interval: '3s', debounce: '200ms' },
        metrics: { listen: '127.0.0.1:0' },
        log: { level: 'info' },
      }),
    ),
  );
  const children = new Map<string, ChildProcess>();
  const start = (client: string) => {
    children.set(client, spawnRun(configFile, client, { stderr: join(dir, `${cluster}-${client}.log`) }));
  };
  const watcher = new Etcd3({ hosts: etcd.endpoints });
  const leaders: Array<{ at: number; leader: string }> = [];
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const kv = await watcher
        .getAll()
        .prefix(`${PREFIX}/${cluster}/election/leader/`)
        .sort('Create', 'Ascend')
        .limit(1)
        .strings()
        .catch(() => undefined);
      const leader = kv === undefined ? '?' : (Object.values(kv)[0] ?? 'none');
      if (leaders[leaders.length - 1]?.leader !== leader) leaders.push({ at: Date.now(), leader });
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  try {
    // The first write of each kind is refused, so the leader surely meets a retry; then half of them.
    // The writes the faults hit: the apply is what must be caught retrying, while the reads stay clean so
    // that the standby's first pass fits inside the stop.
    const faulted = VOCABULARIES[o.provider].writes;
    emu.faults.add(faulted.map((action) => ({ action, rate: 1, count: 1, error: '5xx' })));
    emu.faults.add(faulted.map((action) => ({ action, rate: o.faultRate, error: '5xx' })));
    start('ctl-a');
    start('ctl-b');
    const by = (client: string) => writes.filter((w) => w.client === client);
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no refused write within 60 s (${writes.length} writes)`)), 60_000).unref(),
    );
    const leader = await Promise.race([refusedWrite, timeout]);
    const standby = leader === 'ctl-a' ? 'ctl-b' : 'ctl-a';
    const old = children.get(leader);
    if (!old) throw new Error(`a write by unknown client ${leader}`);
    await new Promise((r) => setTimeout(r, STOP_DELAY_MS));
    old.kill('SIGSTOP');
    const stoppedAt = Date.now();
    const writesBeforeStop = by(leader).length;
    await new Promise((r) => setTimeout(r, 3 * o.ttlS * 1000));
    old.kill('SIGCONT');
    const contAt = Date.now();
    // Long enough for every retry timer and pass of the resumed process to have fired.
    await new Promise((r) => setTimeout(r, Math.max(3000, o.ttlS * 1000)));
    const newFirst = by(standby).sort((a, b) => a.arrivedAt - b.arrivedAt)[0];
    const names = new Map([...children].map(([client, c]) => [`${hostname()}/${c.pid}`, client]));
    const named = leaders.map((l) => ({ at: l.at, leader: names.get(l.leader) ?? l.leader }));
    const handover = named.find((l) => l.at > stoppedAt && l.leader === standby);
    const back = handover ? named.find((l) => l.at > handover.at && l.leader === leader) : undefined;
    const deposedUntil = back?.at ?? Number.POSITIVE_INFINITY;
    const oldAfter = (t: number) => by(leader).filter((w) => w.arrivedAt > t && w.arrivedAt < deposedUntil);
    const afterCont = oldAfter(contAt);
    const lastBefore = [...named].reverse().find((l) => l.at <= stoppedAt);
    const leadersAfterStop = [...(lastBefore ? [lastBefore] : []), ...named.filter((l) => l.at > stoppedAt)].map(
      (l) => l.leader,
    );
    return {
      provider: o.provider,
      round: n,
      writesBeforeStop,
      newFirstWriteMs: newFirst ? newFirst.arrivedAt - stoppedAt : NaN,
      newWroteWhileStopped: newFirst !== undefined && newFirst.arrivedAt < contAt,
      oldWritesAfterNewFirst: newFirst ? oldAfter(newFirst.arrivedAt).length : 0,
      oldWritesAfterCont: afterCont.length,
      late: afterCont.map((w) => `${w.action} ${w.outcome} +${Math.round(w.arrivedAt - contAt)}ms`),
      newWritesAfterCont: by(standby).filter((w) => w.arrivedAt > contAt).length,
      leadersAfterStop,
      ...(back ? { reElectedMs: back.at - contAt } : {}),
    };
  } finally {
    watching = false;
    await watch;
    watcher.close();
    for (const c of children.values()) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGCONT');
        c.kill('SIGKILL');
      }
    }
    await Promise.all(
      [...children.values()].map((c) =>
        c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)),
      ),
    );
    await emu.close();
  }
}

/** Every round of one cloud on one etcd; `onRound` sees each as it finishes. */
export async function sigstop(
  o: SigstopOptions,
  onRound: (r: SigstopRound) => void = () => {},
): Promise<SigstopRound[]> {
  const etcd = await startEtcd();
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'routesync-sigstop-'));
  const out: SigstopRound[] = [];
  try {
    for (let n = 0; n < o.rounds; n++) {
      const r = await sigstopRound(etcd, o, n, dir);
      onRound(r);
      out.push(r);
    }
  } finally {
    await etcd.stop({ keepData: false });
    if (!o.dir && out.every((r) => r.oldWritesAfterNewFirst === 0)) rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

export const SIGSTOP_FLAGS = {
  provider: {
    help: 'the cloud',
    default: [...PROVIDER_KINDS] as ProviderKind[],
    shown: 'every cloud in turn',
    read: (raw: string) => [cloud(raw)],
  },
  rounds: { help: 'rounds per cloud', default: 10, read: int(1) },
  ttl: {
    help: 'store.electionTTL in whole seconds (etcd leases count seconds)',
    default: 2,
    read: int(1),
  },
  vms: { help: 'VMs in the emulator', default: 40, read: int(4, 200) },
  timeScale: { help: 'emulated ms per real ms', default: 5, read: num(1, 100) },
  faultRate: {
    help: 'share of the writes answered 5xx, in [0, 1)',
    default: 0.5,
    read: (raw: string) => {
      const n = num(0, 1)(raw);
      if (n === 1) throw new FlagError('a number ≥ 0 and < 1');
      return n;
    },
  },
  stopAfter: { help: 'refused writes before the SIGSTOP', default: 1, read: int(1) },
  seed: { help: 'seed of the first round (round n: seed + n)', default: 1, read: anyInt },
  dir: { help: 'where controller logs go', default: undefined as string | undefined, shown: 'a temp dir', read: text },
} satisfies Spec;

if (import.meta.main) {
  const {
    provider: providers,
    ttl,
    dir,
    ...rest
  } = benchFlags(
    'sigstop',
    'node bench/sigstop.ts [flags]: the leader SIGSTOPped past its lease mid-apply; must not write once deposed',
    SIGSTOP_FLAGS,
  );
  const flags = { providers, o: { ...rest, ttlS: ttl, ...(dir === undefined ? {} : { dir }) } };
  const rows: Array<Record<string, string | number>> = [];
  let bad = 0;
  for (const provider of flags.providers) {
    const rs = await sigstop({ ...flags.o, provider }, (r) =>
      process.stderr.write(
        `${r.provider} round ${r.round}: stopped after ${r.writesBeforeStop} writes; new leader's first write +${(r.newFirstWriteMs / 1000).toFixed(2)} s` +
          `${r.newWroteWhileStopped ? '' : ' (after SIGCONT)'}; leaders ${r.leadersAfterStop.join(' → ')}` +
          `${r.reElectedMs !== undefined ? ` (old leader re-elected +${(r.reElectedMs / 1000).toFixed(2)} s after SIGCONT)` : ''}; while deposed the old leader wrote ${r.oldWritesAfterNewFirst} after it, ${r.oldWritesAfterCont} after SIGCONT${r.late.length ? ` (${r.late.join(', ')})` : ''}\n`,
      ),
    );
    bad += rs.filter((r) => r.oldWritesAfterNewFirst > 0 || !r.newWroteWhileStopped).length;
    const ms = rs.map((r) => r.newFirstWriteMs).filter((x) => !Number.isNaN(x));
    rows.push({
      cloud: provider,
      rounds: rs.length,
      electionTTL: `${flags.o.ttlS}s`,
      stop: `${3 * flags.o.ttlS}s`,
      faults: `${Math.round(flags.o.faultRate * 100)}% 5xx on writes`,
      newLeaderWroteWhileStopped: `${rs.filter((r) => r.newWroteWhileStopped).length}/${rs.length}`,
      newFirstWriteS: ms.length
        ? `${(Math.min(...ms) / 1000).toFixed(2)}–${(Math.max(...ms) / 1000).toFixed(2)}`
        : 'never',
      oldWritesAfterNewFirst: rs.reduce((a, r) => a + r.oldWritesAfterNewFirst, 0),
      oldWritesAfterCont: rs.reduce((a, r) => a + r.oldWritesAfterCont, 0),
      roundsWithLateWrites: rs.filter((r) => r.oldWritesAfterCont > 0).length,
    });
  }
  process.stdout.write(`${table(rows)}\n`);
  process.exit(bad === 0 ? 0 : 1);
}
