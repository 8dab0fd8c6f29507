// Two `routesync run` processes on one real etcd and one emulator: SIGKILL the leader mid-apply, the
// standby takes over within about the election TTL, and the end state is right (I1, I4, I6).
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EMULATOR_TOPOLOGY as AWS } from '../../emulators/aws/emulator.ts';
import { startEmulator, type RunningEmulator } from '../../emulators/shared/server.ts';
import { EMULATORS } from '../../emulators/clouds.ts';
import { silentLogger } from '../../src/log.ts';
import { createEtcdStore } from '../../src/store/etcd/store.ts';
import { spawnRun } from '../../testkit/cli.ts';
import { routeWritesBy } from '../../testkit/clouds.ts';
import { until } from '../../testkit/wait.ts';
import { startEtcd, type EtcdServer } from '../../testkit/etcd.ts';

const TAG = { key: 'routesync-cluster', value: 'failover' };
const VMS = 30;

let etcd: EtcdServer;
let emu: RunningEmulator;
let dir: string;
const children: ChildProcess[] = [];

function startController(client: string, configFile: string): ChildProcess {
  const child = spawnRun(configFile, client);
  children.push(child);
  return child;
}

const writesBy = (client: string): number => routeWritesBy(emu, client);

interface EmuState {
  instances: Array<{ id: string; state: string }>;
  tables: Array<{ id: string; routes: Array<{ destination: string; target: string | null }> }>;
}

beforeAll(async () => {
  etcd = await startEtcd();
  // Realistic latencies make the apply take long enough to be killed in the middle of it.
  emu = await startEmulator(EMULATORS.aws, {
    profile: 'realistic',
    timeScale: 5,
    instances: VMS,
    instanceTag: TAG,
    seed: 3,
  });
  dir = mkdtempSync(join(tmpdir(), 'routesync-failover-'));
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await emu?.close();
  await etcd?.stop({ keepData: false });
});

describe('failover between two routesync run processes', () => {
  it('I4/I1/I6: SIGKILL of the leader mid-apply → the standby takes over, no duplicate subnet or route', async () => {
    const configFile = join(dir, 'routesync.yaml');
    writeFileSync(
      configFile,
      stringify({
        cluster: 'failover',
        clusterCIDR: '172.16.0.0/16',
        provider: {
          type: 'aws',
          region: AWS.region,
          vpcId: AWS.vpcId,
          endpoint: emu.url,
          instanceFilter: `${TAG.key}=${TAG.value}`,
          concurrency: 2,
        },
        store: { type: 'etcd', endpoints: etcd.endpoints, electionTTL: '2s' },
        reconcile: { interval: '3s', debounce: '200ms' },
        metrics: { listen: '127.0.0.1:0' },
        log: { level: 'warn' },
      }),
    );
    const a = startController('ctl-a', configFile);
    const b = startController('ctl-b', configFile);
    const byClient = { 'ctl-a': a, 'ctl-b': b } as const;

    // Whoever writes first leads; kill it after its first few writes, mid-apply.
    const leader = await until(
      'a leader to start writing',
      () => (['ctl-a', 'ctl-b'] as const).find((c) => writesBy(c) >= 3),
      30_000,
    );
    const standby = leader === 'ctl-a' ? 'ctl-b' : 'ctl-a';
    byClient[leader].kill('SIGKILL');
    const killedAt = Date.now();
    const leaderWrites = writesBy(leader);
    expect(writesBy(standby)).toBe(0);

    const state = async () => (await (await fetch(`${emu.url}/_emulator/state`)).json()) as EmuState;
    await until(
      'the standby to converge the tables',
      async () => {
        if (writesBy(standby) === 0) return undefined;
        const s = await state();
        return (
          s.tables.every((t) => t.routes.filter((r) => r.destination.startsWith('172.16.')).length === VMS) || undefined
        );
      },
      60_000,
    );
    // Took over within a generous bound of the 2 s TTL (not a timing assertion on the exact figure).
    expect(Date.now() - killedAt).toBeLessThan(45_000);
    // The dead leader wrote nothing more than what was already in flight when it died: concurrency 2 per
    // table, both tables applied at once.
    expect(writesBy(leader)).toBeLessThanOrEqual(leaderWrites + 2 * 2);

    // I1: one subnet per VM in etcd, no subnet twice.
    const store = createEtcdStore({
      endpoints: etcd.endpoints,
      prefix: '/routesync',
      cluster: 'failover',
      logger: silentLogger,
    });
    const snap = await store.load();
    await store.close();
    expect(snap.allocations).toHaveLength(VMS);
    expect(new Set(snap.allocations.map((x) => x.subnet)).size).toBe(VMS);
    expect(new Set(snap.allocations.map((x) => x.instanceId)).size).toBe(VMS);

    // Every table: exactly one route per subnet, pointing at its VM.
    const want = snap.allocations.map((x) => `${x.subnet}>${x.instanceId}`).sort();
    const s = await state();
    for (const t of s.tables) {
      expect(
        t.routes
          .filter((r) => r.destination.startsWith('172.16.'))
          .map((r) => `${r.destination}>${r.target}`)
          .sort(),
      ).toEqual(want);
    }

    // No flapping: further passes of the survivor change nothing.
    const settled = writesBy(standby);
    await new Promise((r) => setTimeout(r, 4000));
    expect(writesBy(standby)).toBe(settled);

    // SIGTERM: clean stop, exit 0.
    const survivor = byClient[standby];
    const exited = new Promise<number | null>((r) => survivor.once('exit', (code) => r(code)));
    survivor.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
