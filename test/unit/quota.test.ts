import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pino, type Logger } from 'pino';
import { FORECAST_MIN_RISE, QuotaWatcher, forecastDaysToQuota, forecastQuota } from '../../src/quota.ts';

interface Entry {
  level: number;
  msg: string;
  [k: string]: unknown;
}

function capture(): { logger: Logger; entries: Entry[]; at(level: 'warn' | 'error' | 'info'): Entry[] } {
  const entries: Entry[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void entries.push(JSON.parse(s) as Entry) });
  const num = { info: 30, warn: 40, error: 50 } as const;
  return { logger, entries, at: (l) => entries.filter((e) => e.level === num[l]) };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 0, 10);

describe('QuotaWatcher thresholds', () => {
  it('warns once per crossing, not on every pass', () => {
    const c = capture();
    const w = new QuotaWatcher({ warnRatio: 0.8, criticalRatio: 0.95, logger: c.logger });
    w.observeTable('rtb-1', 10, 50);
    expect(c.entries).toHaveLength(0);
    for (let i = 0; i < 5; i++) w.observeTable('rtb-1', 40 + (i % 2), 50); // 80%, 82%, ...
    expect(c.at('warn')).toHaveLength(1);
    expect(c.at('warn')[0]).toMatchObject({ table: 'rtb-1', used: 40, limit: 50 });
    expect(c.at('warn')[0]!.msg).toContain('rtb-1');
    expect(c.at('error')).toHaveLength(0);
  });

  it('re-arms when usage falls back below the threshold', () => {
    const c = capture();
    const w = new QuotaWatcher({ warnRatio: 0.8, criticalRatio: 0.95, logger: c.logger });
    w.observeTable('rtb-1', 40, 50);
    w.observeTable('rtb-1', 30, 50);
    w.observeTable('rtb-1', 30, 50);
    w.observeTable('rtb-1', 41, 50);
    expect(c.at('warn')).toHaveLength(2);
  });

  it('logs an error at critical, once, and again after falling to warn and crossing back', () => {
    const c = capture();
    const w = new QuotaWatcher({ warnRatio: 0.8, criticalRatio: 0.95, logger: c.logger });
    w.observeTable('rtb-1', 41, 50); // warn
    w.observeTable('rtb-1', 48, 50); // critical
    w.observeTable('rtb-1', 50, 50);
    expect(c.at('warn')).toHaveLength(1);
    expect(c.at('error')).toHaveLength(1);
    w.observeTable('rtb-1', 45, 50); // back to warn: no new warn (still above warn since the crossing)
    expect(c.at('warn')).toHaveLength(1);
    w.observeTable('rtb-1', 49, 50);
    expect(c.at('error')).toHaveLength(2);
  });

  it('a jump straight to critical logs only the error', () => {
    const c = capture();
    const w = new QuotaWatcher({ warnRatio: 0.8, criticalRatio: 0.95, logger: c.logger });
    w.observeTable('t', 99, 100);
    expect(c.at('error')).toHaveLength(1);
    expect(c.at('warn')).toHaveLength(0);
  });

  it('keeps thresholds per table', () => {
    const c = capture();
    const w = new QuotaWatcher({ warnRatio: 0.8, criticalRatio: 0.95, logger: c.logger });
    w.observeTable('a', 80, 100);
    w.observeTable('b', 80, 100);
    w.observeTable('a', 81, 100);
    expect(c.at('warn').map((e) => e.table)).toEqual(['a', 'b']);
  });

  it('treats a zero limit as full', () => {
    const c = capture();
    const w = new QuotaWatcher({ warnRatio: 0.8, criticalRatio: 0.95, logger: c.logger });
    w.observeTable('t', 0, 0);
    expect(c.at('error')).toHaveLength(1);
  });

  it('applies the same thresholds to the subnet pool', () => {
    const c = capture();
    const w = new QuotaWatcher({ warnRatio: 0.8, criticalRatio: 0.95, logger: c.logger });
    w.observePool(100, 256);
    w.observePool(205, 256); // 80.1%
    w.observePool(206, 256);
    expect(c.at('warn')).toHaveLength(1);
    expect(c.at('warn')[0]).toMatchObject({ allocated: 205, size: 256 });
    w.observePool(250, 256);
    expect(c.at('error')).toHaveLength(1);
    expect(c.at('error')[0]!.msg).toMatch(/subnet pool/);
    w.observePool(10, 256);
    w.observePool(250, 256);
    expect(c.at('error')).toHaveLength(2);
  });

  it('reportBlocked names the table and the number of VMs without route, once per change', () => {
    const c = capture();
    const w = new QuotaWatcher({ warnRatio: 0.8, criticalRatio: 0.95, logger: c.logger });
    const dests = Array.from({ length: 30 }, (_, i) => `10.0.${i}.0/24`);
    w.reportBlocked('rtb-9', 30, dests);
    w.reportBlocked('rtb-9', 30, dests);
    const errs = c.at('error');
    expect(errs).toHaveLength(1);
    expect(errs[0]!.msg).toContain('30 VM(s)');
    expect(errs[0]!.msg).toContain('rtb-9');
    expect(errs[0]).toMatchObject({ table: 'rtb-9', vmsWithoutRoute: 30, more: 10 });
    expect(errs[0]!.destinations).toHaveLength(20);
    w.reportBlocked('rtb-9', 31, dests);
    expect(c.at('error')).toHaveLength(2);
    w.reportBlocked('rtb-9', 0, []);
    expect(c.at('info')).toHaveLength(1);
  });

  it('rejects bad options and numbers with the field name', () => {
    const logger = capture().logger;
    expect(() => new QuotaWatcher({ warnRatio: 0.95, criticalRatio: 0.8, logger })).toThrow(/warnRatio/);
    expect(() => new QuotaWatcher({ warnRatio: 0, criticalRatio: 0.8, logger })).toThrow(/warnRatio/);
    expect(() => new QuotaWatcher({ warnRatio: 0.5, criticalRatio: 1.5, logger })).toThrow(/criticalRatio/);
    const w = new QuotaWatcher({ warnRatio: 0.8, criticalRatio: 0.95, logger });
    expect(() => w.observeTable('t', -1, 50)).toThrow(/used/);
    expect(() => w.observeTable('t', 1, NaN)).toThrow(/limit/);
  });

  it('property: warn+error logs never exceed the number of upward crossings', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 60 }), (series) => {
        const c = capture();
        const w = new QuotaWatcher({ warnRatio: 0.8, criticalRatio: 0.95, logger: c.logger });
        let prev = 0;
        let crossings = 0;
        const lvl = (u: number) => (u >= 95 ? 2 : u >= 80 ? 1 : 0);
        for (const u of series) {
          w.observeTable('t', u, 100);
          if (lvl(u) > prev) crossings++;
          prev = lvl(u);
        }
        expect(c.at('warn').length + c.at('error').length).toBe(crossings);
      }),
    );
  });
});

describe('forecastDaysToQuota', () => {
  const series = (days: number, perDay: number, start: number, stepH = 6) => {
    const out: Array<{ at: number; count: number }> = [];
    for (let t = -days * DAY; t <= 0; t += stepH * HOUR)
      out.push({ at: NOW + t, count: start + perDay * ((t + days * DAY) / DAY) });
    return out;
  };

  it('growing: days until the limit at the recent slope', () => {
    // 40 → 54 over 7 days: 2 per day; 54 now, limit 100 → 23 days.
    const d = forecastDaysToQuota(series(7, 2, 40), 100, NOW);
    expect(d).not.toBeNull();
    expect(d!).toBeCloseTo(23, 6);
  });

  it('uses only the last 7 days', () => {
    // A flat month before a week of growth must not dilute the slope.
    const old = Array.from({ length: 20 }, (_, i) => ({ at: NOW - 30 * DAY + i * DAY, count: 40 }));
    const d = forecastDaysToQuota([...old, ...series(7, 2, 40)], 100, NOW);
    expect(d!).toBeCloseTo(23, 6);
  });

  it('flat: null', () => {
    expect(forecastDaysToQuota(series(7, 0, 40), 100, NOW)).toBeNull();
  });

  it('shrinking: null', () => {
    expect(forecastDaysToQuota(series(7, -3, 80), 100, NOW)).toBeNull();
  });

  it('no history, or one reading: unknown', () => {
    expect(forecastQuota([], 100, NOW)).toEqual({ trend: 'unknown' });
    expect(forecastQuota([{ at: NOW, count: 10 }], 100, NOW)).toEqual({ trend: 'unknown' });
    expect(forecastDaysToQuota([{ at: NOW, count: 10 }], 100, NOW)).toBeNull();
  });

  it('a short, steep history is growing, with how fast (was "not growing" under an hour of history)', () => {
    // 10 → 20 in ten minutes: 1 a minute, 80 left → 80 minutes.
    const f = forecastQuota(
      [
        { at: NOW - 600_000, count: 10 },
        { at: NOW, count: 20 },
      ],
      100,
      NOW,
    );
    expect(f).toMatchObject({ trend: 'growing', rise: 10, overMs: 600_000, perDay: 1440 });
    expect(
      forecastDaysToQuota(
        [
          { at: NOW - 600_000, count: 10 },
          { at: NOW, count: 20 },
        ],
        100,
        NOW,
      )!,
    ).toBeCloseTo(80 / 1440, 9);
    // The table: 41 → 48 of 50 in a minute.
    const g = forecastQuota(
      [
        { at: NOW - 60_000, count: 41 },
        { at: NOW, count: 48 },
      ],
      50,
      NOW,
    );
    expect(g).toMatchObject({ trend: 'growing', rise: 7, overMs: 60_000 });
    if (g.trend === 'growing') expect(g.daysToQuota * DAY).toBeCloseTo((2 / 7) * 60_000, 3);
  });

  it('41 → 50 of 50 in a minute: full, whatever the history', () => {
    expect(
      forecastQuota(
        [
          { at: NOW - 60_000, count: 41 },
          { at: NOW, count: 50 },
        ],
        50,
        NOW,
      ),
    ).toEqual({ trend: 'full' });
    expect(forecastQuota([{ at: NOW, count: 50 }], 50, NOW)).toEqual({ trend: 'full' });
    expect(
      forecastDaysToQuota(
        [
          { at: NOW - 60_000, count: 41 },
          { at: NOW, count: 50 },
        ],
        50,
        NOW,
      ),
    ).toBe(0);
  });

  it('a burst after a flat week is not averaged away', () => {
    const flat = Array.from({ length: 7 * 288 }, (_, i) => ({ at: NOW - 7 * DAY + i * 300_000, count: 41 }));
    const f = forecastQuota([...flat, { at: NOW - 60_000, count: 41 }, { at: NOW, count: 49 }], 50, NOW);
    expect(f.trend).toBe('growing');
    // At the rate of the last ten minutes (8 in 10 min), not of the week (8 in 7 days).
    if (f.trend === 'growing') {
      expect(f.overMs).toBe(600_000);
      expect(f.daysToQuota * DAY).toBeLessThan(HOUR);
    }
  });

  it('one VM in the last minutes does not outweigh a steady trend', () => {
    // 2 a day for a week, then one more entry just now: 3 over the last day, not 1 per 10 minutes.
    const s = series(7, 2, 40);
    const f = forecastQuota([...s.slice(0, -1), { at: NOW - 30_000, count: 54 }, { at: NOW, count: 55 }], 100, NOW);
    expect(f.trend).toBe('growing');
    if (f.trend === 'growing') expect(f.perDay).toBeCloseTo(3, 6);
  });

  it('flat over the window, and samples older than it only set where it starts', () => {
    expect(
      forecastQuota(
        [
          { at: NOW - 9 * DAY, count: 10 },
          { at: NOW - 8 * DAY, count: 20 },
        ],
        100,
        NOW,
      ),
    ).toEqual({ trend: 'flat', overMs: 7 * DAY });
    expect(forecastQuota(series(7, -3, 80), 100, NOW)).toEqual({ trend: 'shrinking', overMs: 7 * DAY });
  });

  it('equal-time pairs are steps: the count holds between events', () => {
    // 10 until 3 h ago, then 20: the last hour saw no rise, the last 3 h saw 10.
    const f = forecastQuota(
      [
        { at: NOW - 6 * HOUR, count: 10 },
        { at: NOW - 3 * HOUR, count: 10 },
        { at: NOW - 3 * HOUR, count: 20 },
        { at: NOW, count: 20 },
      ],
      100,
      NOW,
    );
    expect(f).toMatchObject({ trend: 'growing', rise: 10, overMs: 6 * HOUR });
  });

  it('property: a count above where the window starts and below the limit is always growing', () => {
    const sample = fc.record({ ago: fc.integer({ min: 0, max: 8 * DAY }), count: fc.integer({ min: 0, max: 300 }) });
    fc.assert(
      fc.property(fc.array(sample, { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 400 }), (raw, limit) => {
        const h = raw.map((x) => ({ at: NOW - x.ago, count: x.count }));
        const f = forecastQuota(h, limit, NOW);
        const latest = [...h].sort((a, b) => a.at - b.at).at(-1)!;
        if (latest.count >= limit) {
          expect(f).toEqual({ trend: 'full' });
          return;
        }
        const sorted = [...h].sort((a, b) => a.at - b.at);
        if (sorted.every((x) => x.at >= NOW - 7 * DAY) && sorted[0]!.at < NOW && sorted[0]!.count < latest.count)
          expect(f.trend).toBe('growing');
        if (f.trend === 'growing') {
          expect(f.rise).toBeGreaterThan(0);
          expect(f.daysToQuota).toBeGreaterThan(0);
          expect(f.daysToQuota).toBeCloseTo((limit - latest.count) / f.perDay, 6);
        }
      }),
    );
  });

  it('property: a rise of two or more within the last ten minutes is reported at least that steep', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 7 * DAY }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: FORECAST_MIN_RISE, max: 50 }),
        fc.integer({ min: 1, max: 600_000 }),
        (flatFor, base, rise, within) => {
          const h = [
            { at: NOW - within - flatFor, count: base },
            { at: NOW - within, count: base },
            { at: NOW, count: base + rise },
          ];
          const f = forecastQuota(h, base + rise + 10, NOW);
          expect(f.trend).toBe('growing');
          if (f.trend === 'growing') expect(f.perDay).toBeGreaterThanOrEqual((rise / 600_000) * DAY * (1 - 1e-9));
        },
      ),
    );
  });

  it('property: sample order does not matter', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ at: fc.integer({ min: NOW - 8 * DAY, max: NOW }), count: fc.integer({ min: 0, max: 99 }) }),
          { maxLength: 20 },
        ),
        (h) => {
          const uniq = [...new Map(h.map((x) => [x.at, x])).values()];
          expect(forecastQuota([...uniq].reverse(), 100, NOW)).toEqual(forecastQuota(uniq, 100, NOW));
        },
      ),
    );
  });

  it('already at the limit: 0', () => {
    expect(forecastDaysToQuota(series(2, 5, 90), 100, NOW)).toBe(0);
  });

  it('is independent of sample order', () => {
    const s = series(7, 2, 40);
    expect(forecastDaysToQuota([...s].reverse(), 100, NOW)!).toBeCloseTo(23, 6);
  });

  it('rejects non-finite input naming the field', () => {
    expect(() => forecastDaysToQuota([{ at: NaN, count: 1 }], 100, NOW)).toThrow(/history/);
    expect(() => forecastDaysToQuota([], Infinity, NOW)).toThrow(/limit/);
  });

  it('property: on a noiseless linear series the forecast is exact', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 1, max: 7 }),
        (perDay, start, days) => {
          const s = series(days, perDay, start);
          const latest = start + perDay * days;
          const limit = latest + 1000;
          expect(forecastDaysToQuota(s, limit, NOW)!).toBeCloseTo(1000 / perDay, 6);
        },
      ),
    );
  });
});

describe('QuotaWatcher usage history', () => {
  it('forecasts from recorded usage and keeps memory bounded', () => {
    const w = new QuotaWatcher({ warnRatio: 0.8, criticalRatio: 0.95, logger: pino({ level: 'silent' }) });
    expect(w.forecastDays('rtb-1', 100, NOW)).toBeNull();
    // A pass every 30 s for 10 days, growing 2 entries per day.
    const start = NOW - 10 * DAY;
    for (let t = start; t <= NOW; t += 30_000) w.recordUsage('rtb-1', t, 20 + Math.floor(((t - start) / DAY) * 2));
    const d = w.forecastDays('rtb-1', 100, NOW);
    expect(d).not.toBeNull();
    // 40 entries now, 2 per day → about 30 days (the floor() staircase shifts the fit a little).
    expect(d!).toBeGreaterThan(28);
    expect(d!).toBeLessThan(32);
    w.forgetTable('rtb-1');
    expect(w.forecastDays('rtb-1', 100, NOW)).toBeNull();
  });

  it('ignores samples that go back in time', () => {
    const w = new QuotaWatcher({ warnRatio: 0.8, criticalRatio: 0.95, logger: pino({ level: 'silent' }) });
    w.recordUsage('t', NOW - 2 * HOUR, 10);
    w.recordUsage('t', NOW, 20);
    w.recordUsage('t', NOW - HOUR, 1000);
    expect(w.forecastDays('t', 100, NOW)!).toBeCloseTo(80 / 120, 6);
  });
});
