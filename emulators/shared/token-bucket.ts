import type { EmuClock } from './clock.ts';

// The refill model the clouds publish for API throttling (EC2: bucket size + refill rate per second,
// separately for mutating and non-mutating actions). Runs on emulated time.
export class TokenBucket {
  readonly capacity: number;
  readonly refillPerSecond: number;
  private tokens: number;
  private last: number;
  private readonly clock: EmuClock;

  constructor(capacity: number, refillPerSecond: number, clock: EmuClock) {
    this.capacity = capacity;
    this.refillPerSecond = refillPerSecond;
    this.clock = clock;
    this.tokens = capacity;
    this.last = clock.now();
  }

  tryTake(n = 1): boolean {
    const now = this.clock.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.refillPerSecond);
    this.last = now;
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}
