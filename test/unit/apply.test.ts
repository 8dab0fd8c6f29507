import { describe, expect, it } from 'vitest';
import type { Change } from '../../providers/types.ts';
import { applyPlan } from '../../src/apply.ts';
import { silentLogger } from '../../src/log.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';

const create = (table: string, n: number, target = 'i-1'): Change => ({ op: 'create', table, destination: `10.0.${n}.0/24`, target, reason: 't' });

function setup(quota = 50) {
  const p = new FakeProvider({ tables: ['a', 'b'], quota });
  p.addInstance('i-1');
  return p;
}

describe('applyPlan', () => {
  it('applies table by table in plan order and reports every change', async () => {
    const p = setup();
    const rep = await applyPlan([{ id: 'a' }, { id: 'b' }], [create('b', 1), create('a', 2), create('b', 3)], { provider: p, logger: silentLogger, signal: new AbortController().signal, fence: () => undefined });
    expect(rep.results.map((r) => `${r.change.table}:${r.outcome}`)).toEqual(['b:applied', 'b:applied', 'a:applied']);
    expect(p.writes.map((w) => w.table)).toEqual(['b', 'b', 'a']);
  });

  it('I4: a failed fence before a table skips it and every later table', async () => {
    const p = setup();
    let n = 0;
    const rep = await applyPlan([{ id: 'a' }, { id: 'b' }], [create('a', 1), create('b', 2)], {
      provider: p,
      logger: silentLogger,
      signal: new AbortController().signal,
      fence: () => {
        if (++n > 2) throw new Error('lease gone');
      },
    });
    expect(p.writes).toHaveLength(1);
    expect(rep.results.map((r) => r.outcome)).toEqual(['applied', 'skipped']);
    expect(rep.stopped).toContain('leadership lost');
  });

  it('an aborted signal skips the rest instead of writing', async () => {
    const p = setup();
    const ac = new AbortController();
    p.beforeChange = () => ac.abort('stop');
    const rep = await applyPlan([{ id: 'a' }, { id: 'b' }], [create('a', 1), create('b', 2)], { provider: p, logger: silentLogger, signal: ac.signal, fence: () => undefined });
    expect(p.writes).toEqual([]);
    expect(rep.results.every((r) => r.outcome === 'skipped')).toBe(true);
  });

  it('I5: records tables whose creates hit the quota', async () => {
    const p = setup(1);
    const rep = await applyPlan([{ id: 'a' }], [create('a', 1), create('a', 2), create('a', 3)], { provider: p, logger: silentLogger, signal: new AbortController().signal, fence: () => undefined });
    expect([...rep.quotaExceeded]).toEqual(['a']);
    expect(p.calls.create).toBe(2);
  });
});
