// Quota warnings: the route-table quota and the subnet pool are the two walls a growing cluster hits
// (k/k#17627: 200 nodes, quota 100, pods scheduled onto nodes without routes). Logs fire once per
// threshold crossing, not on every pass, so a table sitting at 85% does not flood the logs; falling back
// below a threshold re-arms it.
import type { Logger } from 'pino';

type Level = 0 | 1 | 2; // ok, warn, critical

const DAY_MS = 86_400_000;
/** The forecast looks at this much recent history. */
export const FORECAST_WINDOW_MS = 7 * DAY_MS;
const MAX_LOGGED_DESTINATIONS = 20;
/** History samples closer than this are merged: a pass every few seconds must not grow memory. */
export const HISTORY_STEP_MS = 5 * 60_000;

export interface QuotaWatcherOptions {
  warnRatio: number;
  criticalRatio: number;
  logger: Logger;
}

function ratioField(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 1)
    throw new RangeError(`quota.${name}: must be a number in (0, 1], got ${String(v)}`);
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
    if (this.warnRatio >= this.criticalRatio)
      throw new RangeError(
        `quota.warnRatio: ${this.warnRatio} must be below quota.criticalRatio ${this.criticalRatio}`,
      );
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
      if (next < prev)
        this.logger.info(
          { table, used, limit, level: levelName(next) },
          `route table ${table} usage fell back to ${used}/${limit}`,
        );
      return;
    }
    const pct = limit > 0 ? Math.round((used / limit) * 100) : 100;
    const fields = {
      table,
      used,
      limit,
      ratio: limit > 0 ? used / limit : 1,
      threshold: next === 2 ? this.criticalRatio : this.warnRatio,
    };
    if (next === 2) {
      this.logger.error(
        fields,
        `route table ${table} is at ${pct}% of its route quota (${used}/${limit}): new VMs will soon get no route; raise the quota (more route tables add no room: each carries every route)`,
      );
    } else {
      this.logger.warn(
        fields,
        `route table ${table} is at ${pct}% of its route quota (${used}/${limit}); request a quota increase before it fills`,
      );
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

  /** The whole forecast (trend, rate, horizon) from the recorded usage. */
  forecast(table: string, limit: number, now: number): QuotaForecast {
    return forecastQuota(this.history.get(table) ?? [], limit, now);
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
      if (next < prev)
        this.logger.info(
          { allocated, size, level: levelName(next) },
          `subnet pool usage fell back to ${allocated}/${size}`,
        );
      return;
    }
    const pct = size > 0 ? Math.round((allocated / size) * 100) : 100;
    const fields = {
      allocated,
      size,
      ratio: size > 0 ? allocated / size : 1,
      threshold: next === 2 ? this.criticalRatio : this.warnRatio,
    };
    if (next === 2) {
      this.logger.error(
        fields,
        `subnet pool is at ${pct}% (${allocated}/${size} subnets): new VMs will soon get no subnet; widen clusterCIDR or use a longer subnetLen`,
      );
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

/** What the usage history says about a table's (or project's) route quota. */
export type QuotaForecast =
  /** At or over the limit: creates are blocked now. */
  | { trend: 'full' }
  /** A single reading (or none): no rate yet. */
  | { trend: 'unknown' }
  /** No net growth over `overMs`, the longest stretch of history looked at (up to the 7-day window). */
  | { trend: 'flat'; overMs: number }
  /** Fewer entries now than `overMs` ago. */
  | { trend: 'shrinking'; overMs: number }
  /** `rise` entries over the last `overMs` (the steepest horizon): `perDay`, full in `daysToQuota` at that rate. */
  | { trend: 'growing'; rise: number; overMs: number; perDay: number; daysToQuota: number };

/**
 * Horizons the growth rate is measured over, each ending now and clipped to the history there is. The
 * steepest one wins: an operator must hear about a burst of VMs at once, not after it has been averaged
 * into a week (a week of 41 entries, then 9 more in a minute, is "growing", never "not growing").
 */
export const FORECAST_HORIZONS_MS = [10 * 60_000, 3_600_000, DAY_MS, FORECAST_WINDOW_MS] as const;
/**
 * A horizon shorter than the history counts only with a rise of at least this many entries: one VM added
 * in the last ten minutes is an event, not a rate to extrapolate. The longest horizon always counts, so a
 * short history (a fresh cluster) forecasts from whatever it has.
 */
export const FORECAST_MIN_RISE = 2;

/**
 * Forecast from usage samples (each the entry count at a time). Between samples the count is interpolated
 * linearly; equal-time pairs (before, after) make a step, which is how an event history is given. After the
 * latest sample the count is taken to hold until now. Samples after `now` are ignored.
 */
export function forecastQuota(
  history: ReadonlyArray<{ at: number; count: number }>,
  limit: number,
  now: number,
): QuotaForecast {
  if (!Number.isFinite(limit) || limit < 0)
    throw new RangeError(`forecast: limit must be a finite number >= 0, got ${limit}`);
  if (!Number.isFinite(now)) throw new RangeError(`forecast: now must be a finite epoch ms, got ${now}`);
  for (const h of history) {
    if (!Number.isFinite(h.at) || !Number.isFinite(h.count))
      throw new RangeError(`forecast: history entries need finite at and count, got ${JSON.stringify(h)}`);
  }
  // Stable sort: equal-time samples keep their given order (a step's before, then after).
  const series = history.filter((h) => h.at <= now).sort((a, b) => a.at - b.at);
  const latest = series.at(-1);
  if (!latest) return { trend: 'unknown' };
  if (latest.count >= limit) return { trend: 'full' };
  const first = series[0]!;
  const countAt = (t: number): number => {
    let lo = 0;
    let hi = series.length;
    // The first sample after t.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (series[mid]!.at <= t) lo = mid + 1;
      else hi = mid;
    }
    const right = series[lo];
    const left = series[lo - 1];
    if (!left) return first.count;
    if (!right) return left.count;
    return left.count + ((right.count - left.count) * (t - left.at)) / (right.at - left.at);
  };
  const longest = Math.min(FORECAST_WINDOW_MS, now - first.at);
  if (!(longest > 0)) return { trend: 'unknown' };
  let best: { rise: number; overMs: number; perDay: number } | undefined;
  for (const h of FORECAST_HORIZONS_MS) {
    const overMs = Math.min(h, longest);
    const rise = latest.count - countAt(now - overMs);
    if (rise <= 0 || (overMs < longest && rise < FORECAST_MIN_RISE)) continue;
    const perDay = (rise / overMs) * DAY_MS;
    if (!best || perDay > best.perDay) best = { rise, overMs, perDay };
    if (overMs === longest) break;
  }
  if (best) return { trend: 'growing', ...best, daysToQuota: (limit - latest.count) / best.perDay };
  return { trend: latest.count < countAt(now - longest) ? 'shrinking' : 'flat', overMs: longest };
}

/** Days until the limit (0 when full), or null when not growing or unknown: the forecast metric's value. */
export function forecastDaysToQuota(
  history: ReadonlyArray<{ at: number; count: number }>,
  limit: number,
  now: number,
): number | null {
  const f = forecastQuota(history, limit, now);
  return f.trend === 'full' ? 0 : f.trend === 'growing' ? f.daysToQuota : null;
}
