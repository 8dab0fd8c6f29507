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

const ok = (d: string): ChangeResult => ({ change: { op: 'create', table: 't1', destination: d, target: 'i-1', reason: 'r' }, outcome: 'applied' });
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
});
