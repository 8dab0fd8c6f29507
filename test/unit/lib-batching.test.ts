// src/lib/chunks.ts and src/lib/pool.ts: the one batching helper and the one bounded pool (the etcd store,
// the Aliyun batch apply and the AWS and GCE apply lanes use them).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunks } from '../../src/lib/chunks.ts';
import { forEachBounded } from '../../src/lib/pool.ts';

describe('chunks', () => {
  it('cuts in order into runs of exactly size, the last one shorter', () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), fc.integer({ min: 1, max: 20 }), (xs, size) => {
        const out = chunks(xs, size);
        expect(out.flat()).toEqual(xs);
        expect(out.length).toBe(Math.ceil(xs.length / size));
        out.forEach((c, i) => (i < out.length - 1 ? expect(c.length).toBe(size) : expect(c.length).toBeGreaterThan(0)));
      }),
    );
  });

  it('refuses a size that would loop forever or lose items', () => {
    for (const size of [0, -1, 1.5, Number.NaN])
      expect(() => chunks([1, 2], size)).toThrow(/size must be a positive integer/);
  });
});

describe('forEachBounded', () => {
  it('calls every item once with at most limit in flight', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 8 }), async (n, limit) => {
        let inFlight = 0;
        let most = 0;
        const seen: number[] = [];
        await forEachBounded(
          Array.from({ length: n }, (_, i) => i),
          limit,
          async (i) => {
            inFlight++;
            most = Math.max(most, inFlight);
            await new Promise<void>((r) => setImmediate(r));
            seen.push(i);
            inFlight--;
          },
        );
        expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(most).toBeLessThanOrEqual(Math.min(limit, Math.max(n, 1)));
      }),
    );
  });

  it('still makes progress with a limit below 1', async () => {
    const seen: number[] = [];
    await forEachBounded([1, 2, 3], 0, async (i) => void seen.push(i));
    expect(seen).toEqual([1, 2, 3]);
  });

  it('rejects with the first failure and starts nothing after an abort', async () => {
    await expect(
      forEachBounded([1, 2, 3], 2, async (i) => {
        if (i === 2) throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const ac = new AbortController();
    const seen: number[] = [];
    const run = forEachBounded(
      [1, 2, 3, 4],
      1,
      async (i) => {
        seen.push(i);
        if (i === 2) ac.abort(new Error('stopped'));
      },
      ac.signal,
    );
    await expect(run).rejects.toThrow('stopped');
    expect(seen).toEqual([1, 2]);
  });
});
