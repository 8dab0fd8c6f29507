// Logs: human lines on a terminal or with --log-format pretty, JSON lines elsewhere (and with --log-format
// json), at the --log-level asked for. The real binary, on a pseudo-terminal where a TTY matters.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EMULATOR_TOPOLOGY as AWS } from '../../emulators/aws/emulator.ts';
import { startEmulator, type RunningEmulator } from '../../emulators/shared/server.ts';
import { EMULATORS } from '../../emulators/clouds.ts';
import { cliEnv, runCli } from '../../testkit/cli.ts';
import { plain, runOnPty } from '../helpers/pty.ts';

const TAG = { key: 'routesync-cluster', value: 'logs' };
const HUMAN = /^\[\d\d:\d\d:\d\d\] INFO: route create applied \{.*"table":"rtb-/m;
let emu: RunningEmulator;
let cfg: string;
const env = cliEnv({ AWS_ACCESS_KEY_ID: 'logs' });

/** One more VM, so the next apply has routes to create (and logs them at info). */
async function addVm(): Promise<void> {
  await fetch(`${emu.url}/_emulator/instances`, {
    method: 'POST',
    body: JSON.stringify({ count: 1, tags: { [TAG.key]: TAG.value } }),
  });
}

beforeAll(async () => {
  emu = await startEmulator(EMULATORS.aws, { profile: 'fast', timeScale: 50, instances: 0, instanceTag: TAG });
  const dir = mkdtempSync(join(tmpdir(), 'routesync-logs-'));
  cfg = join(dir, 'routesync.yaml');
  writeFileSync(
    cfg,
    stringify({
      cluster: 'logs',
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

describe('log lines', () => {
  it('on a terminal: human lines, no JSON', async () => {
    await addVm();
    const run = runOnPty(['reconcile', '-c', cfg, '--yes', '--log-level', 'info'], { env });
    expect(await run.exit).toBe(0);
    const screen = plain(run.output());
    expect(screen).toMatch(HUMAN);
    expect(screen).not.toContain('{"level"');
  });

  it('on a terminal with --log-format json: JSON lines', async () => {
    await addVm();
    const run = runOnPty(['reconcile', '-c', cfg, '--yes', '--log-level', 'info', '--log-format', 'json'], { env });
    expect(await run.exit).toBe(0);
    const json = plain(run.output())
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; level: number });
    expect(json.filter((l) => l.msg === 'route create applied')).toHaveLength(2);
  });

  it('in a pipe: JSON by default, human lines with --log-format pretty', async () => {
    await addVm();
    const json = await runCli(['reconcile', '-c', cfg, '--yes', '--log-level', 'info'], { env });
    expect(json.code).toBe(0);
    // Besides the log, stderr carries the progress: one line per change in a pipe.
    const lines = json.stderr.split('\n').filter((l) => l !== '' && !/^[✓✗…] /.test(l));
    const logged = lines.map((l) => JSON.parse(l) as { msg: string });
    expect(logged.filter((l) => l.msg === 'route create applied')).toHaveLength(2);
    await addVm();
    const pretty = await runCli(['reconcile', '-c', cfg, '--yes', '--log-level', 'info', '--log-format', 'pretty'], {
      env,
    });
    expect(pretty.code).toBe(0);
    expect(pretty.stderr).toMatch(HUMAN);
    expect(pretty.stderr).not.toContain('{"level"');
  });

  it("--log-level warn (reconcile's default) leaves out the info lines", async () => {
    await addVm();
    const r = await runCli(['reconcile', '-c', cfg, '--yes', '--log-format', 'pretty'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Apply: 2 applied');
    expect(r.stderr).not.toMatch(/INFO/);
  });
});
