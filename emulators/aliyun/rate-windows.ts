// Alibaba's API rate limits: so many calls per main account, per API, per 60 s window. Every RAM user and
// access key of the account draws on the same count, so two controllers (or a controller and Terraform)
// with different keys throttle each other. Windows are fixed 60 s spans of emulated time from the emulator's
// start, so a test knows which calls share one.
import type { EmuClock } from '../shared/clock.ts';
import type { ApiWindows } from './profile.ts';

/**
 * The main account an access key belongs to. The emulator cannot ask RAM, so: every key is of one account,
 * unless it is written `<user>@<account>` (an emulator-only convention for tests of several accounts).
 */
export function accountOf(accessKeyId: string): string {
  const at = accessKeyId.lastIndexOf('@');
  return at >= 0 ? accessKeyId.slice(at + 1) : 'main';
}

export class RateWindows {
  private readonly counts = new Map<string, { window: number; n: number }>();
  private readonly spec: ApiWindows;
  private readonly clock: EmuClock;
  private readonly start: number;

  constructor(spec: ApiWindows, clock: EmuClock) {
    this.spec = spec;
    this.clock = clock;
    this.start = clock.now();
  }

  limitOf(action: string, write: boolean): number {
    return this.spec.byAction[action] ?? (write ? this.spec.writes : this.spec.reads);
  }

  /** Counts the call if its account's window for this API has room; false (throttled) if not. */
  tryTake(accessKeyId: string, action: string, write: boolean): boolean {
    const window = Math.floor((this.clock.now() - this.start) / 60_000);
    const key = `${accountOf(accessKeyId)}\u0000${action}`;
    let c = this.counts.get(key);
    if (!c || c.window !== window) {
      c = { window, n: 0 };
      this.counts.set(key, c);
    }
    if (c.n >= this.limitOf(action, write)) return false;
    c.n++;
    return true;
  }
}
