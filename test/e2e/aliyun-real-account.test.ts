// Behaviour of real Alibaba Cloud accounts, played by the Aliyun emulator and met by the real provider
// (pop-core) and the reconcile engine (issue 16, items 11 and 15).
import { afterEach, describe, expect, it } from 'vitest';
import { createAliyunEmulator, EMULATOR_TOPOLOGY } from '../../emulators/aliyun/emulator.ts';
import { startEmulator, type RunningEmulator } from '../../emulators/shared/server.ts';
import { createAliyunProvider, type AliyunInternalOptions } from '../../providers/aliyun/provider.ts';
import { configFor } from '../../providers/plugins.ts';
import type { Change, CloudAdapter, Instance, RouteTable } from '../../providers/types.ts';
import { validateConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { startCloud, type CloudFixture } from '../../testkit/clouds.ts';
import { controllerWorld } from '../../testkit/controller-world.ts';

const [SYS, CUS] = EMULATOR_TOPOLOGY.tables;
const table: RouteTable = { id: SYS, vpcId: EMULATOR_TOPOLOGY.vpcId };
const signal = () => AbortSignal.timeout(30_000);

let f: CloudFixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

async function vms(fx: CloudFixture, count: number): Promise<Instance[]> {
  const r = await fx.admin('POST', 'instances', { count });
  const ids = new Set(r.json.instances.map((i: { id: string }) => i.id));
  return (await fx.provider.listInstances(signal())).filter((i) => ids.has(i.id));
}

const creates = (list: Instance[], from = 0): Change[] =>
  list.map((v, i) => ({
    op: 'create',
    table: SYS,
    destination: `172.16.${from + i}.0/24`,
    target: v.id,
    reason: 'test',
  }));

const counted = (fx: CloudFixture, action: string): Record<string, number> =>
  fx.emu.counters.snapshot().byAction[action] ?? {};

describe('aliyun on a real account: retryable codes and other writers (item 11)', () => {
  it.each([
    'IncorrectInstanceStatus',
    'IncorrectVSwitchStatus',
    'IncorrectHaVipStatus',
    'IncorrectStatus.VpcRouteTable',
    'LastTokenProcessing',
    'OperationFailed.DistibuteLock',
    'ServiceUnavailable',
  ])('%s on a batch write is retried with backoff and the write lands', async (code) => {
    f = await startCloud('aliyun');
    const list = await vms(f, 2);
    await f.admin('POST', 'faults', { action: 'CreateRouteEntries', rate: 1, error: code, count: 2 });
    const res = await f.provider.apply(table, creates(list), { signal: signal() });
    expect(res.map((r) => r.outcome)).toEqual(['applied', 'applied']);
    expect(counted(f, 'CreateRouteEntries')).toEqual({ [code]: 2, ok: 1 });
    expect(f.retries.filter((r) => r.action === 'CreateRouteEntries')).toHaveLength(2);
  });

  it('another writer in the VPC (a console or Terraform task): our batch waits it out, without spinning', async () => {
    f = await startCloud('aliyun');
    const list = await vms(f, 3);
    // The other writer's route task runs on the other table of the VPC: batches anywhere in it are refused.
    const other = await f.admin('POST', 'routes', {
      table: CUS,
      destination: '10.200.0.0/24',
      nextHop: 'vpn-other',
      task: 3000,
    });
    expect(other.status).toBeLessThan(300);
    const res = await f.provider.apply(table, creates(list), { signal: signal() });
    expect(res.map((r) => r.outcome)).toEqual(['applied', 'applied', 'applied']);
    const c = counted(f, 'CreateRouteEntries');
    expect(c.ok).toBe(1);
    const refused = (c.OperationConflict ?? 0) + (c.TaskConflict ?? 0) + (c.IncorrectRouteEntryStatus ?? 0);
    expect(refused).toBeGreaterThan(0);
    // Backoff (0.25 s doubling, in cloud time), not a tight loop: the writer's 3 s task costs a few refusals.
    expect(refused).toBeLessThanOrEqual(6);
    const st = (await f.admin('GET', 'state')).json;
    const cus = st.tables.find((t: { id: string }) => t.id === CUS);
    expect(cus.routes.some((r: { destination: string }) => r.destination === '10.200.0.0/24')).toBe(true);
  });
});

describe('aliyun on a real account: DescribeInstances without the permission (item 15)', () => {
  it('zero VMs while allocations exist: the valve holds and names the ecs:DescribeInstances permission', async () => {
    const w = await controllerWorld('aliyun', 3);
    f = w.f;
    const { c, store, clock } = w;
    await w.settle(8, (r) => r.plan.changes.length + r.plan.findings.length > 0);
    expect((await store.load()).allocations).toHaveLength(3);
    // A key without ecs:DescribeInstances is answered an empty list, not an error.
    await f.admin('POST', 'faults', { action: 'DescribeInstances', rate: 1, error: 'empty-listing' });
    const writes = await f.writes();
    clock.advance(60 * 60_000);
    for (let i = 0; i < 2; i++) {
      const held = await c.runOnce({ full: true });
      expect(held.inventory.ok).toBe(true);
      expect(held.valve.held).toBe(true);
      expect(held.valve.reason).toMatch(/inventory is empty while 3 VM\(s\) hold subnets/);
      expect(held.valve.reason).toMatch(/ecs:DescribeInstances/);
      expect(held.results.filter((x) => x.change.op !== 'create')).toEqual([]);
    }
    expect(await f.writes()).toBe(writes);
    expect((await store.load()).allocations).toHaveLength(3);
  });
});

describe('aliyun on a real account: settle polling under the per-account rate limit (item 13)', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const x of open.splice(0)) await x.close();
  });

  /** Real time (timeScale 1): the fast profile's entries settle 40-100 ms after a write. */
  async function direct(
    settle: AliyunInternalOptions['settle'],
    retry: AliyunInternalOptions['retry'],
    /** The provider's: its waits (settle, retry, the pacer's 60 s) are cloud ms divided by it. */
    timeScale = 1,
  ) {
    const emu: RunningEmulator = await startEmulator(createAliyunEmulator, {
      profile: 'fast',
      timeScale: 1,
      instanceTag: { key: 'routesync-cluster', value: 'test' },
    });
    open.push(emu);
    process.env.ALIBABA_CLOUD_ACCESS_KEY_ID = 'ak-settle';
    process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET = 'secret';
    const config = validateConfig({
      cluster: 'test',
      clusterCIDR: '172.16.0.0/16',
      store: { type: 'memory' },
      provider: {
        type: 'aliyun',
        region: EMULATOR_TOPOLOGY.region,
        vpcId: EMULATOR_TOPOLOGY.vpcId,
        endpoint: emu.url,
        instanceFilter: 'routesync-cluster=test',
      },
    });
    const provider: CloudAdapter = createAliyunProvider(
      configFor('aliyun', config.provider),
      { cluster: 'test', clusterCIDR: '172.16.0.0/16', logger: silentLogger, timeScale },
      { retry, settle, taskWindowMs: 1, requestTimeoutMs: 2000 },
    );
    open.push(provider);
    const r = await fetch(`${emu.url}/_emulator/instances`, { method: 'POST', body: JSON.stringify({ count: 3 }) });
    const ids = new Set(((await r.json()) as { instances: Array<{ id: string }> }).instances.map((i) => i.id));
    const list = (await provider.listInstances(signal())).filter((i) => ids.has(i.id));
    const reads = () =>
      Object.values(emu.counters.snapshot().byAction.DescribeRouteEntryList ?? {}).reduce((a, b) => a + b, 0);
    return { emu, provider, list, reads };
  }

  it('Throttling.User on settle reads slows the polling; the wait goes on until the entries are Available', async () => {
    const { emu, provider, list } = await direct(
      {
        firstPollMs: 1,
        pollMs: 2,
        listPollMs: 2,
        concurrency: 2,
        maxWaitMs: 20_000,
        readsPerMinute: Number.POSITIVE_INFINITY,
      },
      { attempts: 2, baseMs: 1, capMs: 2 },
    );
    // More throttled answers than the call's own retries: the settle loop itself sees Throttling.User.
    await fetch(`${emu.url}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ action: 'DescribeRouteEntryList', rate: 1, error: 'Throttling.User', count: 6 }),
    });
    const res = await provider.apply(table, creates(list), { signal: signal() });
    expect(res.map((r) => r.outcome)).toEqual(['applied', 'applied', 'applied']);
    expect(emu.counters.snapshot().byAction.DescribeRouteEntryList?.['Throttling.User']).toBe(6);
    // The apply returned once its task had settled, not when a read was refused.
    const ours = (await provider.listRoutes(table, signal())).filter((r) => r.destination.startsWith('172.16.'));
    expect(ours.map((r) => r.state)).toEqual(['active', 'active', 'active']);
  });

  it('settle reads stay within the configured allowance in any 60 s', async () => {
    // The provider plays 600× faster than the emulator: its 60 s are 100 ms, in which it may make 10 settle
    // reads; its polling looks every 2 ms (1,200 cloud ms), so unpaced it would read ~50 times per 100 ms.
    const { provider, list, reads } = await direct(
      {
        firstPollMs: 600,
        pollMs: 1200,
        listPollMs: 1200,
        concurrency: 2,
        maxWaitMs: 12_000_000,
        readsPerMinute: 10,
      },
      { attempts: 3, baseMs: 600, capMs: 1200 },
      600,
    );
    const before = reads();
    const t0 = performance.now();
    const res = await provider.apply(table, creates(list), { signal: signal() });
    const ms = performance.now() - t0;
    expect(res.map((r) => r.outcome)).toEqual(['applied', 'applied', 'applied']);
    const settleReads = reads() - before;
    expect(settleReads).toBeGreaterThan(0);
    // A sliding 60 s window: at most 10 in the first 100 ms and 10 more in each further 100 ms.
    expect(settleReads).toBeLessThanOrEqual(10 * (Math.floor(ms / 100) + 1));
  });
});
