// The one-off CLI on the real binary: plan output, --dry-run writes nothing, exit codes, the lock.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EMULATOR_TOPOLOGY as AWS } from '../../emulators/aws/emulator.ts';
import { startEmulator, type RunningEmulator } from '../../emulators/shared/server.ts';
import { EMULATORS } from '../../emulators/clouds.ts';
import { FileLeadership } from '../../src/store/file/lock.ts';
import { silentLogger } from '../../src/log.ts';
import { runCli } from '../../testkit/cli.ts';

const TAG = { key: 'routesync-cluster', value: 'cli' };
let emu: RunningEmulator;
let dir: string;
let cfg: string;
const env = {
  ...process.env,
  AWS_ACCESS_KEY_ID: 'cli',
  AWS_SECRET_ACCESS_KEY: 's',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
};

function writes(): number {
  const by = emu.counters.snapshot().byAction;
  return Object.entries(by)
    .filter(([a]) => /^(Create|Replace|Delete)Route$/.test(a))
    .reduce((n, [, o]) => n + Object.values(o as Record<string, number>).reduce((x, y) => x + y, 0), 0);
}

beforeAll(async () => {
  emu = await startEmulator(EMULATORS.aws, { profile: 'fast', timeScale: 50, instances: 3, instanceTag: TAG });
  dir = mkdtempSync(join(tmpdir(), 'routesync-cli-'));
  cfg = join(dir, 'routesync.yaml');
  writeFileSync(
    cfg,
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
      store: { type: 'file', path: join(dir, 'state.json') },
    }),
  );
});

afterAll(async () => {
  await emu?.close();
});

describe('routesync reconcile / status / release', () => {
  it('--dry-run prints the plan and persists nothing, writes nothing', async () => {
    const r = await runCli(['reconcile', '-c', cfg, '--dry-run'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\+ create\s+172\.16\.0\.0\/24 → i-/);
    expect(r.stdout).toContain('(tentative)');
    expect(r.stdout).toContain('Plan: 6 to create, 0 to replace, 0 to delete; 0 conflicts, 0 blocked by quota.');
    expect(writes()).toBe(0);
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
  });

  it('refuses while another process holds the store lock, naming the pid (exit 1)', async () => {
    const lock = new FileLeadership({ path: join(dir, 'state.json.lock'), logger: silentLogger });
    await lock.tryAcquire();
    try {
      const r = await runCli(['reconcile', '-c', cfg, '--yes'], { env });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`pid ${process.pid}`);
      expect(writes()).toBe(0);
    } finally {
      await lock.resign();
    }
  });

  it('applies, exits 0 when the tables match, and -o json reports it', async () => {
    const r = await runCli(['reconcile', '-c', cfg, '--yes'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('tables match the desired state');
    expect(writes()).toBe(6);
    const j = await runCli(['reconcile', '-c', cfg, '-o', 'json', '--yes'], { env });
    expect(j.code).toBe(0);
    const doc = JSON.parse(j.stdout) as {
      converged: boolean;
      plan: { changes: unknown[] };
      quota: Record<string, { limit: number } | null>;
    };
    expect(doc.converged).toBe(true);
    expect(doc.plan.changes).toEqual([]);
    expect(Object.keys(doc.quota)).toEqual([...AWS.tables].sort());
  });

  it('status -o json lists allocations and per-table route states', async () => {
    const r = await runCli(['status', '-c', cfg, '-o', 'json'], { env });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      allocations: Array<{ instanceId: string; subnet: string }>;
      tables: Array<{ routes: { ok: number }; quota: { limit: number } }>;
    };
    expect(doc.allocations).toHaveLength(3);
    for (const t of doc.tables) expect(t.routes.ok).toBe(3);
  });

  it('exits 1 when a foreign route blocks one of our subnets', async () => {
    await fetch(`${emu.url}/_emulator/instances`, {
      method: 'POST',
      body: JSON.stringify({ count: 1, tags: { [TAG.key]: TAG.value } }),
    });
    await fetch(`${emu.url}/_emulator/routes`, {
      method: 'POST',
      body: JSON.stringify({ destination: '172.16.3.0/24', nextHop: 'igw-0foreign' }),
    });
    const r = await runCli(['reconcile', '-c', cfg, '--yes'], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/! conflict 172\.16\.3\.0\/24/);
  });

  it('issue 12 #5: release refuses to free a running VM when the inventory comes back empty', async () => {
    const st = JSON.parse((await runCli(['status', '-c', cfg, '-o', 'json'], { env })).stdout) as {
      allocations: Array<{ instanceId: string; subnet: string }>;
    };
    const a = st.allocations[0]!;
    const before = writes();
    const admin = (method: string, body?: unknown) =>
      fetch(`${emu.url}/_emulator/faults`, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
    try {
      // Every DescribeInstances answer comes back a valid, empty listing.
      await admin('POST', { action: 'DescribeInstances', rate: 1, error: 'empty-listing' });
      const r = await runCli(['release', '-c', cfg, a.instanceId, '--yes'], { env });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`cannot check whether ${a.instanceId} still exists`);
      await admin('DELETE');
      // Only the listing empty (the lookup by id after it answers truly): the cloud says the VM runs.
      await admin('POST', { action: 'DescribeInstances', rate: 1, error: 'empty-listing', count: 1 });
      const r2 = await runCli(['release', '-c', cfg, a.instanceId, '--yes'], { env });
      expect(r2.code).toBe(1);
      expect(r2.stderr).toContain(`${a.instanceId} is running according to the cloud`);
    } finally {
      await admin('DELETE');
    }
    expect(writes()).toBe(before);
    const after = JSON.parse((await runCli(['status', '-c', cfg, '-o', 'json'], { env })).stdout) as {
      allocations: Array<{ instanceId: string; subnet: string }>;
    };
    expect(after.allocations).toContainEqual(expect.objectContaining({ instanceId: a.instanceId, subnet: a.subnet }));
  });

  it('release needs --yes (exit 2) and refuses a running VM without --force (exit 1)', async () => {
    const no = await runCli(['release', '-c', cfg, 'i-x'], { env });
    expect(no.code).toBe(2);
    expect(no.stderr).toContain('--yes');
    const st = JSON.parse((await runCli(['status', '-c', cfg, '-o', 'json'], { env })).stdout) as {
      allocations: Array<{ instanceId: string; subnet: string }>;
    };
    const a = st.allocations[0]!;
    const running = await runCli(['release', '-c', cfg, a.instanceId, '--yes'], { env });
    expect(running.code).toBe(1);
    expect(running.stderr).toContain('is running according to the cloud');
    const forced = await runCli(['release', '-c', cfg, a.instanceId, '--yes', '--force'], { env });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(`released ${a.subnet}`);
  });

  it('bad config is exit 2 naming the field', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'cluster: x\nclusterCIDR: nope\nprovider: {type: aws, region: r, vpcId: v}\n');
    const r = await runCli(['reconcile', '-c', bad, '--yes'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('clusterCIDR');
  });
});
