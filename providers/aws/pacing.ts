// Client-side pacing of one EC2 mutating action. EC2 meters each action with its own token bucket and
// answers RequestLimitExceeded once it is empty; every refused call is a wasted write. So each action gets
// (1) an AIMD limit on calls in flight (halved on a throttle, +1 after a run of successes, 1..max) and
// (2) a client token bucket whose fill rate follows the AWS SDKs' "adaptive" CUBIC scheme: off until the
// first throttle (the cloud's burst is free to use), then rate × β on each throttle and a cubic climb back
// towards (and slowly past) the rate that was last throttled. Pure state + an injected clock in cloud
// milliseconds; the caller turns waits into real time (timeScale) and supplies the AbortSignal.

export type PaceOutcome = 'ok' | 'throttled' | 'error';

export interface PacerOptions {
  /** Cloud-time clock in milliseconds. */
  now: () => number;
  /** Upper bound of calls in flight (provider.concurrency). */
  maxInFlight: number;
  /** Consecutive successes before one more call may be in flight. */
  growAfter?: number;
  /** Multiplicative decrease of the fill rate on a throttle. */
  beta?: number;
  /** CUBIC scale: how fast the rate climbs back (requests/s per s³); low, since the cloud bucket's burst
   *  absorbs a slow climb but every overshoot costs a refused write. */
  cubicScale?: number;
  /** Never pace slower than this (requests/s). */
  minRate?: number;
}

/** Cloud-side rate measurement window (ms) and smoothing, as in the SDKs' adaptive retry mode. */
const MEASURE_MS = 500;
const SMOOTH = 0.8;

export class WritePacer {
  readonly maxInFlight: number;
  private readonly now: () => number;
  private readonly growAfter: number;
  private readonly beta: number;
  private readonly cubicScale: number;
  private readonly minRate: number;

  private inFlight = 0;
  private allowed: number;
  private streak = 0;

  private enabled = false;
  private fillRate = Infinity;
  private tokens = 0;
  private lastRefill: number;
  private lastMaxRate = 0;
  private lastThrottle = 0;
  private timeWindow = 0;

  private measured = 0;
  private measureStart: number;
  private measureCount = 0;

  constructor(o: PacerOptions) {
    if (!(Number.isInteger(o.maxInFlight) && o.maxInFlight >= 1)) throw new Error(`maxInFlight: ${o.maxInFlight} is not an integer ≥ 1`);
    this.now = o.now;
    this.maxInFlight = o.maxInFlight;
    this.allowed = o.maxInFlight;
    this.growAfter = o.growAfter ?? 10;
    this.beta = o.beta ?? 0.7;
    this.cubicScale = o.cubicScale ?? 0.03;
    this.minRate = o.minRate ?? 0.5;
    this.lastRefill = this.measureStart = o.now();
  }

  /** Calls currently allowed in flight (AIMD). */
  get limit(): number {
    return this.allowed;
  }

  /** Client fill rate in requests per cloud second; Infinity while not yet throttled. */
  get rate(): number {
    return this.enabled ? this.fillRate : Infinity;
  }

  get active(): number {
    return this.inFlight;
  }

  /** Cloud ms until a token is available (0 = now); a full in-flight limit is waited for via release. */
  waitMs(): number {
    if (!this.enabled) return 0;
    this.refill();
    if (this.tokens >= 1 - 1e-9) return 0; // float drift must not cost another wait
    return ((1 - this.tokens) / this.fillRate) * 1000;
  }

  /** Takes a slot and a token if both are free now. */
  tryAcquire(): boolean {
    if (this.inFlight >= this.allowed) return false;
    if (this.waitMs() > 0) return false;
    if (this.enabled) this.tokens -= 1;
    this.inFlight++;
    return true;
  }

  /** Ends a call taken with tryAcquire. */
  release(outcome: PaceOutcome): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    const t = this.now();
    this.measure(t);
    if (outcome === 'throttled') {
      this.streak = 0;
      this.allowed = Math.max(1, Math.floor(this.allowed / 2));
      this.onThrottle(t);
      return;
    }
    if (outcome !== 'ok') return;
    if (++this.streak >= this.growAfter) {
      this.streak = 0;
      this.allowed = Math.min(this.maxInFlight, this.allowed + 1);
    }
    if (this.enabled) {
      const dt = (t - this.lastThrottle) / 1000 - this.timeWindow;
      const cubic = this.cubicScale * dt ** 3 + this.lastMaxRate;
      this.setRate(Math.min(cubic, 2 * this.measured));
    }
  }

  private onThrottle(t: number): void {
    const base = this.enabled ? Math.min(this.measured, this.fillRate) : this.measured;
    this.lastMaxRate = Math.max(this.minRate, base);
    this.timeWindow = Math.cbrt((this.lastMaxRate * (1 - this.beta)) / this.cubicScale);
    this.lastThrottle = t;
    this.refill();
    this.enabled = true;
    this.setRate(this.lastMaxRate * this.beta);
    // The cloud's bucket is empty: start ours empty too rather than spend a stale burst.
    this.tokens = Math.min(this.tokens, 0);
  }

  private setRate(r: number): void {
    this.refill();
    this.fillRate = Math.max(this.minRate, r);
    this.tokens = Math.min(this.tokens, Math.max(1, this.fillRate));
  }

  private refill(): void {
    const t = this.now();
    if (this.enabled && Number.isFinite(this.fillRate)) {
      this.tokens = Math.min(Math.max(1, this.fillRate), this.tokens + ((t - this.lastRefill) / 1000) * this.fillRate);
    }
    this.lastRefill = t;
  }

  private measure(t: number): void {
    this.measureCount++;
    const elapsed = t - this.measureStart;
    if (elapsed >= MEASURE_MS) {
      const r = (this.measureCount / elapsed) * 1000;
      this.measured = r * SMOOTH + this.measured * (1 - SMOOTH);
      this.measureCount = 0;
      this.measureStart = t;
    }
  }
}

/**
 * Waits (abortably) until `pacer` admits one call. `sleepReal(ms)` is the real-time sleep; cloud waits are
 * divided by `timeScale`. Slots freed by other calls wake waiters at once.
 */
export class PacerGate {
  private readonly pacer: WritePacer;
  private readonly timeScale: number;
  private waiters: Array<() => void> = [];

  constructor(pacer: WritePacer, timeScale: number) {
    this.pacer = pacer;
    this.timeScale = timeScale;
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      if (this.pacer.tryAcquire()) return;
      const full = this.pacer.active >= this.pacer.limit;
      const ms = full ? Infinity : Math.max(1, this.pacer.waitMs() / this.timeScale);
      await this.wait(ms, signal);
    }
  }

  release(outcome: PaceOutcome): void {
    this.pacer.release(outcome);
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }

  private wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        if (timer) clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(signal?.reason);
      };
      if (Number.isFinite(ms)) timer = setTimeout(done, ms);
      this.waiters.push(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
