// Compute's rate quotas as Google applies them: a count per project and rate group per clock minute, reset
// when the minute turns ("hit at 10:00:15, refills at 10:01:00"; cloud.google.com/compute/api-quota). Not a
// token bucket: nothing trickles back within the minute, and a client that spends a whole minute's worth
// just before the turn may spend another just after it. Minutes count from the emulator's start (its
// emulated clock has no wall-clock minute to keep), so a test sees the same windows on every run.
import type { EmuClock } from '../shared/clock.ts';

export class MinuteWindow {
  readonly perMinute: number;
  private readonly clock: EmuClock;
  private readonly origin: number;
  private window = 0;
  private used = 0;

  constructor(perMinute: number, clock: EmuClock, origin: number) {
    this.perMinute = perMinute;
    this.clock = clock;
    this.origin = origin;
  }

  tryTake(): boolean {
    const w = Math.floor((this.clock.now() - this.origin) / 60_000);
    if (w !== this.window) {
      this.window = w;
      this.used = 0;
    }
    if (this.used >= this.perMinute) return false;
    this.used++;
    return true;
  }
}
