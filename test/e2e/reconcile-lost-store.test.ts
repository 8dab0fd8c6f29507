// Issue 12 item 2 on the real binary against the AWS emulator: a lost store (state file deleted, or the
// default relative store.path resolved from another working directory) used to replace 20 and delete 6 of
// 26 live routes, exit 0. Now the store path follows the config file, `status` names it, and an empty
// store adopts the routes of ours (destination → target) without a single replace or delete.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EMULATOR_TOPOLOGY as AWS } from '../../emulators/aws/emulator.ts';
import { startEmulator, type RunningEmulator } from '../../emulators/shared/server.ts';
import { EMULATORS } from '../../emulators/clouds.ts';
import { REPO, runCli } from '../../testkit/cli.ts';

const TAG = { key: 'routesync-cluster', value: 'lost' };
const env = {
  ...process.env,
  AWS_ACCESS_KEY_ID: 'lost',
  AWS_SECRET_ACCESS_KEY: 's',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
};
let emu: RunningEmulator;
let dir: string;
let etc: string;
let cfg: string;
let stateFile: string;
/** Instance → subnet as months of churn leave it: nothing like the allocator's fresh lowest-first order. */
const layout = new Map<string, string>();

function writesBy(): Record<string, number> {
  const by = emu.counters.snapshot().byAction as Record<string, Record<string, number>>;
  const out: Record<string, number> = {};
  for (const a of ['CreateRoute', 'ReplaceRoute', 'DeleteRoute'])
    out[a] = Object.values(by[a] ?? {}).reduce((x, y) => x + y, 0);
  return out;
}

async function tableRoutes(): Promise<string[]> {
  const st = (await (await fetch(`${emu.url}/_emulator/state`)).json()) as {
    tables: Array<{ id: string; routes: Array<{ destination: string; target: string | null }> }>;
  };
  return st.tables
    .flatMap((t) =>
      t.routes.filter((r) => r.destination.startsWith('172.16.')).map((r) => `${t.id} ${r.destination} ${r.target}`),
    )
    .sort();
}

beforeAll(async () => {
  emu = await startEmulator(EMULATORS.aws, { profile: 'fast', timeScale: 50, instances: 26, instanceTag: TAG });
  dir = mkdtempSync(join(tmpdir(), 'routesync-lost-'));
  etc = join(dir, 'etc');
  mkdirSync(etc);
  cfg = join(etc, 'routesync.yaml');
  // No store.path: the default, which used to be relative to the working directory.
  writeFileSync(
    cfg,
    stringify({
      cluster: 'lost',
      clusterCIDR: '172.16.0.0/16',
      provider: {
        type: 'aws',
        region: AWS.region,
        vpcId: AWS.vpcId,
        endpoint: emu.url,
        instanceFilter: `${TAG.key}=${TAG.value}`,
      },
      store: { type: 'file' },
    }),
  );
  stateFile = join(etc, '.routesync', 'state.json');
  const st = (await (await fetch(`${emu.url}/_emulator/state`)).json()) as {
    instances: Array<{ id: string; name: string; privateIp: string }>;
  };
  const vms = st.instances.sort((a, b) => (a.id < b.id ? -1 : 1));
  vms.forEach((vm, i) => layout.set(vm.id, `172.16.${(vms.length - 1 - i) * 3 + 1}.0/24`));
  mkdirSync(join(etc, '.routesync'));
  writeFileSync(
    stateFile,
    JSON.stringify({
      version: 1,
      allocations: vms.map((vm, i) => ({
        instanceId: vm.id,
        subnet: layout.get(vm.id),
        name: vm.name,
        privateIp: vm.privateIp,
        allocatedAt: 1_700_000_000_000 + i,
      })),
      released: [],
    }),
  );
});

afterAll(async () => {
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a lost store never rewrites live routes (issue 12 item 2)', () => {
  it('converges from the store that knows the layout', async () => {
    const r = await runCli(['reconcile', '-c', cfg, '--yes'], { env, cwd: etc });
    expect(r.code).toBe(0);
    expect(writesBy()).toEqual({ CreateRoute: 26 * AWS.tables.length, ReplaceRoute: 0, DeleteRoute: 0 });
    expect(await tableRoutes()).toEqual(
      AWS.tables.flatMap((t) => [...layout].map(([id, s]) => `${t} ${s} ${id}`)).sort(),
    );
  });

  it('the default store path follows the config file: run from another directory, the same store, nothing to change', async () => {
    const other = join(dir, 'elsewhere');
    mkdirSync(other);
    const r = await runCli(['reconcile', '-c', cfg, '--dry-run'], { env, cwd: other });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Plan: 0 to create, 0 to replace, 0 to delete');
    expect(existsSync(join(other, '.routesync'))).toBe(false);
  });

  it('status (text and -o json) names the state file in use', async () => {
    const t = await runCli(['status', '-c', cfg], { env, cwd: REPO });
    expect(t.code).toBe(0);
    expect(t.stdout).toContain(`Store: file ${stateFile}`);
    const j = await runCli(['status', '-c', cfg, '-o', 'json'], { env, cwd: REPO });
    expect((JSON.parse(j.stdout) as { store: unknown }).store).toEqual({ type: 'file', path: stateFile });
  });

  it('state file deleted: --dry-run shows 26 adoptions and no change, and writes nothing', async () => {
    const before = await tableRoutes();
    unlinkSync(stateFile);
    const r = await runCli(['reconcile', '-c', cfg, '--dry-run'], { env, cwd: etc });
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^= adopt 172\.16\.\d+\.0\/24 → i-/gm)).toHaveLength(26);
    expect(r.stdout).toContain('Plan: 0 to create, 0 to replace, 0 to delete');
    expect(existsSync(stateFile)).toBe(false);
    expect(await tableRoutes()).toEqual(before);
  });

  it('state file deleted: reconcile adopts every route (no replace, no delete, exit 0) and the store knows the layout again', async () => {
    const before = await tableRoutes();
    const w = writesBy();
    const r = await runCli(['reconcile', '-c', cfg, '--yes'], { env, cwd: etc });
    expect(r.code).toBe(0);
    expect(writesBy()).toEqual(w);
    expect(await tableRoutes()).toEqual(before);
    const doc = JSON.parse(readFileSync(stateFile, 'utf8')) as {
      allocations: Array<{ instanceId: string; subnet: string }>;
    };
    expect(new Map(doc.allocations.map((a) => [a.instanceId, a.subnet]))).toEqual(layout);
  });
});
