// Alibaba counts API calls per main account, per API, per 60 s: the settle polling of every table (and
// every other client of the account: another controller, Terraform, the console) draws on one
// DescribeRouteEntryList allowance. The pacer keeps this provider's settle reads to a share of it in any
// 60 s (a sliding window: the polling is bursty, most reads come as a task's last entries settle, so an
// even spread would delay them for nothing), and spaces them out while the cloud answers Throttling.
export interface SettlePacer {
  /** Waits for this read's turn. */
  take(signal: AbortSignal): Promise<void>;
  /** The cloud throttled a settle read: reads are spaced out, twice as far each time (up to 16×). */
  throttled(): void;
  /** A read got through: the spacing shrinks back step by step. */
  ok(): void;
}

const MAX_SLOWDOWN = 16;

/**
 * `readsPerMinute` is this provider's budget of settle reads in any 60 s of cloud time; `minuteMs` is 60 s
 * in real milliseconds (60,000 divided by the time scale); `throttledGapMs` the spacing a first Throttling
 * starts from (the poll interval). Infinity means no budget (only throttling spaces reads out).
 */
export function createSettlePacer(
  readsPerMinute: number,
  minuteMs: number,
  throttledGapMs: number,
  sleep: (ms: number, signal: AbortSignal) => Promise<void>,
  now: () => number = Date.now,
): SettlePacer {
  const budget = Number.isFinite(readsPerMinute) && readsPerMinute > 0 ? Math.floor(readsPerMinute) : 0;
  /** When each of the last `budget` reads went out (oldest first). */
  const sent: number[] = [];
  let slowdown = 1;
  let nextAt = Number.NEGATIVE_INFINITY;
  return {
    async take(signal) {
      for (;;) {
        const t = now();
        let wait = 0;
        if (slowdown > 1) wait = Math.max(wait, nextAt - t);
        if (budget > 0) {
          while (sent.length > 0 && (sent[0] as number) <= t - minuteMs) sent.shift();
          if (sent.length >= budget) wait = Math.max(wait, (sent[0] as number) + minuteMs - t);
        }
        if (wait <= 0) break;
        await sleep(wait, signal);
      }
      const t = now();
      if (budget > 0) sent.push(t);
      // Reserve the spacing before the read goes, so concurrent readers queue one gap apart.
      if (slowdown > 1) nextAt = Math.max(t, nextAt) + throttledGapMs * slowdown;
    },
    throttled() {
      slowdown = Math.min(MAX_SLOWDOWN, slowdown * 2);
    },
    ok() {
      if (slowdown > 1) slowdown = Math.max(1, slowdown * 0.9);
    },
  };
}
