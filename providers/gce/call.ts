// Every SDK call goes through here: timed and reported to the observer, errors mapped once, retryable
// kinds retried with exponential backoff and jitter (p-retry), the SDK's own retries switched off so the
// two never multiply, and the caller's AbortSignal honoured between attempts.
import pRetry from 'p-retry';
import { NOOP_OBSERVER, ProviderError, type ApiObserver } from '../types.ts';
import { mapGceError } from './errors.ts';

export interface RetryPolicy {
  /** First backoff delay (ms); doubles per attempt, with jitter. */
  baseMs: number;
  capMs: number;
  attempts: number;
}

export const REALISTIC_RETRY: RetryPolicy = { baseMs: 200, capMs: 10_000, attempts: 8 };

/** gax per-call options: no gax retries, a bounded deadline. */
export interface SdkCallOptions {
  maxRetries: number;
  timeout: number;
  signal?: AbortSignal;
}

export class GceCaller {
  private readonly observer: ApiObserver;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;

  constructor(observer: ApiObserver | undefined, retry: RetryPolicy, timeoutMs = 60_000) {
    this.observer = observer ?? NOOP_OBSERVER;
    this.retry = retry;
    this.timeoutMs = timeoutMs;
  }

  /** One SDK call, without retries: timed, observed, error mapped. */
  async once<T>(action: string, fn: (o: SdkCallOptions) => Promise<T>, signal?: AbortSignal, timeoutMs = this.timeoutMs): Promise<T> {
    signal?.throwIfAborted();
    const t0 = performance.now();
    try {
      const out = await fn({ maxRetries: 0, timeout: timeoutMs, ...(signal ? { signal } : {}) });
      this.observer.request(action, 'ok', (performance.now() - t0) / 1000);
      return out;
    } catch (e) {
      signal?.throwIfAborted();
      const pe = mapGceError(e, action);
      this.observer.request(action, pe.code, (performance.now() - t0) / 1000);
      throw pe;
    }
  }

  /** Retries `fn` while it fails with a retryable ProviderError. */
  async retrying<T>(action: string, fn: () => Promise<T>, signal?: AbortSignal, attempts = this.retry.attempts): Promise<T> {
    return pRetry(fn, {
      retries: Math.max(0, attempts - 1),
      factor: 2,
      minTimeout: this.retry.baseMs,
      maxTimeout: this.retry.capMs,
      randomize: true,
      ...(signal ? { signal } : {}),
      shouldRetry: ({ error, retriesLeft }) => {
        const retry = error instanceof ProviderError && error.retryable && retriesLeft > 0;
        if (retry) this.observer.retry(action, (error as ProviderError).kind);
        return retry;
      },
    });
  }

  /** The usual shape: one SDK call, retried. */
  call<T>(action: string, fn: (o: SdkCallOptions) => Promise<T>, signal?: AbortSignal, timeoutMs?: number): Promise<T> {
    return this.retrying(action, () => this.once(action, fn, signal, timeoutMs), signal);
  }
}

/**
 * Spaces operation polls across the whole provider (Kubernetes' GCE code does the same with 5 qps):
 * many routes waiting at once must not turn into a poll storm.
 */
export class PollLimiter {
  private next = 0;
  private readonly intervalMs: number;
  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }
  async take(signal?: AbortSignal): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.next);
    this.next = at + this.intervalMs;
    if (at > now) await sleep(at - now, signal);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
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
