// Client-side pacing in the shape of Compute's per-project rate quota groups: a bucket of `burst` requests
// that refills at `perSecond`, counted in cloud time so a rehearsal against a time-scaled emulator paces
// like production against the real API. Spending the burst is what lets a fresh cluster's routes go out at
// once; the refill keeps a long run under the group's sustained rate instead of turning into 403s.
import type { Clock } from '../../src/lib/clock.ts';

export interface RateBucketOptions {
  burst: number;
  /** Cloud requests per cloud second. */
  perSecond: number;
  /** Cloud seconds per real second (ProviderContext.timeScale). */
  timeScale: number;
  clock: Clock;
}

export class RateBucket {
  private tokens: number;
  private last: number;
  private readonly burst: number;
  /** Tokens per real millisecond. */
  private readonly perMs: number;
  private readonly clock: Clock;

  constructor(o: RateBucketOptions) {
    if (!(o.burst >= 1)) throw new Error(`rate bucket burst: ${o.burst} must be at least 1`);
    if (!(o.perSecond > 0)) throw new Error(`rate bucket perSecond: ${o.perSecond} must be positive`);
    this.burst = o.burst;
    this.perMs = (o.perSecond * o.timeScale) / 1000;
    this.clock = o.clock;
    this.tokens = o.burst;
    this.last = o.clock.now();
  }

  /**
   * Resolves when this request may go. A token is reserved at call time, so callers leave in arrival order
   * and the balance can go negative (the debt queued callers are sleeping off); an abort hands it back.
   */
  async take(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.perMs);
    this.last = now;
    this.tokens -= 1;
    if (this.tokens >= 0) return;
    try {
      await this.clock.sleep(-this.tokens / this.perMs, signal);
    } catch (e) {
      this.tokens += 1;
      throw e;
    }
  }
}
