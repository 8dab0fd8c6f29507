// The route-table wall, end to end on the AWS emulator (50 routes per table): warn at 90 %, block the VMs
// that do not fit with a critical log, a metric and exit code 1, no retry storm, and recover once the
// quota is raised.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ManualClock } from '../../src/lib/clock.ts';
import { Controller } from '../../src/controller.ts';
import { MemoryLeadership } from '../../src/store/memory/leadership.ts';
import { RoutesyncMetrics } from '../../src/metrics.ts';
import { QuotaWatcher } from '../../src/quota.ts';
import { FileStore } from '../../src/store/file/store.ts';
import type { Store } from '../../src/store/types.ts';
import { cliEnv, runCli } from '../../testkit/cli.ts';
import { emulatorConfigDoc, startCloud, type CloudFixture } from '../../testkit/clouds.ts';
import { cloudInventory } from '../../src/inventory/cloud.ts';

interface LogLine {
  level: number;
  msg: string;
  table?: string;
}

const WARN = 40;
const ERROR = 50;

describe('quota wall (AWS emulator, 50 routes per table)', () => {
  let f: CloudFixture;
  let dir: string;
  let configPath: string;
  let store: Store;
  let c: Controller;
  let metrics: RoutesyncMetrics;
  const logs: LogLine[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'routesync-quota-'));
    const storeDoc = { type: 'file', path: join(dir, 'state.json') };
    f = await startCloud('aws', { routeQuota: 50, instances: 45, config: { store: storeDoc } });
    // The same config for the CLI run below, so it sees the controller's allocations.
    configPath = join(dir, 'routesync.yaml');
    writeFileSync(configPath, stringify(emulatorConfigDoc('aws', f.emu.url, { store: storeDoc })));
    const logger = pino({ level: 'info' }, { write: (s: string) => logs.push(JSON.parse(s) as LogLine) });
    metrics = new RoutesyncMetrics({ provider: 'aws', defaultMetrics: false });
    const quotaWatcher = new QuotaWatcher({ warnRatio: 0.8, criticalRatio: 0.95, logger });
    // Unguarded (the controller here leads by MemoryLeadership), as the test's own process is not a routesync run.
    store = new FileStore(storeDoc.path, {
      pool: { clusterCIDR: f.config.clusterCIDR, subnetLen: f.config.subnetLen },
    });
    c = new Controller({
      config: f.config,
      provider: f.provider,
      inventory: cloudInventory(f.provider),
      store,
      leadership: new MemoryLeadership(),
      logger,
      clock: new ManualClock(),
      metrics,
      quotaWatcher,
    });
  });

  afterAll(async () => {
    await store?.close();
    await f?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function gauge(name: string, labels: Record<string, string>): Promise<number[]> {
    const m = await metrics.registry.getSingleMetric(name)?.get();
    return (m?.values ?? [])
      .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
      .map((v) => v.value);
  }

  it('45 VMs: converges, warns once per table, usage ratio 0.9', async () => {
    const r = await c.runOnce({ full: true });
    expect(r.converged).toBe(true);
    const tables = r.tables.map((t) => t.id);
    expect(tables).toHaveLength(2);
    expect(await gauge('routesync_route_table_usage_ratio', {})).toEqual([0.9, 0.9]);
    const warns = logs.filter((l) => l.level === WARN && l.table !== undefined);
    expect(warns.map((l) => l.table).sort()).toEqual([...tables].sort());
    // Not every pass: a second pass at the same usage logs nothing new.
    await c.runOnce({ full: true });
    expect(logs.filter((l) => l.level === WARN && l.table !== undefined)).toHaveLength(2);
  });

  it('10 more VMs: 5 blocked per table, critical log, blocked_quota = 5, no retry storm', async () => {
    await f.admin('POST', 'instances', { count: 10 });
    const errorsBefore = logs.filter((l) => l.level === ERROR).length;
    const r = await c.runOnce({ full: true });
    expect(r.converged).toBe(false);
    const blocked = r.plan.findings.filter((x) => x.kind === 'blocked:quota');
    expect(blocked).toHaveLength(10);
    expect(await gauge('routesync_routes', { state: 'blocked_quota' })).toEqual([5, 5]);
    expect(await gauge('routesync_route_table_usage_ratio', {})).toEqual([1, 1]);
    const errors = logs.slice(errorsBefore).filter((l) => l.level === ERROR);
    // Per table: the critical threshold crossing and the blocked-VM report naming the count.
    expect(errors.filter((l) => /route quota \(50\/50\)/.test(l.msg))).toHaveLength(2);
    expect(errors.filter((l) => /^5 VM\(s\) have no route in table/.test(l.msg))).toHaveLength(2);

    // The full tables are not hammered: further passes make no route writes at all.
    const writes = await f.routeWrites();
    for (let i = 0; i < 3; i++) await c.runOnce({ full: i === 2 });
    expect(await f.routeWrites()).toBe(writes);
  });

  it('`routesync reconcile` exits 1 and shows the blocked routes', async () => {
    const r = await runCli(['reconcile', '-c', configPath, '--yes'], { env: cliEnv() });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/⊘ blocked:quota/);
    expect(r.stdout).toMatch(/10 blocked by quota/);
  });

  it('raising the quota: the next full pass creates the blocked routes', async () => {
    await f.admin('POST', 'quota', { limit: 60 });
    const r = await c.runOnce({ full: true });
    expect(r.results.filter((x) => x.change.op === 'create' && x.outcome === 'applied')).toHaveLength(10);
    expect(r.converged).toBe(true);
    expect(await gauge('routesync_routes', { state: 'blocked_quota' })).toEqual([0, 0]);
  });
});
