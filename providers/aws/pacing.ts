// Client-side token buckets for EC2's mutating actions. EC2 meters each action with its own token bucket
// per account and Region and answers RequestLimitExceeded once it is empty; every refused call is a wasted
// write. So a write waits for a token of a client bucket sized a little under the cloud's: a lone
// controller never empties the cloud's bucket. Other callers in the account draw on the same bucket, so a
// refusal can still come: then the client rate is cut (× beta) and climbs back linearly with time, never
// above the configured rate. Pure state on an injected clock in cloud milliseconds; `paced` turns the
// waits into real time (timeScale) and honours the AbortSignal.
import { sleep } from '../../src/lib/clock.ts';

export type PaceOutcome = 'ok' | 'throttled' | 'error';

/** One action's cloud-side bucket: `burst` tokens, refilled at `perSecond`. */
export interface WriteRateLimit {
  burst: number;
  perSecond: number;
}

/** EC2's published default for each mutating action ("Request token bucket sizes and refill rates"). */
export const EC2_MUTATING_LIMIT: WriteRateLimit = { burst: 50, perSecond: 5 };

export interface PacerOptions {
  /** Cloud-time clock in milliseconds. */
  now: () => number;
  limit: WriteRateLimit;
  /**
   * Share of the cloud bucket (burst and rate) the client uses. Below 1 because the cloud counts a call
   * when it arrives, and network jitter can bunch calls the client spaced out: the slack absorbs that.
   */
  margin?: number;
  /** Multiplicative decrease of the rate on a refusal. */
  beta?: number;
  /**
   * Cloud ms for the rate to climb from 0 back to the full rate after a cut (additive increase). Default:
   * the time the cloud takes to refill its bucket from empty (burst ÷ perSecond, 10 s for EC2).
   */
  recoverMs?: number;
}

/** Ticket of one admitted call: the rate epoch it was sent in. */
export type PaceTicket = number;

export class WritePacer {
  readonly burst: number;
  /** The configured rate × margin, in requests per cloud second; the rate never exceeds it. */
  readonly ceiling: number;
  private readonly now: () => number;
  private readonly beta: number;
  private readonly recoverMs: number;
  private readonly floor: number;
  /** The rate right after the last cut, and when that was. */
  private cutRate: number;
  private cutAt: number;
  private tokens: number;
  private last: number;
  // Calls sent before the last cut were refused by the same empty bucket: they must not cut again.
  private epoch = 0;

  constructor(o: PacerOptions) {
    const { burst, perSecond } = o.limit;
    if (!(Number.isFinite(burst) && burst >= 1)) throw new Error(`write rate limit burst: ${burst} must be at least 1`);
    if (!(Number.isFinite(perSecond) && perSecond > 0))
      throw new Error(`write rate limit perSecond: ${perSecond} must be positive`);
    const margin = o.margin ?? 0.95;
    this.now = o.now;
    this.burst = Math.max(1, Math.floor(burst * margin));
    this.ceiling = perSecond * margin;
    this.beta = o.beta ?? 0.5;
    this.recoverMs = o.recoverMs ?? (burst / perSecond) * 1000;
    if (!(this.recoverMs > 0)) throw new Error(`recoverMs: ${this.recoverMs} must be positive`);
    this.floor = this.ceiling / 16;
    this.last = o.now();
    this.cutRate = this.ceiling;
    this.cutAt = this.last;
    this.tokens = this.burst;
  }

  /** Current fill rate in requests per cloud second. */
  get rate(): number {
    return this.rateAt(this.now());
  }

  /** Cloud ms until a token is available (0 = now). */
  waitMs(): number {
    this.refill();
    if (this.tokens >= 1 - 1e-9) return 0; // float drift must not cost another wait
    return ((1 - this.tokens) / this.rateAt(this.last)) * 1000;
  }

  /** Takes a token if one is there now. */
  tryAcquire(): PaceTicket | undefined {
    if (this.waitMs() > 0) return undefined;
    this.tokens -= 1;
    return this.epoch;
  }

  /** Reports how a call admitted with `ticket` ended; only a refusal changes anything. */
  release(ticket: PaceTicket, outcome: PaceOutcome): void {
    if (outcome !== 'throttled') return;
    this.refill();
    // The cloud's bucket is empty: ours must not spend what it still holds.
    this.tokens = Math.min(this.tokens, 0);
    if (ticket !== this.epoch) return;
    this.epoch++;
    this.cutRate = Math.max(this.floor, this.rateAt(this.last) * this.beta);
    this.cutAt = this.last;
  }

  private rateAt(t: number): number {
    return Math.min(this.ceiling, this.cutRate + ((t - this.cutAt) / this.recoverMs) * this.ceiling);
  }

  private refill(): void {
    const t = this.now();
    // The rate at the start of the interval: while it climbs, that undercounts the refill (the safe side).
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rateAt(this.last));
    this.last = t;
  }
}

/** Waits (abortably, in real time: cloud ms ÷ timeScale) until `pacer` admits one call. */
export async function paced(pacer: WritePacer, timeScale: number, signal?: AbortSignal): Promise<PaceTicket> {
  for (;;) {
    signal?.throwIfAborted();
    const ticket = pacer.tryAcquire();
    if (ticket !== undefined) return ticket;
    await sleep(Math.max(1, pacer.waitMs() / timeScale), signal);
  }
}
