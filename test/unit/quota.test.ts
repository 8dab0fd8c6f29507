import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pino, type Logger } from 'pino';
import { QuotaWatcher, forecastDaysToQuota } from '../../src/quota.ts';

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
    for (let t = -days * DAY; t <= 0; t += stepH * HOUR) out.push({ at: NOW + t, count: start + perDay * ((t + days * DAY) / DAY) });
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

  it('too little history: null', () => {
    expect(forecastDaysToQuota([], 100, NOW)).toBeNull();
    expect(forecastDaysToQuota([{ at: NOW, count: 10 }], 100, NOW)).toBeNull();
    // Two samples ten minutes apart are a burst, not a trend.
    expect(forecastDaysToQuota([{ at: NOW - 600_000, count: 10 }, { at: NOW, count: 20 }], 100, NOW)).toBeNull();
    // Samples older than the window do not count.
    expect(forecastDaysToQuota([{ at: NOW - 9 * DAY, count: 10 }, { at: NOW - 8 * DAY, count: 20 }], 100, NOW)).toBeNull();
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
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 7 }), (perDay, start, days) => {
        const s = series(days, perDay, start);
        const latest = start + perDay * days;
        const limit = latest + 1000;
        expect(forecastDaysToQuota(s, limit, NOW)!).toBeCloseTo(1000 / perDay, 6);
      }),
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
