import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { planDifference } from '../../src/approval.ts';
import { RoutesyncMetrics } from '../../src/metrics.ts';
import { RecurringWarnings, type Occurrence } from '../../src/recurring.ts';
import { parsePromText, sampleValue } from '../helpers/prom-text.ts';
import type { Change } from '../../providers/types.ts';

function capture() {
  const lines: Array<{ level: number; msg: string; passes?: number }> = [];
  return {
    lines,
    logger: pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as (typeof lines)[number]) }),
  };
}

const conflict = (dest: string, table = 't1'): Occurrence => ({
  key: `c:${table}:${dest}`,
  kind: 'conflict',
  table,
  fields: { table, destination: dest },
  msg: `conflict at ${dest}`,
});

describe('RecurringWarnings', () => {
  it('warns when a finding starts, counts its repeats, logs once when it ends', async () => {
    const { lines, logger } = capture();
    const metrics = new RoutesyncMetrics({ provider: 'aws', defaultMetrics: false });
    const w = new RecurringWarnings(logger, metrics);
    for (let i = 0; i < 4; i++) w.observe([conflict('10.0.1.0/24')]);
    expect(lines.map((l) => l.msg)).toEqual(['conflict at 10.0.1.0/24']);
    const fams = parsePromText(await metrics.metricsText());
    expect(sampleValue(fams, 'routesync_warnings_repeated_total', { kind: 'conflict' })).toBe(3);
    expect(sampleValue(fams, 'routesync_warnings_active', { kind: 'conflict' })).toBe(1);
    w.observe([]);
    expect(lines.map((l) => l.msg)).toEqual([
      'conflict at 10.0.1.0/24',
      'ended after 4 pass(es): conflict at 10.0.1.0/24',
    ]);
    expect(
      sampleValue(parsePromText(await metrics.metricsText()), 'routesync_warnings_active', { kind: 'conflict' }),
    ).toBe(0);
    // It comes back: a new start.
    w.observe([conflict('10.0.1.0/24')]);
    expect(lines).toHaveLength(3);
  });

  it('a table not read this pass neither repeats nor ends its findings', () => {
    const { lines, logger } = capture();
    const w = new RecurringWarnings(logger);
    w.observe([conflict('10.0.1.0/24', 't1'), conflict('10.0.2.0/24', 't2')]);
    w.observe([conflict('10.0.2.0/24', 't2')], (t) => t === 't1');
    expect(lines).toHaveLength(2);
    w.observe([conflict('10.0.2.0/24', 't2')]);
    expect(lines.map((l) => l.msg)).toEqual([
      'conflict at 10.0.1.0/24',
      'conflict at 10.0.2.0/24',
      'ended after 1 pass(es): conflict at 10.0.1.0/24',
    ]);
  });
});

describe('planDifference (the apply-time check of a confirmed plan)', () => {
  const create = (dest: string, target = 'i-1', table = 't1'): Change => ({
    op: 'create',
    table,
    destination: dest,
    target,
    reason: 'r',
  });
  const shown = {
    allocated: [{ instanceId: 'i-1', subnet: '10.0.0.0/24' }],
    changes: [create('10.0.0.0/24'), create('10.0.0.0/24', 'i-1', 't2')],
  };

  it('the same plan, or less of it, may be applied', () => {
    expect(planDifference(shown, shown)).toBeUndefined();
    expect(planDifference(shown, { allocated: [], changes: [create('10.0.0.0/24', 'i-1', 't2')] })).toBeUndefined();
  });

  it('anything not shown stops it, named', () => {
    expect(planDifference(shown, { allocated: [{ instanceId: 'i-2', subnet: '10.0.1.0/24' }], changes: [] })).toBe(
      'allocate 10.0.1.0/24 → i-2 was not shown',
    );
    expect(planDifference(shown, { allocated: [], changes: [create('10.0.0.0/24', 'i-9')] })).toBe(
      'create 10.0.0.0/24 → i-9 in t1 was not shown',
    );
    const del: Change = {
      op: 'delete',
      table: 't1',
      destination: '10.0.5.0/24',
      target: 'i-5',
      previousTarget: 'i-5',
      reason: 'stale',
    };
    expect(
      planDifference(
        { allocated: [], changes: [del] },
        { allocated: [], changes: [{ ...del, target: 'i-6', previousTarget: 'i-6' }] },
      ),
    ).toBe('delete 10.0.5.0/24 in t1 was not shown');
  });
});
