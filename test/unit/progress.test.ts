import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ProviderError, type ChangeResult } from '../../providers/types.ts';
import { progressReporter } from '../../src/progress.ts';

function sink(tty: boolean) {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  s.isTTY = tty;
  s.columns = 200;
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString()));
  return { s, text: () => text };
}

const ok = (d: string): ChangeResult => ({
  change: { op: 'create', table: 't1', destination: d, target: 'i-1', reason: 'r' },
  outcome: 'applied',
});
const bad = (d: string): ChangeResult => ({
  change: { op: 'create', table: 't1', destination: d, target: 'i-2', reason: 'r' },
  outcome: 'failed',
  error: new ProviderError('quota', 'RouteLimitExceeded', 'full', { action: 'CreateRoute' }),
});

describe('apply progress', () => {
  it('on a terminal: one line updated in place, failures kept as lines, cleared at the end', () => {
    const { s, text } = sink(true);
    const p = progressReporter(s);
    p.onProgress({ type: 'start', table: 't1', total: 3 });
    p.onProgress({ type: 'result', table: 't1', result: ok('10.0.0.0/24') });
    p.onProgress({ type: 'result', table: 't1', result: bad('10.0.1.0/24') });
    p.onProgress({ type: 'wait', table: 't1', reason: 'entries settling', ms: 200 });
    p.done();
    const out = text();
    expect(out).toContain('\r\x1b[2Kapplying 1/3 — t1');
    expect(out).toContain('✗ t1 create 10.0.1.0/24 → i-2: RouteLimitExceeded full\n');
    expect(out).toContain('applying 2/3, 1 failed — t1: entries settling (200 ms)');
    expect(out.endsWith('\r\x1b[2K')).toBe(true);
    // Successes are not printed one per line on a terminal.
    expect(out).not.toContain('✓');
  });

  it('elsewhere: one plain line per change and per wait', () => {
    const { s, text } = sink(false);
    const p = progressReporter(s);
    p.onProgress({ type: 'start', table: 't1', total: 2 });
    p.onProgress({ type: 'result', table: 't1', result: ok('10.0.0.0/24') });
    p.onProgress({ type: 'wait', table: 't1', reason: 'entries settling', ms: 200 });
    p.done();
    expect(text()).toBe('✓ t1 create 10.0.0.0/24 → i-1\n… t1: entries settling (200 ms)\n');
  });

  it('on a terminal, while reading: what is being read, a count only once the tables are known, then cleared', () => {
    const { s, text } = sink(true);
    let t = 0;
    const p = progressReporter(s, { now: () => t, tickMs: 0 });
    p.onProgress({ type: 'read', item: 'route tables', phase: 'start' });
    p.onProgress({ type: 'read', item: 'inventory', phase: 'start' });
    t = 2500;
    p.onProgress({ type: 'tables', ids: ['t1', 't2'] });
    p.onProgress({ type: 'read', item: 't1', phase: 'start' });
    p.onProgress({ type: 'read', item: 't2', phase: 'start' });
    p.onProgress({ type: 'read', item: 't1', phase: 'failed' });
    p.onProgress({ type: 'read', item: 'inventory', phase: 'done' });
    const before = text();
    p.onProgress({ type: 'read', item: 't2', phase: 'done' });
    const frames = before.split('\r\x1b[2K').filter(Boolean);
    expect(frames).toEqual([
      'reading — route tables (0s)',
      'reading — route tables, inventory (0s)',
      'reading 0/3 — inventory (2s)',
      'reading 0/3 — inventory, t1 (2s)',
      'reading 0/3 — inventory, t1, t2 (2s)',
      'reading 1/3, 1 failed — inventory, t2 (2s)',
      'reading 2/3, 1 failed — t2 (2s)',
    ]);
    // All read: the line is gone before the plan is printed.
    expect(text().endsWith('\r\x1b[2K')).toBe(true);
  });

  it('on a terminal, the apply total is the whole plan from the start, not a sum of tables as they start', () => {
    const { s, text } = sink(true);
    const p = progressReporter(s, { tickMs: 0 });
    p.onProgress({ type: 'apply', total: 5 });
    p.onProgress({ type: 'start', table: 't1', total: 2 });
    p.onProgress({ type: 'result', table: 't1', result: ok('10.0.0.0/24') });
    p.onProgress({ type: 'start', table: 't2', total: 3 });
    p.done();
    expect(text().split('\r\x1b[2K').filter(Boolean)).toEqual([
      'applying 0/5 — t1',
      'applying 1/5 — t1',
      'applying 1/5 — t2',
    ]);
  });

  it('elsewhere, reads print nothing', () => {
    const { s, text } = sink(false);
    const p = progressReporter(s);
    p.onProgress({ type: 'read', item: 'inventory', phase: 'start' });
    p.onProgress({ type: 'tables', ids: ['t1'] });
    p.onProgress({ type: 'apply', total: 1 });
    p.done();
    expect(text()).toBe('');
  });

  it('on a terminal, a second pass counts its reads afresh', () => {
    const { s, text } = sink(true);
    const p = progressReporter(s, { now: () => 0, tickMs: 0 });
    for (let pass = 0; pass < 2; pass++) {
      p.onProgress({ type: 'read', item: 'route tables', phase: 'start' });
      p.onProgress({ type: 'tables', ids: ['t1'] });
      p.onProgress({ type: 'read', item: 'inventory', phase: 'start' });
      p.onProgress({ type: 'read', item: 't1', phase: 'start' });
      p.onProgress({ type: 'read', item: 't1', phase: 'done' });
      p.onProgress({ type: 'read', item: 'inventory', phase: 'done' });
    }
    const frames = text().split('\r\x1b[2K').filter(Boolean);
    const once = [
      'reading — route tables (0s)',
      'reading 0/2 — inventory (0s)',
      'reading 0/2 — inventory, t1 (0s)',
      'reading 1/2 — inventory (0s)',
    ];
    expect(frames).toEqual([...once, ...once]);
  });
});
