// Alibaba counts API calls per main account, per API, per 60 s: the settle polling of every table (and
// every other client of the account: another controller, Terraform, the console) draws on one
// DescribeRouteEntryList allowance. The pacer keeps this provider's settle reads to a share of it, spread
// evenly (a read every 60 s / budget) rather than in a burst that would empty the window early, and slows
// down further while the cloud answers Throttling.
export interface SettlePacer {
  /** Waits for this read's turn. */
  take(signal: AbortSignal): Promise<void>;
  /** The cloud throttled a settle read: reads go at half the pace (down to 1/16), for a while. */
  throttled(): void;
  /** A read got through: the pace recovers step by step. */
  ok(): void;
}

const MAX_SLOWDOWN = 16;

/**
 * `readsPerMinute` is this provider's budget of settle reads per 60 s of cloud time; `minuteMs` is 60 s in
 * real milliseconds (60,000 divided by the time scale). Infinity (or 0) means unpaced.
 */
export function createSettlePacer(
  readsPerMinute: number,
  minuteMs: number,
  /** The gap throttled reads slow down from when the budget alone would not space them (the poll interval). */
  throttledGapMs: number,
  sleep: (ms: number, signal: AbortSignal) => Promise<void>,
  now: () => number = Date.now,
): SettlePacer {
  const paced = Number.isFinite(readsPerMinute) && readsPerMinute > 0;
  const gapMs = paced ? minuteMs / readsPerMinute : 0;
  let slowdown = 1;
  let next = Number.NEGATIVE_INFINITY;
  return {
    async take(signal) {
      const gap = slowdown > 1 ? Math.max(gapMs, throttledGapMs) * slowdown : gapMs;
      if (gap === 0) return;
      // Reserve the slot before sleeping, so concurrent readers queue one gap apart.
      const at = Math.max(now(), next);
      next = at + gap;
      const wait = at - now();
      if (wait > 0) await sleep(wait, signal);
    },
    throttled() {
      slowdown = Math.min(MAX_SLOWDOWN, slowdown * 2);
    },
    ok() {
      if (slowdown > 1) slowdown = Math.max(1, slowdown * 0.9);
    },
  };
}
