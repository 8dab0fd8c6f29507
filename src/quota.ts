// Quota warnings: the route-table quota and the subnet pool are the two walls a growing cluster hits
// (k/k#17627: 200 nodes, quota 100, pods scheduled onto nodes without routes). Logs fire once per
// threshold crossing, not on every pass, so a table sitting at 85% does not flood the logs; falling back
// below a threshold re-arms it.
import type { Logger } from 'pino';

type Level = 0 | 1 | 2; // ok, warn, critical

const DAY_MS = 86_400_000;
/** The forecast looks at this much recent history. */
export const FORECAST_WINDOW_MS = 7 * DAY_MS;
/** Less history than this says nothing about a growth rate (one burst of VMs is not a trend). */
export const FORECAST_MIN_SPAN_MS = 3_600_000;
const MAX_LOGGED_DESTINATIONS = 20;
/** History samples closer than this are merged: a pass every few seconds must not grow memory. */
export const HISTORY_STEP_MS = 5 * 60_000;

export interface QuotaWatcherOptions {
  warnRatio: number;
  criticalRatio: number;
  logger: Logger;
}

function ratioField(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 1) throw new RangeError(`quota.${name}: must be a number in (0, 1], got ${String(v)}`);
  return v;
}

function countField(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`quota: ${name} must be a finite number >= 0, got ${v}`);
  return v;
}

export class QuotaWatcher {
  private readonly warnRatio: number;
  private readonly criticalRatio: number;
  private readonly logger: Logger;
  private readonly tableLevels = new Map<string, Level>();
  private poolLevel: Level = 0;
  private readonly blocked = new Map<string, number>();
  private readonly history = new Map<string, Array<{ at: number; count: number }>>();

  constructor(opts: QuotaWatcherOptions) {
    this.warnRatio = ratioField('warnRatio', opts.warnRatio);
    this.criticalRatio = ratioField('criticalRatio', opts.criticalRatio);
    if (this.warnRatio >= this.criticalRatio) throw new RangeError(`quota.warnRatio: ${this.warnRatio} must be below quota.criticalRatio ${this.criticalRatio}`);
    this.logger = opts.logger;
  }

  private level(used: number, limit: number): Level {
    // No room at all (limit 0) counts as full.
    const ratio = limit > 0 ? used / limit : 1;
    if (ratio >= this.criticalRatio) return 2;
    if (ratio >= this.warnRatio) return 1;
    return 0;
  }

  observeTable(table: string, used: number, limit: number): void {
    countField('used', used);
    countField('limit', limit);
    const prev = this.tableLevels.get(table) ?? 0;
    const next = this.level(used, limit);
    this.tableLevels.set(table, next);
    if (next <= prev) {
      if (next < prev) this.logger.info({ table, used, limit, level: levelName(next) }, `route table ${table} usage fell back to ${used}/${limit}`);
      return;
    }
    const pct = limit > 0 ? Math.round((used / limit) * 100) : 100;
    const fields = { table, used, limit, ratio: limit > 0 ? used / limit : 1, threshold: next === 2 ? this.criticalRatio : this.warnRatio };
    if (next === 2) {
      this.logger.error(fields, `route table ${table} is at ${pct}% of its route quota (${used}/${limit}): new VMs will soon get no route; raise the quota (more route tables add no room: each carries every route)`);
    } else {
      this.logger.warn(fields, `route table ${table} is at ${pct}% of its route quota (${used}/${limit}); request a quota increase before it fills`);
    }
  }

  /**
   * Remembers a table's entry count for forecastDays(): one sample per HISTORY_STEP_MS (the newest wins),
   * kept for the forecast window, so at most ~2000 samples per table.
   */
  recordUsage(table: string, at: number, used: number): void {
    countField('used', used);
    if (!Number.isFinite(at)) throw new RangeError(`quota: at must be a finite epoch ms, got ${at}`);
    const h = this.history.get(table) ?? [];
    this.history.set(table, h);
    const last = h.at(-1);
    if (last && at < last.at) return; // out of order (clock step back): keep the series monotonic
    // The newest sample always stays; it replaces the previous newest while both lie within one step of the
    // sample before them, so stored samples are at least a step apart except for the last.
    const before = h.at(-2);
    if (last && before && at - before.at < HISTORY_STEP_MS) {
      last.at = at;
      last.count = used;
    } else h.push({ at, count: used });
    while (h.length > 0 && h[0]!.at < at - FORECAST_WINDOW_MS) h.shift();
  }

  /** Days until the table's quota at its recorded growth rate; null when not growing or too little history. */
  forecastDays(table: string, limit: number, now: number): number | null {
    return forecastDaysToQuota(this.history.get(table) ?? [], limit, now);
  }

  /** Forgets a table that is no longer configured or discovered. */
  forgetTable(table: string): void {
    this.tableLevels.delete(table);
    this.blocked.delete(table);
    this.history.delete(table);
  }

  observePool(allocated: number, size: number): void {
    countField('allocated', allocated);
    countField('size', size);
    const prev = this.poolLevel;
    const next = this.level(allocated, size);
    this.poolLevel = next;
    if (next <= prev) {
      if (next < prev) this.logger.info({ allocated, size, level: levelName(next) }, `subnet pool usage fell back to ${allocated}/${size}`);
      return;
    }
    const pct = size > 0 ? Math.round((allocated / size) * 100) : 100;
    const fields = { allocated, size, ratio: size > 0 ? allocated / size : 1, threshold: next === 2 ? this.criticalRatio : this.warnRatio };
    if (next === 2) {
      this.logger.error(fields, `subnet pool is at ${pct}% (${allocated}/${size} subnets): new VMs will soon get no subnet; widen clusterCIDR or use a longer subnetLen`);
    } else {
      this.logger.warn(fields, `subnet pool is at ${pct}% (${allocated}/${size} subnets); plan a wider clusterCIDR`);
    }
  }

  /**
   * VMs left without a route because the table is full. Logged at error when the number changes (a new VM
   * blocked, or some unblocked), so a steady state does not repeat itself every pass; the
   * routesync_routes{state="blocked_quota"} metric and alert carry the persistence.
   */
  reportBlocked(table: string, vmsWithoutRoute: number, destinations: string[]): void {
    countField('vmsWithoutRoute', vmsWithoutRoute);
    const prev = this.blocked.get(table) ?? 0;
    if (vmsWithoutRoute === prev) return;
    if (vmsWithoutRoute === 0) {
      this.blocked.delete(table);
      this.logger.info({ table }, `route table ${table}: no VM is blocked by the route quota any more`);
      return;
    }
    this.blocked.set(table, vmsWithoutRoute);
    const shown = destinations.slice(0, MAX_LOGGED_DESTINATIONS);
    this.logger.error(
      { table, vmsWithoutRoute, destinations: shown, more: destinations.length - shown.length },
      `${vmsWithoutRoute} VM(s) have no route in table ${table}: its route quota is exhausted; raise the quota (pods on those VMs are unreachable from other nodes)`,
    );
  }
}

function levelName(l: Level): string {
  return l === 2 ? 'critical' : l === 1 ? 'warn' : 'ok';
}

/**
 * Days until `count` reaches `limit` at the growth rate of the last 7 days (least-squares slope over the
 * samples in that window), counted from the latest sample's count. 0 when already at or over the limit.
 * null when not growing, or when the window holds fewer than 2 samples or spans less than an hour.
 */
export function forecastDaysToQuota(history: Array<{ at: number; count: number }>, limit: number, now: number): number | null {
  if (!Number.isFinite(limit) || limit < 0) throw new RangeError(`forecast: limit must be a finite number >= 0, got ${limit}`);
  if (!Number.isFinite(now)) throw new RangeError(`forecast: now must be a finite epoch ms, got ${now}`);
  const recent = history.filter((h) => {
    if (!Number.isFinite(h.at) || !Number.isFinite(h.count)) throw new RangeError(`forecast: history entries need finite at and count, got ${JSON.stringify(h)}`);
    return h.at <= now && h.at >= now - FORECAST_WINDOW_MS;
  });
  if (recent.length < 2) return null;
  // Days relative to now keep the sums small, so the slope does not lose precision on epoch-ms values.
  const xs = recent.map((h) => (h.at - now) / DAY_MS);
  const ys = recent.map((h) => h.count);
  const minX = Math.min(...xs);
  const maxX = Math.max(...xs);
  if ((maxX - minX) * DAY_MS < FORECAST_MIN_SPAN_MS) return null;
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    sxy += dx * (ys[i]! - my);
    sxx += dx * dx;
  }
  const slope = sxy / sxx; // entries per day
  let latest = recent[0]!;
  for (const h of recent) if (h.at >= latest.at) latest = h;
  if (latest.count >= limit) return 0;
  if (!(slope > 0)) return null;
  return (limit - latest.count) / slope;
}
