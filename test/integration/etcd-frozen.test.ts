// A frozen (SIGSTOP) and a refusing etcd, with a real controller and the real CLI beside it (issue 12 item 8):
// /readyz goes 503 naming the store, /status still answers from the last pass without touching the store,
// and `status` / `reconcile` fail within seconds with one line about etcd instead of hanging (16 s) or
// claiming that another replica leads.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EMULATOR_TOPOLOGY as AWS } from '../../emulators/aws/emulator.ts';
import { startEmulator, type RunningEmulator } from '../../emulators/shared/server.ts';
import { EMULATORS } from '../../emulators/clouds.ts';
import { validateConfig } from '../../src/config.ts';
import { startController, type RunningController } from '../../src/commands/run.ts';
import { silentLogger } from '../../src/log.ts';
import { cliEnv, runCli, type CliResult } from '../../testkit/cli.ts';
import { useDummyCredentials } from '../../testkit/clouds.ts';
import { startEtcd, type EtcdServer } from '../../testkit/etcd.ts';
import { until } from '../../testkit/wait.ts';

const TAG = { key: 'routesync-cluster', value: 'frozen' };

let etcd: EtcdServer;
let emu: RunningEmulator;
let dir: string;
let configFile: string;
let running: RunningController | undefined;

beforeAll(async () => {
  useDummyCredentials('frozen-ctl');
  etcd = await startEtcd();
  emu = await startEmulator(EMULATORS.aws, { profile: 'fast', timeScale: 20, instances: 3, instanceTag: TAG });
  dir = mkdtempSync(join(tmpdir(), 'routesync-frozen-'));
  const doc = {
    cluster: 'frozen',
    clusterCIDR: '172.16.0.0/16',
    provider: {
      type: 'aws',
      region: AWS.region,
      vpcId: AWS.vpcId,
      endpoint: emu.url,
      instanceFilter: `${TAG.key}=${TAG.value}`,
    },
    // The TTL outlasts the frozen checks below (readyz's 2 s ping, then /status): with 2 s a loaded machine could see
    // the leader step down first, and /status then (rightly) shows no leader's allocations.
    store: { type: 'etcd', endpoints: etcd.endpoints, electionTTL: '10s' },
    reconcile: { interval: '2s', debounce: '100ms' },
    metrics: { listen: '127.0.0.1:0' },
  };
  configFile = join(dir, 'routesync.yaml');
  writeFileSync(configFile, stringify(doc));
  running = await startController(validateConfig(doc), silentLogger);
});

afterAll(async () => {
  etcd?.resume();
  running?.stop();
  await running?.done.catch(() => undefined);
  await emu?.close();
  await etcd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const get = async (path: string, timeoutMs = 5000) => {
  const res = await fetch(`${running!.url}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
};

function oneLine(r: CliResult): string {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  return lines[0] as string;
}

describe('etcd frozen, then refusing', () => {
  it('is ready and serves /status while etcd answers', async () => {
    await until('a converged pass', () => running!.controller.lastPass?.converged, 30_000);
    expect((await get('/readyz')).status).toBe(200);
    const s = await get('/status');
    expect(s.status).toBe(200);
    const doc = JSON.parse(s.body) as { allocations: unknown[]; leader: { self: boolean } };
    expect(doc.allocations).toHaveLength(3);
    expect(doc.leader.self).toBe(true);
  });

  it('frozen: /readyz 503 naming the store, /status still answers from memory, the CLI fails fast with one line', async () => {
    await etcd.pause();
    try {
      const ready = await get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatch(
        /^not ready: store unreachable: cannot reach etcd at http:\/\/127\.0\.0\.1:\d+ \(no answer within 2000 ms\)/,
      );
      // No store read behind /status: it answers while etcd cannot.
      const s = await get('/status', 1500);
      expect(s.status).toBe(200);
      expect((JSON.parse(s.body) as { allocations: unknown[] }).allocations).toHaveLength(3);

      const env = cliEnv({ AWS_ACCESS_KEY_ID: 'frozen-cli' });
      const status = await runCli(['status', '-c', configFile], { env, timeoutMs: 12_000 });
      expect(status.code, status.stderr).toBe(1);
      expect(oneLine(status)).toMatch(
        /^routesync: cannot reach etcd at http:\/\/127\.0\.0\.1:\d+ \(no answer within 3000 ms\): is store\.endpoints right, and is etcd up\?$/,
      );
      const rec = await runCli(['reconcile', '-c', configFile, '--yes'], { env, timeoutMs: 12_000 });
      expect(rec.code, rec.stderr).toBe(1);
      expect(oneLine(rec)).toMatch(/^routesync: cannot reach etcd at /);
      expect(rec.stderr).not.toMatch(/another replica leads/);
    } finally {
      etcd.resume();
    }
    await until('ready again once etcd answers', async () => (await get('/readyz')).status === 200, 30_000, 200);
  });

  it('refusing (etcd stopped): nobody is ready', async () => {
    await etcd.stop({ keepData: true });
    const ready = await until(
      'a 503',
      async () => {
        const r = await get('/readyz');
        return r.status === 503 ? r : undefined;
      },
      10_000,
      100,
    );
    expect(ready.body).toMatch(/^not ready: store unreachable: cannot reach etcd at /);
  });
});
