// Injected time: the controller, allocator and quota forecast read time only through a Clock so tests
// can drive release/cool-down rules without waiting.
export interface Clock {
  /** Wall-clock epoch ms: what is stored and shown. */
  now(): number;
  /**
   * Monotonic ms from an arbitrary origin (performance.now()): never jumps with the wall clock, and runs on
   * while the process is paused (SIGSTOP). Lease deadlines are measured on it (I4).
   */
  monotonic(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Waits `ms`; rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const systemClock: Clock = { now: () => Date.now(), monotonic: () => performance.now(), sleep };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  private t: number;
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  /** Moves with now(): a test that advances the clock past a lease deadline sees it passed. */
  monotonic(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  async sleep(ms: number): Promise<void> {
    this.t += ms;
  }
}
