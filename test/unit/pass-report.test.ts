// What the controller makes of a pass's report: the quota after the pass's writes (the pass itself
// reports the quota it read), and the metrics and quota watcher fed from that.
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config.ts';
import { cloudInventory } from '../../src/inventory/cloud.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { RoutesyncMetrics } from '../../src/metrics.ts';
import { afterWrites, observeReport } from '../../src/pass-report.ts';
import { QuotaWatcher } from '../../src/quota.ts';
import { reconcileOnce } from '../../src/reconcile.ts';
import { createMemoryStore } from '../../src/store/memory/store.ts';
import { FakeProvider, type FakeOptions } from '../helpers/fake-provider.ts';

async function onePass(opts: FakeOptions, vms: number) {
  const provider = new FakeProvider(opts);
  for (let i = 0; i < vms; i++) provider.addInstance(`i-${i}`);
  return reconcileOnce(
    {
      config: validateConfig({
        cluster: 'c1',
        clusterCIDR: '10.0.0.0/16',
        provider: { type: 'aws', region: 'r', vpcId: 'vpc-1' },
        store: { type: 'memory' },
      }),
      provider,
      inventory: cloudInventory(provider),
      store: createMemoryStore(),
      logger: silentLogger,
      clock: new ManualClock(),
      signal: new AbortController().signal,
      fence: () => undefined,
    },
    { quotaExceeded: new Set() },
    { full: true },
  );
}

describe('pass report', () => {
  it("counts a table's applied creates into its quota; the pass reports the quota as read", async () => {
    const raw = await onePass({ tables: ['rtb-1', 'rtb-2'], quota: 10 }, 3);
    expect(raw.tables.map((t) => t.quota?.used)).toEqual([0, 0]);
    expect(afterWrites(raw).tables.map((t) => t.quota?.used)).toEqual([3, 3]);
  });

  it('counts every table’s writes into a project-wide quota', async () => {
    const raw = await onePass({ tables: ['net-a', 'net-b'], quota: 10, scope: 'project' }, 2);
    expect(afterWrites(raw).tables.map((t) => t.quota?.used)).toEqual([4, 4]);
  });

  it('feeds the metrics and the quota watcher from the quota after the writes', async () => {
    const report = afterWrites(await onePass({ quota: 4 }, 5));
    const metrics = new RoutesyncMetrics({ provider: 'aws', defaultMetrics: false });
    const blocked: Array<[string, number]> = [];
    const watcher = new QuotaWatcher({ warnRatio: 0.8, criticalRatio: 0.9, logger: silentLogger });
    watcher.reportBlocked = (t: string, n: number) => {
      blocked.push([t, n]);
    };
    observeReport(report, { metrics, quotaWatcher: watcher, now: 0 });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/routesync_route_table_entries\{[^}]*table="rtb-1"[^}]*\} 4/);
    expect(blocked).toEqual([['rtb-1', 1]]);
  });
});
