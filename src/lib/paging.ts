// The one paging loop of every provider listing (instances and routes on every cloud). A listing is only
// as good as its worst page, so the loop refuses what a real cloud never does: a page token that comes
// back, more pages than the listing can have, a page that only repeats earlier entries, and a count short
// (or long) of the total the API itself reports. Each of those is a failed read (DESIGN I3), thrown as the
// caller's own error type. Items go to the caller's accumulator page by page, de-duplicated by identity,
// so a hostile paging answer costs at most `budget` pages of memory, never an unbounded list.
// Base layer: imports nothing of ours.
import { createHash } from 'node:crypto';

export interface Page<T> {
  items: Iterable<T>;
  /** The next page's token; empty, null or undefined at the end. */
  next: string | null | undefined;
  /** The listing's total as this page reports it, when the API reports one. */
  total?: number | undefined;
}

/** Why a listing was refused: `budget` is the only one a caller may take for "too big to want", not broken. */
export type PagingFailure = 'budget' | 'token' | 'stall' | 'total';

export interface PagingOptions<T> {
  /** The page size asked for: with a reported total it sets the page budget. */
  pageSize: number;
  /**
   * An item's identity (the provider id, or what the cloud guarantees unique): an item whose key was seen
   * already is the same entry listed twice (overlapping pages) and is dropped, not handed on.
   */
  key: (item: T) => string;
  /** The page budget when the API reports no total (default DEFAULT_MAX_PAGES). */
  maxPages?: number;
  /** The caller's failed-read error for `reason` (a ProviderError in the providers). */
  fail: (reason: string, kind: PagingFailure) => Error;
  signal?: AbortSignal | undefined;
}

export interface PagingResult {
  pages: number;
  /** Distinct items handed to the accumulator. */
  items: number;
  /** Items dropped as repeats of an earlier one. */
  duplicates: number;
  /** The total the last page reported, if any. */
  total: number | undefined;
}

/**
 * Pages a listing may take when the API reports no total: 1,000 pages of 100 are 100,000 entries, beyond
 * every route quota and any subnet pool, yet a few seconds of requests and megabytes of memory.
 */
export const DEFAULT_MAX_PAGES = 1000;

/**
 * How many pages a listing may take. With a total: what the total needs at the page size, doubled because
 * clouds may answer short pages, plus one trailing empty page — never more than `maxPages`.
 */
export function pageBudget(total: number | undefined, pageSize: number, maxPages: number = DEFAULT_MAX_PAGES): number {
  if (total === undefined) return maxPages;
  return Math.min(maxPages, 2 * Math.ceil(total / Math.max(1, pageSize)) + 1);
}

/** Tokens are kept to spot a repeat; a long one is kept as its digest so endless tokens stay small. */
function tokenKey(token: string): string {
  return token.length <= 64 ? token : `#${createHash('sha256').update(token).digest('base64')}`;
}

/**
 * Fetches every page, hands each distinct item to `add` as it arrives, and returns the tally. Throws
 * `opts.fail(reason)` on a repeated token, a page over budget, a page of nothing but repeats, a bad total
 * or a count that does not match the reported total; whatever `fetchPage` throws passes through.
 */
export async function collectPages<T>(
  fetchPage: (token: string | undefined, page: number) => Promise<Page<T>>,
  add: (item: T) => void,
  opts: PagingOptions<T>,
): Promise<PagingResult> {
  const maxPages = opts.maxPages ?? DEFAULT_MAX_PAGES;
  const keys = new Set<string>();
  const tokens = new Set<string>();
  let token: string | undefined;
  let total: number | undefined;
  let duplicates = 0;
  for (let page = 1; ; page++) {
    opts.signal?.throwIfAborted();
    const p = await fetchPage(token, page);
    if (p.total !== undefined) {
      if (!(Number.isSafeInteger(p.total) && p.total >= 0))
        throw opts.fail(`page ${page} reports a total of ${String(p.total)}`, 'total');
      total = p.total;
    }
    let listed = 0;
    let fresh = 0;
    for (const item of p.items) {
      listed++;
      const k = opts.key(item);
      if (keys.has(k)) {
        duplicates++;
        continue;
      }
      keys.add(k);
      fresh++;
      add(item);
    }
    // A cursor never hands back only what it already gave: such a page leads nowhere, however new its token.
    if (page > 1 && listed > 0 && fresh === 0)
      throw opts.fail(`page ${page} lists only entries of earlier pages`, 'stall');
    if (total !== undefined && keys.size > total)
      throw opts.fail(`${keys.size} distinct entries listed, more than the total of ${total} the API reports`, 'total');
    const next = p.next || undefined;
    if (next === undefined) {
      if (total !== undefined && keys.size !== total) {
        throw opts.fail(
          `the listing ended after ${page} page(s) with ${keys.size} of the ${total} entries the API reports`,
          'total',
        );
      }
      return { pages: page, items: keys.size, duplicates, total };
    }
    const tk = tokenKey(next);
    if (tokens.has(tk)) throw opts.fail(`page ${page} hands back a page token already used`, 'token');
    tokens.add(tk);
    const budget = pageBudget(total, opts.pageSize, maxPages);
    if (page >= budget) {
      throw opts.fail(
        `still more pages after ${page}, the most this listing can take (${total === undefined ? 'no total reported' : `total ${total}, ${opts.pageSize} per page`})`,
        'budget',
      );
    }
    token = next;
  }
}
