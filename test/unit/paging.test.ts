// The one paging loop (src/lib/paging.ts) against a simulated cursor API: a true listing comes back whole
// and once, overlapping pages are de-duplicated, and every pathology a hostile or broken API can play
// (a short listing under a reported total, a repeating token, endless distinct tokens) is a failed read
// within a bounded number of pages.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { collectPages, DEFAULT_MAX_PAGES, pageBudget, type Page } from '../../src/lib/paging.ts';

class ReadFailed extends Error {}

interface Api {
  fetch: (token: string | undefined) => Promise<Page<string>>;
  calls: number;
}

type Mode = 'true' | 'overlap' | 'short' | 'endless' | 'repeat';

/** A cursor API over `all`; `reportTotal` adds the total to every page, as Aliyun's DescribeInstances does. */
function api(all: string[], pageSize: number, mode: Mode, reportTotal: boolean): Api {
  const a: Api = {
    calls: 0,
    async fetch(token) {
      a.calls++;
      const m = token === undefined ? { offset: 0, n: 0 } : (JSON.parse(token) as { offset: number; n: number });
      const start = mode === 'overlap' && m.offset > 0 ? m.offset - 1 : m.offset;
      const items = all.slice(start, m.offset + pageSize);
      const end = m.offset + pageSize;
      let next: string | undefined = end < all.length ? JSON.stringify({ offset: end, n: 0 }) : undefined;
      if (mode === 'short') next = undefined;
      // Endless: the last page again and again, each time behind a new token.
      if (mode === 'endless') next = JSON.stringify({ offset: end < all.length ? end : m.offset, n: m.n + 1 });
      if (mode === 'repeat') next = JSON.stringify({ offset: 0, n: -1 });
      return { items, next, ...(reportTotal ? { total: all.length } : {}) };
    },
  };
  return a;
}

async function read(a: Api, pageSize: number, maxPages?: number): Promise<string[]> {
  const out: string[] = [];
  await collectPages(
    (t) => a.fetch(t),
    (i) => out.push(i),
    { pageSize, key: (i) => i, fail: (r) => new ReadFailed(r), ...(maxPages !== undefined ? { maxPages } : {}) },
  );
  return out;
}

const listing = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 60 });
const pageSize = fc.integer({ min: 1, max: 25 });

describe('collectPages', () => {
  it('returns a true listing whole, in order, with or without a total', async () => {
    await fc.assert(
      fc.asyncProperty(listing, pageSize, fc.boolean(), async (all, size, total) => {
        expect(await read(api(all, size, 'true', total), size)).toEqual(all);
      }),
    );
  });

  it('drops the entry overlapping pages repeat: every entry once', async () => {
    await fc.assert(
      fc.asyncProperty(listing, pageSize, fc.boolean(), async (all, size, total) => {
        expect(await read(api(all, size, 'overlap', total), size)).toEqual(all);
      }),
    );
  });

  it('a listing that ends short of the total it reports is a failed read', async () => {
    await fc.assert(
      fc.asyncProperty(listing, pageSize, async (all, size) => {
        fc.pre(all.length > size);
        await expect(read(api(all, size, 'short', true), size)).rejects.toThrow(
          /with \d+ of the \d+ entries the API reports/,
        );
      }),
    );
  });

  it('a repeating token is a failed read at its second sight', async () => {
    await fc.assert(
      fc.asyncProperty(listing, pageSize, fc.boolean(), async (all, size, total) => {
        const a = api(all, size, 'repeat', total);
        await expect(read(a, size)).rejects.toBeInstanceOf(ReadFailed);
        expect(a.calls).toBeLessThanOrEqual(3);
      }),
    );
  });

  it('endless distinct tokens are a failed read within the page budget', async () => {
    await fc.assert(
      fc.asyncProperty(listing, pageSize, fc.boolean(), async (all, size, total) => {
        const a = api(all, size, 'endless', total);
        await expect(read(a, size)).rejects.toBeInstanceOf(ReadFailed);
        expect(a.calls).toBeLessThanOrEqual(total ? pageBudget(all.length, size) : DEFAULT_MAX_PAGES);
      }),
    );
  });

  it('endless empty pages (legal one by one) stop at the budget, holding nothing', async () => {
    let calls = 0;
    const out: string[] = [];
    const run = collectPages(
      async (t) => {
        calls++;
        return { items: [], next: `t${Number(t?.slice(1) ?? 0) + 1}` };
      },
      (i: string) => out.push(i),
      { pageSize: 100, key: (i) => i, fail: (r, kind) => new ReadFailed(`${kind}: ${r}`), maxPages: 50 },
    );
    await expect(run).rejects.toThrow(/^budget: still more pages after 50/);
    expect(calls).toBe(50);
    expect(out).toEqual([]);
  });

  it('with a total: the budget is what the total needs, so 110 entries at 100 per page take at most 5 pages', async () => {
    expect(pageBudget(110, 100)).toBe(5);
    expect(pageBudget(0, 100)).toBe(1);
    expect(pageBudget(undefined, 100)).toBe(DEFAULT_MAX_PAGES);
    expect(pageBudget(10_000_000, 1)).toBe(DEFAULT_MAX_PAGES);
  });

  it('more distinct entries than the reported total, or a nonsense total, is a failed read', async () => {
    const fail = (r: string) => new ReadFailed(r);
    await expect(
      collectPages(
        async () => ({ items: ['a', 'b', 'c'], next: undefined, total: 2 }),
        () => {},
        { pageSize: 10, key: (i) => i, fail },
      ),
    ).rejects.toThrow(/more than the total of 2/);
    await expect(
      collectPages(
        async () => ({ items: [], next: undefined, total: -1 }),
        () => {},
        { pageSize: 10, key: (i) => i, fail },
      ),
    ).rejects.toThrow(/reports a total of -1/);
  });

  it('a page of nothing but earlier entries is a failed read, even behind a new token', async () => {
    let n = 0;
    const run = collectPages(
      async () => ({ items: ['a', 'b'], next: `t${n++}` }),
      () => {},
      { pageSize: 2, key: (i) => i, fail: (r) => new ReadFailed(r) },
    );
    await expect(run).rejects.toThrow(/page 2 lists only entries of earlier pages/);
    expect(n).toBe(2);
  });

  it('passes the fetch error through untouched and stops', async () => {
    const boom = new Error('page 2 failed');
    let calls = 0;
    const run = collectPages(
      async (t) => {
        calls++;
        if (t) throw boom;
        return { items: ['a'], next: 'x' };
      },
      () => {},
      { pageSize: 1, key: (i: string) => i, fail: (r) => new ReadFailed(r) },
    );
    await expect(run).rejects.toBe(boom);
    expect(calls).toBe(2);
  });
});
