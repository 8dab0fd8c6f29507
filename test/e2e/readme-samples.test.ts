// Every output sample in README.md is what the program prints today: each block marked
// `<!-- sample: NAME -->` is produced here by running the real commands against an emulator and compared
// line for line, after masking what differs from run to run (temp dirs, ports, clock times, durations).
// On a difference the failure prints the block as the program prints it now, ready to paste.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EMULATOR_TOPOLOGY as ALIYUN } from '../../emulators/aliyun/emulator.ts';
import { startEmulator, type RunningEmulator } from '../../emulators/shared/server.ts';
import { EMULATORS } from '../../emulators/clouds.ts';
import { BIN, cliEnv, REPO, runCli } from '../../testkit/cli.ts';
import { runOnPty } from '../helpers/pty.ts';
import { until } from '../../testkit/wait.ts';

const readme = () => readFileSync(join(REPO, 'README.md'), 'utf8');
const TAG = { key: 'routesync-cluster', value: 'demo' };
const TABLE = ALIYUN.tables[1];
let emu: RunningEmulator;
let dir: string;
let cfg: string;
const env = cliEnv();

/** The text of the fenced block that follows `<!-- sample: name -->`. */
function sample(name: string): string {
  const m = new RegExp(`<!-- sample: ${name} -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\`\\n`).exec(readme());
  if (!m) throw new Error(`README.md has no block marked <!-- sample: ${name} -->`);
  return m[1] as string;
}

/** What differs from run to run, masked the same way in README and in the output. */
function masked(s: string): string {
  return s
    .replace(/\/tmp\/routesync-[\w-]+/g, '/tmp/routesync-…')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT')
    .replace(/\b\d\d:\d\d:\d\d\b/g, 'HH:MM:SS')
    .replace(/\b\d{4}-\d\d-\d\dT[\d:.]+Z\b/g, 'ISO-TIME')
    .replace(/\b\d+(\.\d+)? ?(ms|s|min|m|h|d)\b/g, 'DURATION');
}

/** UPDATE_README_SAMPLES=1 writes the blocks as printed now into README.md instead of failing. */
function expectSample(name: string, actual: string): void {
  const want = sample(name);
  if (masked(want) === masked(actual)) return;
  const block = (body: string) => `<!-- sample: ${name} -->\n\`\`\`\n${body}\`\`\``;
  if (process.env.UPDATE_README_SAMPLES === '1') {
    writeFileSync(
      join(REPO, 'README.md'),
      readme().replace(block(want), () => block(actual)),
    );
    return;
  }
  throw new Error(
    `README.md sample "${name}" is not what the program prints now (UPDATE_README_SAMPLES=1 writes it). It prints:\n${block(actual)}\nREADME has:\n${block(want)}`,
  );
}

beforeAll(async () => {
  emu = await startEmulator(EMULATORS.aliyun, { profile: 'fast', timeScale: 50, instances: 3, instanceTag: TAG });
  dir = mkdtempSync(join(tmpdir(), 'routesync-readme-'));
  cfg = join(dir, 'routesync.yaml');
  writeFileSync(
    cfg,
    stringify({
      cluster: 'demo',
      clusterCIDR: '10.244.0.0/16',
      provider: {
        type: 'aliyun',
        region: ALIYUN.region,
        vpcId: ALIYUN.vpcId,
        endpoint: emu.url,
        routeTableIds: [TABLE],
      },
      store: { type: 'file', path: join(dir, 'state.json') },
    }),
  );
});

afterAll(async () => {
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('README samples', () => {
  it('apply: reconcile on a terminal shows the plan, asks, applies', async () => {
    const run = runOnPty(['reconcile', '-c', 'routesync.yaml'], { env, cwd: dir });
    await run.waitFor(/Enter a value: /);
    run.type('yes\n');
    expect(await run.exit).toBe(0);
    expectSample('apply', `$ routesync reconcile -c routesync.yaml\n${run.screen()}`);
  });

  it('plan-quota: a dry run against a table at its quota', async () => {
    await fetch(`${emu.url}/_emulator/instances`, {
      method: 'POST',
      body: JSON.stringify({ count: 2, tags: { [TAG.key]: TAG.value } }),
    });
    await fetch(`${emu.url}/_emulator/quota`, { method: 'POST', body: JSON.stringify({ limit: 4 }) });
    const r = await runCli(['reconcile', '-c', 'routesync.yaml', '--dry-run'], { env, cwd: dir });
    expect(r.code).toBe(1);
    expectSample('plan-quota', `$ routesync reconcile -c routesync.yaml --dry-run\n${r.stdout}`);
  });

  it('status', async () => {
    const r = await runCli(['status', '-c', 'routesync.yaml'], { env, cwd: dir });
    expect(r.code).toBe(0);
    expectSample('status', `$ routesync status -c routesync.yaml\n${r.stdout}`);
  });

  it('validate', async () => {
    writeFileSync(
      join(dir, 'broken.yaml'),
      'cluster: Prod_1\nclusterCIDR: 10.0.0.0/33\nprovider: {type: aws, vpcId: vpc-1}\nreconcile: {interval: 30}\n',
    );
    const good = await runCli(['validate', '-c', 'examples/config/aws.yaml'], { env });
    expect(good.code).toBe(0);
    const bad = await runCli(['validate', '-c', 'broken.yaml'], { env, cwd: dir });
    expect(bad.code).toBe(2);
    expectSample(
      'validate',
      `$ routesync validate -c examples/config/aws.yaml\n${good.stdout}$ routesync validate -c broken.yaml\n${bad.stderr}`,
    );
  });

  it('demo: npm start prints where to look, then one line per pass', async () => {
    const demoDir = mkdtempSync(join(tmpdir(), 'routesync-demo-'));
    const child = spawn(process.execPath, [BIN, 'demo', '--dir', demoDir], {
      env: cliEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await until('the first pass line', () => / pass \d/.test(out), 60_000);
    } finally {
      child.kill('SIGINT');
      await exited;
      rmSync(demoDir, { recursive: true, force: true });
    }
    // A slow first pass (a loaded machine) may see a churn line first: the sample is the banner and the pass.
    const lines = out.split('\n').filter((l) => !/\] churn: /.test(l));
    const first = lines.findIndex((l) => / pass \d/.test(l));
    expectSample(
      'demo',
      `${lines
        .slice(0, first + 1)
        .join('\n')
        .replace(/^\n/, '')}\n…\n`,
    );
  }, 90_000);
});
