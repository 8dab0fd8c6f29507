// Every SDK call goes through here: timed and reported to the observer, errors mapped once, retryable
// kinds retried by the shared policy (providers/retry.ts), the SDK's own retries switched off so the two
// never multiply, and the caller's AbortSignal honoured between attempts.
import type { Logger } from 'pino';
import { retrying, type RetryPolicy } from '../retry.ts';
import { NOOP_OBSERVER, ProviderError, type ApiObserver } from '../types.ts';
import { mapGceError } from './errors.ts';

/** gax per-call options: no gax retries, our own deadline (see `once`). */
export interface SdkCallOptions {
  maxRetries: number;
  timeout: number;
  signal: AbortSignal;
}

export class GceCaller {
  private readonly observer: ApiObserver;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly logger: Logger | undefined;

  /** `retry` is already scaled to the provider's time scale. */
  constructor(observer: ApiObserver | undefined, retry: RetryPolicy, timeoutMs = 60_000, logger?: Logger) {
    this.observer = observer ?? NOOP_OBSERVER;
    this.retry = retry;
    this.timeoutMs = timeoutMs;
    this.logger = logger;
  }

  /**
   * One SDK call, without retries: timed, observed, error mapped, bounded by `timeoutMs`.
   * The deadline is ours, not gax's: gax arms an `AbortSignal.timeout` per call whose listener keeps the
   * call's response (a whole listing page) reachable until the timer fires, finished or not — at 5,000 VMs
   * that held ~12 MB per pass for a minute. An infinite gax timeout arms nothing; our timer is cleared the
   * moment the call settles.
   */
  async once<T>(
    action: string,
    fn: (o: SdkCallOptions) => Promise<T>,
    signal?: AbortSignal,
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    signal?.throwIfAborted();
    const t0 = performance.now();
    const call = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      call.abort();
    }, timeoutMs);
    const onAbort = () => call.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const out = await fn({ maxRetries: 0, timeout: Number.POSITIVE_INFINITY, signal: call.signal });
      this.observer.request(action, 'ok', (performance.now() - t0) / 1000);
      return out;
    } catch (e) {
      signal?.throwIfAborted();
      const pe = timedOut
        ? new ProviderError('unavailable', 'DEADLINE_EXCEEDED', `${action}: no answer within ${timeoutMs} ms`, {
            action,
            cause: e,
          })
        : mapGceError(e, action);
      this.observer.request(action, pe.code, (performance.now() - t0) / 1000);
      throw pe;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Retries `fn` while it fails with a retryable ProviderError. */
  async retrying<T>(
    action: string,
    fn: () => Promise<T>,
    signal?: AbortSignal,
    attempts = this.retry.attempts,
  ): Promise<T> {
    return retrying(action, fn, {
      policy: { ...this.retry, attempts: Math.max(1, attempts) },
      observer: this.observer,
      signal,
      logger: this.logger,
    });
  }

  /** The usual shape: one SDK call, retried. */
  call<T>(action: string, fn: (o: SdkCallOptions) => Promise<T>, signal?: AbortSignal, timeoutMs?: number): Promise<T> {
    return this.retrying(action, () => this.once(action, fn, signal, timeoutMs), signal);
  }
}

/** At most `limit` holders at once; the others queue in arrival order. */
export class Semaphore {
  private free: number;
  private readonly queue: Array<() => void> = [];
  constructor(limit: number) {
    this.free = Math.max(1, limit);
  }
  async use<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.free > 0) this.free--;
    else {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const i = this.queue.indexOf(grant);
          if (i >= 0) this.queue.splice(i, 1);
          reject(signal?.reason);
        };
        const grant = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        if (signal?.aborted) return reject(signal.reason);
        this.queue.push(grant);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.free++;
    }
  }
}
