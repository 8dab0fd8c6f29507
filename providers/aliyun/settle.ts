// After an Aliyun route task, its entries are Pending for seconds and the table takes no new task: the
// apply waits until they settle, reading as little as it can (a small table whole, a big one entry by entry).
import type { Logger } from 'pino';
import { formatCidr, parseCidr } from '../../src/lib/cidr.ts';
import { ProviderError, type ApplyOptions, type RouteTable } from '../types.ts';
import type { SettlePacer } from './settle-pacer.ts';
import type * as S from './schemas.ts';

export interface SettlePolicy {
  /** From a write's answer to the first look at its entries. */
  firstPollMs: number;
  /** Before looking again at an entry that was still settling. */
  pollMs: number;
  /** Entries looked at side by side: one read per entry is latency-bound, a whole-table read is size-bound. */
  concurrency: number;
  /** Give up waiting after this long: the next write then meets a busy table and retries. */
  maxWaitMs: number;
  /** A table of at most this many listing pages is looked at whole: fewer reads than one per entry. */
  wholeTablePages: number;
  /** Between looks at a whole (small) table. */
  listPollMs: number;
  /**
   * Settle reads (DescribeRouteEntryList) allowed per 60 s of cloud time, all tables together: the share of
   * the account's allowance for that API this provider may spend on polling (Infinity: unpaced).
   */
  readsPerMinute: number;
}

// New entries leave Pending 2-5 s after the write (what the emulator's realistic profile models), and a
// 50-entry task is held by its slowest one, nearly always in the last few hundred ms of that range. A first
// look at 4 s finds two thirds settled; 6 reads in flight, a settling entry looked at again after 100 ms,
// notice the last one ~0.2 s after it settles at ~58 reads per task, which two tables' polling fits in the
// 25/s read bucket (measured: bench/convergence.ts, 1,000 VMs). Sooner or more reads trip that bucket.
// A table of up to two pages (200 entries) is listed whole every 300 ms instead: 1-2 reads per look, ~10 per
// task against ~58 (bench/naive.ts, 100 VMs).
export const DEFAULT_SETTLE: SettlePolicy = {
  firstPollMs: 4000,
  pollMs: 100,
  concurrency: 6,
  maxWaitMs: 120_000,
  wholeTablePages: 2,
  listPollMs: 300,
  readsPerMinute: Number.POSITIVE_INFINITY,
};

/** What the settle wait reads with and how it waits. */
export interface SettleDeps {
  logger: Logger;
  settle: SettlePolicy;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** The table's entries for one destination (DescribeRouteEntryList filtered by DestinationCidrBlock). */
  entriesAt(table: RouteTable, destination: string, signal: AbortSignal): Promise<S.RouteEntryWire[]>;
  /** Every entry of the table if it fits in `pages` listing pages, else undefined (no more pages are read). */
  entriesWithin(table: RouteTable, pages: number, signal: AbortSignal): Promise<S.RouteEntryWire[] | undefined>;
  /** Paces the settle reads of all tables under the account's per-minute allowance. */
  pacer: SettlePacer;
}

/** Throttling.User and its kin on a settle read: a reason to poll more slowly, not to stop waiting. */
function isThrottled(e: unknown): boolean {
  return e instanceof ProviderError && e.kind === 'throttled';
}

export function normalise(dest: string): string | null {
  try {
    return formatCidr(parseCidr(dest.includes('/') ? dest : `${dest}/32`));
  } catch {
    return null;
  }
}

/** The settle wait of one apply on one table. */
export function settler(
  deps: SettleDeps,
  table: RouteTable,
  opts: ApplyOptions,
): (destinations: string[]) => Promise<void> {
  const { logger } = deps;
  const { signal } = opts;
  const rethrowAbort = () => {
    if (signal.aborted) throw signal.reason;
  };

  // Why a settle wait ends early: the next write then meets a busy table and retries.
  const cannotRead = (e: unknown) =>
    logger.warn({ table: table.id, err: String(e) }, 'aliyun apply: could not read entry states; continuing');
  const overdue = (started: number, fields: Record<string, unknown>): boolean => {
    const waitedMs = Date.now() - started;
    if (waitedMs < deps.settle.maxWaitMs) return false;
    logger.warn({ table: table.id, waitedMs, ...fields }, 'aliyun apply: entries still pending; continuing');
    return true;
  };

  /**
   * Waits until the entries this task touched are Available (or gone, for deletes): the table takes no new
   * task before. A small table is listed whole per look (settleByListing); a bigger one has each touched
   * entry read on its own, and an entry still settling goes to the back of the line, looked at again no
   * sooner than pollMs later. A failed read ends the wait, as does maxWaitMs; a throttled one slows the
   * polling instead (the account's allowance is spent, by us or another client of it).
   */
  async function waitSettled(destinations: string[]): Promise<void> {
    if (destinations.length === 0) return;
    const { firstPollMs, pollMs, concurrency } = deps.settle;
    const started = Date.now();
    opts.onProgress?.({ type: 'wait', table: table.id, reason: 'route entries settling', ms: firstPollMs });
    await deps.sleep(firstPollMs, signal);
    const byListing = await settleByListing(destinations, started);
    if (byListing !== 'too big') return;
    const line = destinations.map((dest) => ({ dest, pendingAt: Number.NEGATIVE_INFINITY }));
    let stop = false;
    const worker = async (): Promise<void> => {
      for (let next = line.shift(); next && !stop; next = line.shift()) {
        const wait = next.pendingAt + pollMs - Date.now();
        if (wait > 0) await deps.sleep(wait, signal);
        if (stop) return;
        let entries: S.RouteEntryWire[];
        try {
          await deps.pacer.take(signal);
          entries = await deps.entriesAt(table, next.dest, signal);
          deps.pacer.ok();
        } catch (e) {
          rethrowAbort();
          if (isThrottled(e)) {
            deps.pacer.throttled();
            if (stop || overdue(started, { destination: next.dest })) {
              stop = true;
              return;
            }
            next.pendingAt = Date.now();
            line.push(next);
            continue;
          }
          if (!stop) cannotRead(e);
          stop = true;
          return;
        }
        if (entries.every((e) => e.Status === 'Available')) continue;
        if (stop || overdue(started, { destination: next.dest })) {
          stop = true;
          return;
        }
        next.pendingAt = Date.now();
        line.push(next);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, destinations.length)) }, worker));
  }

  /** Set once a look found the table past wholeTablePages: creates only make it bigger during this apply. */
  let tableTooBig = false;
  /**
   * The cheap way for a small table: list it whole (a page or two) per look until none of `destinations` is
   * still settling. 'too big' hands over to the per-entry reads; a failed read or maxWaitMs ends the wait.
   */
  async function settleByListing(destinations: string[], started: number): Promise<'settled' | 'gave up' | 'too big'> {
    const { wholeTablePages, listPollMs } = deps.settle;
    if (tableTooBig) return 'too big';
    const pending = new Set(destinations);
    for (;;) {
      let entries: S.RouteEntryWire[] | undefined;
      try {
        // A look reads up to wholeTablePages pages: each is a call against the allowance.
        for (let i = 0; i < wholeTablePages; i++) await deps.pacer.take(signal);
        entries = await deps.entriesWithin(table, wholeTablePages, signal);
        deps.pacer.ok();
      } catch (e) {
        rethrowAbort();
        if (isThrottled(e)) {
          deps.pacer.throttled();
          if (overdue(started, { pending: pending.size })) return 'gave up';
          await deps.sleep(listPollMs, signal);
          continue;
        }
        cannotRead(e);
        return 'gave up';
      }
      if (entries === undefined) {
        tableTooBig = true;
        return 'too big';
      }
      // An entry gone from the table (a delete) is as settled as an Available one.
      const settling = new Set(
        entries
          .filter((e) => e.Status !== 'Available')
          .map((e) => normalise(e.DestinationCidrBlock) ?? e.DestinationCidrBlock),
      );
      for (const d of pending) if (!settling.has(d)) pending.delete(d);
      if (pending.size === 0) return 'settled';
      if (overdue(started, { pending: pending.size })) return 'gave up';
      await deps.sleep(listPollMs, signal);
    }
  }

  return waitSettled;
}
