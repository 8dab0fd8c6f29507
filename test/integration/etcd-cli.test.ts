// One-off commands next to a running controller on etcd: `reconcile` and `release` must not become a second
// writer (I4). They campaign briefly and refuse, naming the leader; `--dry-run` and `status` still work;
// once the controller is gone, `reconcile` takes the leadership and applies.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EMULATOR_TOPOLOGY as AWS } from '../../emulators/aws/emulator.ts';
import { startEmulator, type RunningEmulator } from '../../emulators/shared/server.ts';
import { EMULATORS } from '../../emulators/clouds.ts';
import { BIN, cliEnv, runCli } from '../../testkit/cli.ts';
import { routeWritesBy } from '../../testkit/clouds.ts';
import { until } from '../../testkit/wait.ts';
import { startEtcd, type EtcdServer } from '../../testkit/etcd.ts';

const TAG = { key: 'routesync-cluster', value: 'cli' };

let etcd: EtcdServer;
let emu: RunningEmulator;
let configFile: string;
let controller: ChildProcess | undefined;

const writesBy = (client: string): number => routeWritesBy(emu, client);

beforeAll(async () => {
  etcd = await startEtcd();
  emu = await startEmulator(EMULATORS.aws, { profile: 'fast', timeScale: 20, instances: 4, instanceTag: TAG });
  const dir = mkdtempSync(join(tmpdir(), 'routesync-etcd-cli-'));
  configFile = join(dir, 'routesync.yaml');
  writeFileSync(
    configFile,
    stringify({
      cluster: 'cli',
      clusterCIDR: '172.16.0.0/16',
      provider: {
        type: 'aws',
        region: AWS.region,
        vpcId: AWS.vpcId,
        endpoint: emu.url,
        instanceFilter: `${TAG.key}=${TAG.value}`,
      },
      store: { type: 'etcd', endpoints: etcd.endpoints, electionTTL: '2s' },
      reconcile: { interval: '3s', debounce: '200ms' },
      metrics: { listen: '127.0.0.1:0' },
      log: { level: 'warn' },
    }),
  );
});

afterAll(async () => {
  if (controller && controller.exitCode === null) controller.kill('SIGKILL');
  await emu?.close();
  await etcd?.stop({ keepData: false });
});

describe('one-off commands beside a controller on etcd', () => {
  it('refuse to write while `routesync run` leads, naming the leader; read-only commands still answer', async () => {
    controller = spawn(process.execPath, [BIN, 'run', '-c', configFile], {
      env: cliEnv({ AWS_ACCESS_KEY_ID: 'ctl' }),
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    await until('the controller to write its routes', () => writesBy('ctl') >= 8, 30_000);

    const rec = await runCli(['reconcile', '-c', configFile, '--yes'], { env: cliEnv({ AWS_ACCESS_KEY_ID: 'cli' }) });
    expect(rec.code, rec.stderr).toBe(1);
    expect(rec.stderr).toMatch(/could not take leadership .*leads/);
    const rel = await runCli(['release', '-c', configFile, 'i-does-not-matter', '--yes', '--force'], {
      env: cliEnv({ AWS_ACCESS_KEY_ID: 'cli' }),
    });
    expect(rel.code).toBe(1);
    expect(rel.stderr).toMatch(/could not take leadership/);

    const dry = await runCli(['reconcile', '-c', configFile, '--dry-run'], {
      env: cliEnv({ AWS_ACCESS_KEY_ID: 'cli' }),
    });
    expect(dry.code).toBe(0);
    const status = await runCli(['status', '-c', configFile, '-o', 'json'], {
      env: cliEnv({ AWS_ACCESS_KEY_ID: 'cli' }),
    });
    expect(status.code).toBe(0);
    const doc = JSON.parse(status.stdout) as { allocations: unknown[]; leader: { id?: string; self: boolean } | null };
    expect(doc.allocations).toHaveLength(4);
    expect(doc.leader?.self).toBe(false);
    expect(doc.leader?.id).toBeTruthy();
    // I4: the one-off commands wrote nothing.
    expect(writesBy('cli')).toBe(0);
  });

  it('takes the leadership once the controller has resigned, and applies', async () => {
    const exited = new Promise<number | null>((r) => controller!.once('exit', (code) => r(code)));
    controller!.kill('SIGTERM');
    expect(await exited).toBe(0);
    await fetch(`${emu.url}/_emulator/instances`, { method: 'POST', body: JSON.stringify({ count: 1 }) });
    const rec = await runCli(['reconcile', '-c', configFile, '--yes'], { env: cliEnv({ AWS_ACCESS_KEY_ID: 'cli' }) });
    expect(rec.code).toBe(0);
    expect(rec.stdout).toMatch(/Plan: 2 to create/);
    expect(writesBy('cli')).toBe(2);
  });
});
