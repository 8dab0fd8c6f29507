// Failover time: two `routesync run` processes (etcd store on a real etcd, one in-process emulator, a
// distinct dummy access key per process so the emulator's log attributes every request), the leader
// SIGKILLed right after its first write of the initial apply; measured in real time from the kill to
// (a) the standby's key becoming the oldest in the election, (b) its first write request (any outcome) and
// (c) its first accepted write, against store.electionTTL. `node bench/failover.ts --ttls 2,5,10 --trials 3`.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { stringify } from 'yaml';
import type { RequestLogEntry } from '../emulators/shared/counters.ts';
import { startEmulator } from '../emulators/shared/server.ts';
import { EMULATORS } from '../emulators/clouds.ts';
import type { ProviderKind } from '../providers/plugins.ts';
import { spawnRun } from '../testkit/cli.ts';
import { emulatorConfigDoc } from '../testkit/clouds.ts';
import { startEtcd, type EtcdServer } from '../testkit/etcd.ts';
import { until } from '../testkit/wait.ts';
import { table } from './common.ts';
import { benchFlags, cloud, int, num, nums, type Spec, type Values } from './flags.ts';

const TAG = { key: 'routesync-cluster', value: 'failover' };
const CLUSTER = 'failover';
const PREFIX = '/routesync-failover';
/** Cloud-side writes: the emulator marks them `mutating` (AWS source/dest check included). */
const isWrite = (e: { mutating: boolean }) => e.mutating;

export interface FailoverOptions {
  provider: ProviderKind;
  ttlsS: number[];
  trials: number;
  vms: number;
  /** Emulator time scale: 1 = the cloud's realistic latencies in real time, like the controllers' waits. */
  timeScale: number;
}

export interface Trial {
  ttlS: number;
  /** ms from SIGKILL to the standby's election key being the oldest (NaN if never seen). */
  electedMs: number;
  firstWriteMs: number;
  firstOkWriteMs: number;
  firstWriteOutcome: string;
  leaderWrites: number;
}

async function trial(etcd: EtcdServer, o: FailoverOptions, ttlS: number, n: number, dir: string): Promise<Trial> {
  const cluster = `${CLUSTER}-${ttlS}s-${n}`;
  const emu = await startEmulator(EMULATORS[o.provider], {
    profile: 'realistic',
    timeScale: o.timeScale,
    instances: o.vms,
    routeQuota: o.vms * 2 + 100,
    instanceTag: TAG,
    seed: n + 1,
  });
  // Every request stamped in real time as the emulator answers it (a write's latency is included).
  const log: RequestLogEntry[] = [];
  const record = emu.counters.record.bind(emu.counters);
  emu.counters.record = (e: RequestLogEntry) => {
    record(e);
    log.push({ ...e, at: Date.now() });
  };
  const configFile = join(dir, `${cluster}.yaml`);
  writeFileSync(
    configFile,
    stringify(
      emulatorConfigDoc(o.provider, emu.url, {
        cluster,
        clusterCIDR: '172.16.0.0/16',
        provider: { instanceFilter: `${TAG.key}=${TAG.value}` },
        store: { type: 'etcd', endpoints: etcd.endpoints, prefix: PREFIX, electionTTL: `${ttlS}s` },
        reconcile: { debounce: '200ms' },
        metrics: { listen: '127.0.0.1:0' },
        log: { level: 'info' },
      }),
    ),
  );
  const children = new Map<string, ChildProcess>();
  const identities = new Map<string, string>();
  const start = (client: string) => {
    children.set(client, spawnRun(configFile, client, { stderr: join(dir, `${cluster}-${client}.log`) }));
  };
  const watcher = new Etcd3({ hosts: etcd.endpoints });
  const oldestCandidate = async (): Promise<string | undefined> => {
    const kv = await watcher
      .getAll()
      .prefix(`${PREFIX}/${cluster}/election/leader/`)
      .sort('Create', 'Ascend')
      .limit(1)
      .strings();
    return Object.values(kv)[0];
  };
  try {
    start('ctl-a');
    start('ctl-b');
    const writes = (client: string) => log.filter((e) => e.client === client && isWrite(e));
    // The first to write leads (only the leader writes, I4); kill it right after its first write.
    const leader = await until(
      'a first write',
      () => (['ctl-a', 'ctl-b'] as const).find((c) => writes(c).length > 0),
      60_000,
      5,
    );
    const holder = await oldestCandidate();
    const child = children.get(leader) as ChildProcess;
    child.kill('SIGKILL');
    const killedAt = Date.now();
    const leaderWrites = writes(leader).length;
    if (holder) identities.set(leader, holder);
    const standby = leader === 'ctl-a' ? 'ctl-b' : 'ctl-a';

    let electedAt = NaN;
    const watchElection = (async () => {
      const end = killedAt + ttlS * 1000 + 60_000;
      while (Date.now() < end && Number.isNaN(electedAt)) {
        try {
          const h = await oldestCandidate();
          if (h !== undefined && h !== holder) electedAt = Date.now();
        } catch {
          // etcd busy: the next poll decides.
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const first = await until('the standby to write', () => writes(standby)[0], ttlS * 1000 + 120_000, 20);
    const firstOk = await until(
      'an accepted write by the standby',
      () => writes(standby).find((e) => e.outcome === 'ok'),
      ttlS * 1000 + 180_000,
      20,
    );
    await watchElection;
    return {
      ttlS,
      electedMs: electedAt - killedAt,
      firstWriteMs: first.at - killedAt,
      firstOkWriteMs: firstOk.at - killedAt,
      firstWriteOutcome: `${first.action} ${first.outcome}`,
      leaderWrites,
    };
  } finally {
    for (const c of children.values()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(
      [...children.values()].map((c) =>
        c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)),
      ),
    );
    watcher.close();
    await emu.close();
  }
}

function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export async function failover(
  o: FailoverOptions,
  onTrial: (t: Trial) => void = () => {},
): Promise<Array<Record<string, string | number>>> {
  const etcd = await startEtcd();
  const dir = mkdtempSync(join(tmpdir(), 'routesync-failover-bench-'));
  const rows: Array<Record<string, string | number>> = [];
  try {
    for (const ttlS of o.ttlsS) {
      const ts: Trial[] = [];
      for (let n = 0; n < o.trials; n++) {
        const t = await trial(etcd, o, ttlS, n, dir);
        onTrial(t);
        ts.push(t);
      }
      const s = (ms: number) => (ms / 1000).toFixed(2);
      const firstWrite = median(ts.map((t) => t.firstWriteMs));
      rows.push({
        cloud: o.provider,
        vms: o.vms,
        electionTTL: `${ttlS}s`,
        trials: ts.length,
        electedS: s(median(ts.map((t) => t.electedMs))),
        firstWriteS: s(firstWrite),
        firstWriteRange: `${s(Math.min(...ts.map((t) => t.firstWriteMs)))}–${s(Math.max(...ts.map((t) => t.firstWriteMs)))}`,
        firstWriteOverTTL: (firstWrite / (ttlS * 1000)).toFixed(2),
        firstOkWriteS: s(median(ts.map((t) => t.firstOkWriteMs))),
        firstWrite: [...new Set(ts.map((t) => t.firstWriteOutcome))].join(', '),
      });
    }
  } finally {
    await etcd.stop({ keepData: false });
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

export const FAILOVER_FLAGS = {
  provider: { help: 'the cloud', default: 'aliyun' as ProviderKind, read: cloud },
  ttls: { help: 'store.electionTTL values in seconds, comma-separated', default: [2, 5, 10], read: nums(1) },
  trials: { help: 'trials per TTL', default: 3, read: int(1) },
  vms: { help: 'VMs in the emulator', default: 60, read: int(1) },
  timeScale: {
    help: 'emulated ms per real ms (1: real time, like the TTL)',
    default: 1,
    read: num(0, undefined, true),
  },
} satisfies Spec;

export function failoverOptions(v: Values<typeof FAILOVER_FLAGS>): FailoverOptions {
  return { provider: v.provider, ttlsS: v.ttls, trials: v.trials, vms: v.vms, timeScale: v.timeScale };
}

if (import.meta.main) {
  const o = failoverOptions(
    benchFlags(
      'failover',
      'node bench/failover.ts [flags]: two controllers on a real etcd, the leader SIGKILLed mid-apply; takeover times',
      FAILOVER_FLAGS,
    ),
  );
  const rows = await failover(o, (t) =>
    process.stderr.write(
      `ttl ${t.ttlS}s: elected ${(t.electedMs / 1000).toFixed(2)} s, first write ${(t.firstWriteMs / 1000).toFixed(2)} s (${t.firstWriteOutcome}), first accepted ${(t.firstOkWriteMs / 1000).toFixed(2)} s; killed leader had written ${t.leaderWrites}\n`,
    ),
  );
  process.stdout.write(`${table(rows)}\n`);
  process.exit(0);
}
