// Client-side pacing under Compute's per-project rate quota groups. Google counts each group per clock
// minute and resets it when the minute turns (cloud.google.com/compute/api-quota), so a token bucket of one
// minute's worth plus a per-second refill lets almost two minutes' worth into one of Google's minutes, and
// those past the limit come back 403 rateLimitExceeded. This limiter never sends more than `perMinute`
// requests in any 60 s span (a sliding window): whatever the offset between our clock and Google's
// minutes, no minute of Google's sees more than that. A fresh pass still sends the first minute's worth at
// once. Counted in cloud time, so a rehearsal against a time-scaled emulator paces like production.
import type { Clock } from '../../src/lib/clock.ts';

export interface RateWindowOptions {
  /** Requests in any 60 cloud seconds. */
  perMinute: number;
  /** Cloud seconds per real second (ProviderContext.timeScale). */
  timeScale: number;
  clock: Clock;
}

export class RateWindow {
  private readonly perMinute: number;
  /** One cloud minute in real milliseconds. */
  private readonly spanMs: number;
  private readonly clock: Clock;
  /**
   * When each request of the last minute was (or is to be) let go, oldest first: the time planned, moved to
   * the time it really left when a busy event loop let it go later, so the one a minute's worth after it is
   * spaced from when it went, not from when it was meant to.
   */
  private readonly sends: Array<{ at: number }> = [];

  constructor(o: RateWindowOptions) {
    if (!(Number.isInteger(o.perMinute) && o.perMinute >= 1))
      throw new Error(`rate window perMinute: ${o.perMinute} must be a whole number of at least 1`);
    if (!(o.timeScale > 0)) throw new Error(`rate window timeScale: ${o.timeScale} must be positive`);
    this.perMinute = o.perMinute;
    this.spanMs = 60_000 / o.timeScale;
    this.clock = o.clock;
  }

  /**
   * Resolves when this request may go: at once while fewer than `perMinute` went out in the last minute,
   * else a minute after the one `perMinute` places back. The slot is reserved at call time, so callers
   * leave in arrival order; an aborted caller gives its slot back (those after it keep theirs: later than
   * they now need to be, never earlier).
   */
  async take(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const now = this.clock.now();
    const back = this.sends.length >= this.perMinute ? this.sends[this.sends.length - this.perMinute] : undefined;
    const slot = { at: back === undefined ? now : Math.max(now, back.at + this.spanMs) };
    this.sends.push(slot);
    // Sends over a minute old bind no one any more; those within it stay, so a slot given back restores
    // the one before it.
    let old = 0;
    while (old < this.sends.length && (this.sends[old] as { at: number }).at + this.spanMs <= now) old++;
    if (old > 0) this.sends.splice(0, old);
    if (slot.at <= now) return;
    try {
      await this.clock.sleep(slot.at - now, signal);
      slot.at = Math.max(slot.at, this.clock.now());
    } catch (e) {
      const i = this.sends.indexOf(slot);
      if (i >= 0) this.sends.splice(i, 1);
      throw e;
    }
  }
}
