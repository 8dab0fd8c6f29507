// Every output sample in README.md is what the program prints today: each block marked
// `<!-- sample: NAME -->` is produced here by running the real commands against an emulator and compared
// line for line, after masking what differs from run to run (temp dirs, ports, clock times, durations).
// On a difference the failure prints the block as the program prints it now, ready to paste.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EMULATOR_TOPOLOGY as ALIYUN } from '../../emulators/aliyun/emulator.ts';
import { startEmulator, type RunningEmulator } from '../../emulators/shared/server.ts';
import { EMULATORS } from '../../emulators/clouds.ts';
import { seedsFromCloudState } from '../../emulators/kubernetes/nodes.ts';
import { startKubeEmulator } from '../../emulators/kubernetes/server.ts';
import { startController } from '../../src/commands/run.ts';
import { parseConfigText } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import type { StatusDocument } from '../../src/status.ts';
import { useDummyCredentials } from '../../testkit/clouds.ts';
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

  it('demo-kubernetes, demo-kubectl: the demo in Kubernetes mode and the kubectl command it prints', async () => {
    const demoDir = mkdtempSync(join(tmpdir(), 'routesync-demo-'));
    const child = spawn(
      process.execPath,
      [BIN, 'demo', '--inventory', 'kubernetes', '--instances', '3', '--dir', demoDir],
      {
        env: cliEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    let nodes = '';
    let command = '';
    try {
      await until('the first pass line', () => / pass \d/.test(out), 60_000);
      command = /^ {2}nodes: +(.+)$/m.exec(out)?.[1] ?? '';
      // The three Nodes of the demo's VMs (a Node its churn added meanwhile is left out of the sample).
      const three = /^(NAME .*|node-[123] .*)$/gm;
      await until(
        'the three Nodes routed',
        async () => {
          const { stdout } = await promisify(execFile)('bash', ['-c', command], { env: cliEnv() });
          nodes = (stdout.match(three) ?? []).join('\n');
          return (nodes.match(/ False +RouteCreated$/gm) ?? []).length === 3;
        },
        60_000,
      );
    } finally {
      child.kill('SIGINT');
      await exited;
      rmSync(demoDir, { recursive: true, force: true });
    }
    const lines = out.split('\n').filter((l) => !/\] churn: /.test(l));
    const first = lines.findIndex((l) => / pass \d/.test(l));
    expectSample(
      'demo-kubernetes',
      `${lines
        .slice(0, first + 1)
        .join('\n')
        .replace(/^\n/, '')}\n…\n`,
    );
    expectSample('demo-kubectl', `$ ${command}\n${nodes}\n`);
  }, 120_000);

  it('status-kubernetes: the Nodes part of status in Kubernetes mode', async () => {
    useDummyCredentials();
    const cloud = await startEmulator(EMULATORS.aliyun, {
      profile: 'fast',
      timeScale: 50,
      instances: 3,
      instanceTag: TAG,
    });
    const seeds = seedsFromCloudState('aliyun', await (await fetch(`${cloud.url}/_emulator/state`)).json());
    seeds[2]!.labels = { 'routesync.io/exclude': 'true' };
    seeds.push({ name: 'node-4', internalIP: '192.168.0.9' });
    const kube = await startKubeEmulator({ nodes: seeds });
    const kdir = mkdtempSync(join(tmpdir(), 'routesync-readme-'));
    const kubeconfig = join(kdir, 'kubeconfig');
    writeFileSync(kubeconfig, kube.kubeconfig({ namespace: 'routesync' }));
    const text = stringify({
      cluster: 'demo',
      clusterCIDR: '10.244.0.0/16',
      provider: {
        type: 'aliyun',
        region: ALIYUN.region,
        vpcId: ALIYUN.vpcId,
        endpoint: cloud.url,
        routeTableIds: [TABLE],
      },
      inventory: { source: 'kubernetes' },
      store: { type: 'kubernetes' },
      kubernetes: { kubeconfig, namespace: 'routesync' },
      metrics: { listen: '127.0.0.1:0' },
      reconcile: { debounce: '100ms' },
    });
    writeFileSync(join(kdir, 'routesync.yaml'), text);
    const running = await startController(parseConfigText(text), silentLogger);
    let r: Awaited<ReturnType<typeof runCli>>;
    try {
      await until(
        'two Nodes routed and network-ready',
        async () => {
          const doc = (await (await fetch(`${running.url}/status`)).json()) as StatusDocument;
          return (doc.nodes ?? []).filter((n) => n.networkUnavailable?.reason === 'RouteCreated').length === 2;
        },
        30_000,
      );
      r = await runCli(['status', '-c', 'routesync.yaml'], { env, cwd: kdir });
    } finally {
      running.stop();
      await running.done;
      await kube.close();
      await cloud.close();
      rmSync(kdir, { recursive: true, force: true });
    }
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const from = lines.findIndex((l) => l.startsWith('Nodes: '));
    const to = lines.findIndex((l, i) => i > from && l.startsWith('Table '));
    expectSample(
      'status-kubernetes',
      `$ routesync status -c routesync.yaml\n${(lines[0] ?? '').replace(/leader: \S+/, 'leader: …')}\n…\n${lines.slice(from, to - 1).join('\n')}\n…\n`,
    );
  }, 90_000);
});
