// `npm start -- --inventory kubernetes` (issue 14): the demo runs the Kubernetes API emulator beside the cloud
// emulator, the controller with inventory.source and store.type kubernetes, and prints the kubectl commands
// that show the Nodes (podCIDR, NetworkUnavailable) and the Lease. The printed commands are run as printed,
// through a shell, with the real kubectl: a Node the demo's churn added gets its podCIDR and
// NetworkUnavailable False / RouteCreated, seen by kubectl.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cliEnv, runCli } from '../../testkit/cli.ts';
import { until } from '../../testkit/wait.ts';

const sh = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'routesync-demo-k8s-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function shell(command: string): Promise<string> {
  const { stdout } = await sh('bash', ['-c', command], { env: cliEnv(), timeout: 20_000 });
  return stdout;
}

describe('routesync demo --inventory kubernetes', () => {
  it('prints kubectl commands that work and show the Nodes routesync routes', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'demo', '--inventory', 'kubernetes', '--provider', 'aws', '--instances', '3', '--churn', '2', '--dir', dir],
      { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let nodes = '';
    let lease = '';
    try {
      await until('the banner and a first pass', () => / pass \d/.test(stdout), 60_000);
      const line = (label: string) =>
        stdout
          .split('\n')
          .find((l) => l.startsWith(`  ${label}:`))
          ?.replace(/^ {2}\w+: +/, '');
      const nodesCommand = line('nodes');
      const leaseCommand = line('lease');
      expect(nodesCommand).toMatch(/^kubectl --kubeconfig \S+ get nodes -o 'custom-columns=/);
      expect(leaseCommand).toMatch(/^kubectl --kubeconfig \S+ get lease -n routesync$/);
      // The kubeconfig is the demo's, private to its user.
      const kubeconfig = /--kubeconfig (\S+)/.exec(nodesCommand ?? '')?.[1] ?? '';
      expect(kubeconfig).toBe(join(dir, 'kubeconfig'));
      expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
      // The churn's first VM comes with its Node; routesync routes it, writes its podCIDR, then marks it ready.
      await until('churn added a VM and its Node', () => /churn: added VM i-\w+ \(Node node-4\)/.test(stdout), 30_000);
      await until(
        'kubectl shows node-4 with a podCIDR and NetworkUnavailable False',
        async () => {
          nodes = await shell(nodesCommand as string);
          return /^node-4 +aws:\/\/\/[a-z0-9-]+\/i-\w+ +172\.16\.\d+\.0\/24 +False +RouteCreated$/m.test(nodes);
        },
        30_000,
      );
      lease = await shell(leaseCommand as string);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(nodes.split('\n')[0]).toMatch(/^NAME +PROVIDER-ID +POD-CIDR +NETWORK-UNAVAILABLE +REASON$/);
    // Every Node kubectl lists is one of the emulated VMs, and every one with a podCIDR has a condition.
    for (const row of nodes.trim().split('\n').slice(1)) {
      expect(row).toMatch(
        /^node-\d+ +aws:\/\/\/[a-z0-9-]+\/i-\w+ +(172\.16\.\d+\.0\/24|<none>) +(True|False|<none>) +\S+$/,
      );
      if (!row.includes('<none>')) expect(row).toMatch(/ (False +RouteCreated|True +NoRouteCreated)$/);
    }
    expect(lease.split('\n')[0]).toMatch(/^NAME +HOLDER +AGE$/);
    expect(lease).toMatch(/^routesync +\S+/m);
    expect(stdout).toContain('(a real reconcile is refused while the demo holds the Lease)');
    expect(stderr).not.toContain('"level"');
  }, 120_000);

  it('refuses an unknown --inventory with one line, before starting anything', async () => {
    const r = await runCli(['demo', '--inventory', 'nodes', '--dir', join(dir, 'bad')], { env: cliEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['routesync: --inventory: "nodes" must be cloud or kubernetes']);
  });
});
