// A finding that holds pass after pass (here: a foreign route on one of our subnets) is logged when it
// starts and when it ends, and counted in a metric meanwhile — not warned about every pass. The real
// `routesync run` against the AWS emulator, reconciling every second.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EMULATOR_TOPOLOGY as AWS } from '../../emulators/aws/emulator.ts';
import { startEmulator, type RunningEmulator } from '../../emulators/shared/server.ts';
import { EMULATORS } from '../../emulators/clouds.ts';
import { BIN, controllerEnv } from '../../testkit/cli.ts';
import { parsePromText, sampleValue } from '../helpers/prom-text.ts';
import { until } from '../../testkit/wait.ts';

const TAG = { key: 'routesync-cluster', value: 'recur' };
const [T1] = [...AWS.tables].sort() as [string];
const FOREIGN = '172.16.1.0/24';
const CONFLICT = 'conflict: a foreign route holds one of our subnets';
let emu: RunningEmulator;
let dir: string;
let child: ChildProcess | undefined;
const logs: Array<{ msg: string; level: number; destination?: string; url?: string }> = [];

beforeAll(async () => {
  emu = await startEmulator(EMULATORS.aws, { profile: 'fast', timeScale: 50, instances: 2, instanceTag: TAG });
  // The second VM's subnet (the pool hands out .0, then .1) is already taken by an internet gateway route.
  await fetch(`${emu.url}/_emulator/routes`, {
    method: 'POST',
    body: JSON.stringify({ table: T1, destination: FOREIGN, nextHop: 'igw-0foreign' }),
  });
  dir = mkdtempSync(join(tmpdir(), 'routesync-recur-'));
  writeFileSync(
    join(dir, 'routesync.yaml'),
    stringify({
      cluster: 'recur',
      clusterCIDR: '172.16.0.0/16',
      provider: {
        type: 'aws',
        region: AWS.region,
        vpcId: AWS.vpcId,
        endpoint: emu.url,
        instanceFilter: `${TAG.key}=${TAG.value}`,
      },
      store: { type: 'file', path: join(dir, 'state.json') },
      reconcile: { interval: '1s', debounce: '100ms' },
      metrics: { listen: '127.0.0.1:0' },
      log: { level: 'info' },
    }),
  );
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function metric(url: string, name: string, kind: string): Promise<number> {
  return sampleValue(parsePromText(await (await fetch(`${url}/metrics`)).text()), name, { kind });
}

describe('a conflict that lasts', () => {
  it('is warned about once, counted every pass meanwhile, and logged once when it ends', async () => {
    child = spawn(process.execPath, [BIN, 'run', '-c', join(dir, 'routesync.yaml')], {
      env: controllerEnv('recur'),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let buf = '';
    child.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) if (l.startsWith('{')) logs.push(JSON.parse(l) as (typeof logs)[number]);
    });
    const passes = () => logs.filter((l) => l.msg === 'reconcile pass done').length;
    await until('five passes', () => passes() >= 5, 30_000);
    const url = logs.find((l) => l.msg === 'routesync running')?.url as string;
    expect(logs.filter((l) => l.msg === CONFLICT)).toHaveLength(1);
    expect(logs.find((l) => l.msg === CONFLICT)?.destination).toBe(FOREIGN);
    expect(await metric(url, 'routesync_warnings_active', 'conflict')).toBe(1);
    expect(await metric(url, 'routesync_warnings_repeated_total', 'conflict')).toBeGreaterThanOrEqual(4);

    // The foreign route goes: one line says the conflict ended, and our route takes its place.
    await fetch(`${emu.url}/_emulator/routes`, {
      method: 'DELETE',
      body: JSON.stringify({ table: T1, destination: FOREIGN }),
    });
    await until(
      'the end of the conflict',
      () => logs.some((l) => l.msg.startsWith('ended after') && l.msg.endsWith(CONFLICT)),
      30_000,
    );
    const seen = passes();
    await until('a pass after it', () => passes() > seen, 30_000);
    expect(logs.filter((l) => l.msg === CONFLICT)).toHaveLength(1);
    expect(logs.filter((l) => l.msg.endsWith(CONFLICT) && l.msg.startsWith('ended after'))).toHaveLength(1);
    expect(await metric(url, 'routesync_warnings_active', 'conflict')).toBe(0);

    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 90_000);
});
