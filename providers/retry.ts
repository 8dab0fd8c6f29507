// The one retry policy of the three providers: p-retry with exponential backoff and jitter, bounded in
// attempts (and optionally in total time), cancelled by the caller's AbortSignal, retrying only the
// retryable ProviderError kinds. Each provider keeps its own error mapping and per-call observation; only
// the "whether and when to try again" lives here, so the three clouds cannot drift apart.
import pRetry from 'p-retry';
import type { Logger } from 'pino';
import { NOOP_OBSERVER, ProviderError, type ApiObserver, type RetryPolicy } from './types.ts';

// The policy's shape is part of the provider contract (types.ts); re-exported for the retry callers.
export type { RetryPolicy };

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({ baseMs: 200, capMs: 10_000, attempts: 8 });

/**
 * The policy a provider runs with: the production default, tuned by the caller (ProviderContext.retry),
 * and a provider's internal override (tests) last. Bad numbers are a programming error: thrown at once.
 */
export function resolveRetryPolicy(...layers: Array<Partial<RetryPolicy> | undefined>): RetryPolicy {
  const p: RetryPolicy = { ...DEFAULT_RETRY_POLICY };
  for (const l of layers) {
    if (!l) continue;
    for (const [k, v] of Object.entries(l) as Array<[keyof RetryPolicy, number | undefined]>)
      if (v !== undefined) p[k] = v;
  }
  if (!(Number.isInteger(p.attempts) && p.attempts >= 1))
    throw new Error(`retry.attempts: ${p.attempts} is not an integer ≥ 1`);
  if (!(p.baseMs >= 0)) throw new Error(`retry.baseMs: ${p.baseMs} is not a number ≥ 0`);
  if (!(p.capMs >= p.baseMs)) throw new Error(`retry.capMs: ${p.capMs} is below retry.baseMs ${p.baseMs}`);
  if (p.maxRetryTimeMs !== undefined && !(p.maxRetryTimeMs > 0))
    throw new Error(`retry.maxRetryTimeMs: ${p.maxRetryTimeMs} is not a positive number`);
  return p;
}

/** ProviderContext.timeScale, checked: a rehearsal against a time-scaled emulator divides every wait by it. */
export function timeScaleOf(ctx: { timeScale?: number | undefined }): number {
  const s = ctx.timeScale ?? 1;
  if (!(Number.isFinite(s) && s > 0)) throw new Error(`timeScale: ${String(ctx.timeScale)} is not a positive number`);
  return s;
}

/** A wait of `ms` cloud milliseconds, in real milliseconds. */
export function scaleMs(ms: number, timeScale: number): number {
  return ms / timeScale;
}

/** The policy with every wait (backoff, cap, total retry time) divided by the time scale. */
export function scaleRetryPolicy(p: RetryPolicy, timeScale: number): RetryPolicy {
  if (timeScale === 1) return p;
  return {
    ...p,
    baseMs: scaleMs(p.baseMs, timeScale),
    capMs: scaleMs(p.capMs, timeScale),
    ...(p.maxRetryTimeMs !== undefined ? { maxRetryTimeMs: scaleMs(p.maxRetryTimeMs, timeScale) } : {}),
  };
}

export interface RetryingOptions {
  policy: RetryPolicy;
  observer?: ApiObserver | undefined;
  signal?: AbortSignal | undefined;
  logger?: Logger | undefined;
}

/**
 * Runs `fn` until it succeeds, fails with an error that is not a retryable ProviderError, the attempts or
 * the retry time run out, or the signal aborts (then the signal's reason is thrown, also mid-backoff).
 * `observer.retry(action, kind)` is called once per retry actually taken.
 */
export function retrying<T>(action: string, fn: (attempt: number) => Promise<T>, opts: RetryingOptions): Promise<T> {
  const { policy, signal, logger } = opts;
  const observer = opts.observer ?? NOOP_OBSERVER;
  return pRetry(fn, {
    retries: policy.attempts - 1,
    factor: 2,
    minTimeout: policy.baseMs,
    maxTimeout: policy.capMs,
    randomize: true,
    ...(policy.maxRetryTimeMs !== undefined ? { maxRetryTime: policy.maxRetryTimeMs } : {}),
    ...(signal ? { signal } : {}),
    // p-retry asks only while attempts and time remain, so a "yes" here is a retry about to be taken.
    shouldRetry: ({ error, attemptNumber, retryDelay }) => {
      if (!(error instanceof ProviderError && error.retryable)) return false;
      observer.retry(action, error.kind);
      logger?.debug(
        {
          action,
          code: error.code,
          kind: error.kind,
          attempt: attemptNumber,
          delayMs: retryDelay,
          requestId: error.requestId,
        },
        'retrying cloud call',
      );
      return true;
    },
  });
}
