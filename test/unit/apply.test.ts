import { describe, expect, it } from 'vitest';
import type { Change } from '../../providers/types.ts';
import { applyPlan } from '../../src/apply.ts';
import { silentLogger } from '../../src/log.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';

const create = (table: string, n: number, target = 'i-1'): Change => ({
  op: 'create',
  table,
  destination: `10.0.${n}.0/24`,
  target,
  reason: 't',
});

function setup(quota = 50) {
  const p = new FakeProvider({ tables: ['a', 'b'], quota });
  p.addInstance('i-1');
  return p;
}

describe('applyPlan', () => {
  it('runs every table at once and reports results grouped by table in plan order', async () => {
    const p = new FakeProvider({ tables: ['a', 'b', 'c'] });
    p.addInstance('i-1');
    // Each table's first write waits until all three tables have started: one table after another never gets there.
    const started = new Set<string>();
    let allIn!: () => void;
    const barrier = new Promise<void>((r) => (allIn = r));
    p.beforeChange = async (c) => {
      started.add(c.table);
      if (started.size === 3) allIn();
      await barrier;
    };
    const rep = await applyPlan(
      [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
      [create('b', 1), create('a', 2), create('b', 3), create('c', 4)],
      {
        provider: p,
        logger: silentLogger,
        signal: new AbortController().signal,
        fence: () => undefined,
      },
    );
    expect(rep.results.map((r) => `${r.change.table}:${r.change.destination}:${r.outcome}`)).toEqual([
      'b:10.0.1.0/24:applied',
      'b:10.0.3.0/24:applied',
      'a:10.0.2.0/24:applied',
      'c:10.0.4.0/24:applied',
    ]);
    expect(rep.stopped).toBeUndefined();
    expect(p.writes).toHaveLength(4);
  });

  it('a provider that throws skips its own table; the tables running beside it still finish', async () => {
    const p = setup();
    const inner = p.apply.bind(p);
    p.apply = async (table, changes, opts) => {
      if (table.id === 'a') {
        // Fails after b has started.
        await new Promise((r) => setImmediate(r));
        throw new Error('bug');
      }
      return inner(table, changes, opts);
    };
    const results: string[] = [];
    const rep = await applyPlan([{ id: 'a' }, { id: 'b' }], [create('a', 1), create('b', 2)], {
      provider: p,
      logger: silentLogger,
      signal: new AbortController().signal,
      fence: () => undefined,
      onResult: (r) => results.push(`${r.change.table}:${r.outcome}`),
    });
    expect(rep.results.map((r) => `${r.change.table}:${r.outcome}`)).toEqual(['a:skipped', 'b:applied']);
    expect(results.sort()).toEqual(['a:skipped', 'b:applied']);
    expect(rep.stopped).toContain('provider error: bug');
  });

  it('I4: a failed fence before a table skips it and every table not started yet', async () => {
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
    const rep = await applyPlan([{ id: 'a' }, { id: 'b' }], [create('a', 1), create('b', 2)], {
      provider: p,
      logger: silentLogger,
      signal: ac.signal,
      fence: () => undefined,
    });
    expect(p.writes).toEqual([]);
    expect(rep.results.every((r) => r.outcome === 'skipped')).toBe(true);
  });

  it('I5: records tables whose creates hit the quota', async () => {
    const p = setup(1);
    const rep = await applyPlan([{ id: 'a' }], [create('a', 1), create('a', 2), create('a', 3)], {
      provider: p,
      logger: silentLogger,
      signal: new AbortController().signal,
      fence: () => undefined,
    });
    expect([...rep.quotaExceeded]).toEqual(['a']);
    expect(p.calls.create).toBe(2);
  });
});
