// What the controller makes of a pass's report: each table's quota after the pass's writes, and the
// metrics and quota watcher fed from it.
import type { RoutesyncMetrics } from './metrics.ts';
import type { QuotaWatcher } from './quota.ts';
import type { PassReport, TableReport } from './pass-types.ts';

/**
 * The report with each table's quota as it stands after the pass's writes (the read was taken before
 * applying), so metrics, warnings and /status do not lag a pass behind. A project-wide quota (GCE) moves
 * with the writes of every table.
 */
export function afterWrites(report: PassReport): PassReport {
  const entryDelta = new Map<string, number>();
  for (const res of report.results) {
    if (res.outcome !== 'applied') continue;
    const d = res.change.op === 'create' ? 1 : res.change.op === 'delete' ? -1 : 0;
    entryDelta.set(res.change.table, (entryDelta.get(res.change.table) ?? 0) + d);
  }
  if (entryDelta.size === 0) return report;
  const projectDelta = [...entryDelta.values()].reduce((a, b) => a + b, 0);
  const tables = report.tables.map((t): TableReport => {
    if (!t.quota) return t;
    const delta = t.quota.scope === 'project' ? projectDelta : (entryDelta.get(t.id) ?? 0);
    return { ...t, quota: { ...t.quota, used: Math.max(0, t.quota.used + delta) } };
  });
  return { ...report, tables };
}

/** Feeds a pass's report (quota after its writes) to the metrics and the quota watcher. */
export function observeReport(
  report: PassReport,
  sinks: { metrics?: RoutesyncMetrics; quotaWatcher?: QuotaWatcher; now: number },
): void {
  const { metrics: m, quotaWatcher: qw, now } = sinks;
  const pool = report.pool;
  if (m) {
    for (const t of report.tables) {
      m.setRouteStates(t.id, t.states);
      if (t.quota) m.setTableQuota(t.id, t.quota.used, t.quota.limit);
    }
    m.setPool(pool.size, pool.allocated, pool.free);
    if (report.inventory.ok) m.setInstances(report.inventory.byState);
    m.setSafetyValve(report.valve.held);
  }
  if (!qw) return;
  for (const t of report.tables) {
    if (!t.quota) continue;
    qw.observeTable(t.id, t.quota.used, t.quota.limit);
    // Forecast from what this process has seen; `routesync status` forecasts from the store's history.
    qw.recordUsage(t.id, now, t.quota.used);
    m?.setTableForecastDays(t.id, qw.forecastDays(t.id, t.quota.limit, now));
  }
  qw.observePool(pool.allocated, pool.size);
  // Every read table is reported, zero included, so the watcher re-arms once a table is unblocked.
  const blockedBy = new Map<string, string[]>(report.tables.filter((t) => t.quota).map((t) => [t.id, []]));
  for (const f of report.plan.findings)
    if (f.kind === 'blocked:quota') blockedBy.set(f.table, [...(blockedBy.get(f.table) ?? []), f.destination]);
  for (const [t, dests] of blockedBy) qw.reportBlocked(t, dests.length, dests);
}
