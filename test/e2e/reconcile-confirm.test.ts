// `routesync reconcile` like `terraform apply`: the plan as read is printed before anything is written, a
// terminal is asked, no terminal needs --yes, and a plan that changed while the question was open is not
// applied. The real binary, on a pseudo-terminal where a TTY matters, against the AWS emulator.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EMULATOR_TOPOLOGY as AWS } from '../../emulators/aws/emulator.ts';
import { startEmulator, type RunningEmulator } from '../../emulators/shared/server.ts';
import { EMULATORS } from '../../emulators/clouds.ts';
import { cliEnv, runCli } from '../../testkit/cli.ts';
import { runOnPty } from '../helpers/pty.ts';

const TAG = { key: 'routesync-cluster', value: 'confirm' };
const [T1, T2] = [...AWS.tables].sort() as [string, string];
const PROMPT = /Enter a value: /;
let emu: RunningEmulator;
let dir: string;
let cfg: string;
const env = cliEnv({ AWS_ACCESS_KEY_ID: 'confirm' });

function writes(): number {
  const by = emu.counters.snapshot().byAction;
  return Object.entries(by)
    .filter(([a]) => /^(Create|Replace|Delete)Route$/.test(a))
    .reduce((n, [, o]) => n + Object.values(o as Record<string, number>).reduce((x, y) => x + y, 0), 0);
}

async function addVm(): Promise<string> {
  const r = await fetch(`${emu.url}/_emulator/instances`, {
    method: 'POST',
    body: JSON.stringify({ count: 1, tags: { [TAG.key]: TAG.value } }),
  });
  return ((await r.json()) as { instances: Array<{ id: string }> }).instances[0]!.id;
}

beforeAll(async () => {
  emu = await startEmulator(EMULATORS.aws, { profile: 'fast', timeScale: 50, instances: 2, instanceTag: TAG });
  dir = mkdtempSync(join(tmpdir(), 'routesync-confirm-'));
  cfg = join(dir, 'routesync.yaml');
  writeFileSync(
    cfg,
    stringify({
      cluster: 'confirm',
      clusterCIDR: '172.16.0.0/16',
      provider: {
        type: 'aws',
        region: AWS.region,
        vpcId: AWS.vpcId,
        endpoint: emu.url,
        instanceFilter: `${TAG.key}=${TAG.value}`,
      },
      store: { type: 'file', path: join(dir, 'state.json') },
    }),
  );
});

afterAll(async () => {
  await emu?.close();
});

describe('routesync reconcile asks before applying', () => {
  it('without a terminal and without --yes: exit 2, one line saying why, before any cloud call', async () => {
    const before = emu.counters.snapshot().total;
    const r = await runCli(['reconcile', '-c', cfg], { env });
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^routesync: .*no terminal.*--yes/);
    expect(r.stdout).toBe('');
    expect(emu.counters.snapshot().total).toBe(before);
    const j = await runCli(['reconcile', '-c', cfg, '-o', 'json'], { env });
    expect(j.code).toBe(2);
    expect(j.stderr).toMatch(/^routesync: -o json .*--yes/);
    expect(emu.counters.snapshot().total).toBe(before);
  });

  it('on a terminal: prints the plan as read, asks, and "no" writes nothing (exit 1)', async () => {
    const run = runOnPty(['reconcile', '-c', cfg], { env });
    const screen = await run.waitFor(PROMPT);
    // The plan came before the question, with the quota as read, and nothing was written yet.
    expect(screen.indexOf('Plan: 4 to create')).toBeGreaterThan(-1);
    expect(screen.indexOf('Plan: 4 to create')).toBeLessThan(screen.search(PROMPT));
    expect(screen).toContain(`Table ${T1}: quota 0/50 (api-default)`);
    expect(writes()).toBe(0);
    run.type('no\n');
    expect(await run.exit).toBe(1);
    expect(run.output()).toContain('Apply cancelled: nothing was written.');
    expect(writes()).toBe(0);
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
  });

  it('a VM that appears while the question is open: the changed plan is not applied (exit 1), nothing written', async () => {
    const run = runOnPty(['reconcile', '-c', cfg], { env });
    await run.waitFor(PROMPT);
    const vm = await addVm();
    run.type('yes\n');
    expect(await run.exit).toBe(1);
    expect(run.output()).toMatch(
      new RegExp(
        `routesync: the plan changed since it was shown \\(allocate 172\\.16\\.2\\.0/24 → ${vm} was not shown\\): nothing was applied`,
      ),
    );
    expect(writes()).toBe(0);
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
  });

  it('"yes" applies what was shown; a shown change done meanwhile is skipped, not an error', async () => {
    const run = runOnPty(['reconcile', '-c', cfg], { env });
    const screen = await run.waitFor(PROMPT);
    expect(screen).toContain('Plan: 6 to create');
    const shown = /\+ create\s+(172\.16\.0\.0\/24) → (i-\w+)/.exec(screen);
    expect(shown).not.toBeNull();
    // Someone else puts one of the shown routes in place (in the first table) before the answer.
    await fetch(`${emu.url}/_emulator/routes`, {
      method: 'POST',
      body: JSON.stringify({ table: T1, destination: shown![1], target: shown![2] }),
    });
    run.type('yes\n');
    expect(await run.exit).toBe(0);
    expect(run.output()).toMatch(
      /Apply: 5 applied, 0 already done, 0 failed, 0 skipped, 1 done meanwhile\. tables match the desired state\./,
    );
    expect(writes()).toBe(5);
  });

  it('nothing to do: no question, exit 0', async () => {
    const run = runOnPty(['reconcile', '-c', cfg], { env });
    expect(await run.exit).toBe(0);
    expect(run.output()).toContain('Plan: 0 to create, 0 to replace, 0 to delete');
    expect(run.output()).not.toMatch(PROMPT);
  });

  it('--yes without a terminal: the plan with the quota before the writes is printed first, then applied', async () => {
    await addVm();
    const w = writes();
    const r = await runCli(['reconcile', '-c', cfg, '--yes'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Table ${T1}: quota 3/50 (api-default)`);
    expect(r.stdout).toContain(`Table ${T2}: quota 3/50 (api-default)`);
    expect(r.stdout.indexOf('Plan: 2 to create')).toBeLessThan(r.stdout.indexOf('Apply: 2 applied'));
    expect(r.stdout).not.toContain('Enter a value');
    expect(writes()).toBe(w + 2);
  });
});
