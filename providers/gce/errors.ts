// The one place where what @google-cloud/compute throws (GoogleError over REST fallback, fetch failures,
// bad JSON) and what a finished operation reports become ProviderError kinds.
import { ProviderError, type ProviderErrorKind } from '../types.ts';

interface GaxLikeError {
  code?: unknown;
  httpStatusCode?: unknown;
  reason?: unknown;
  message?: unknown;
  name?: unknown;
}

const THROTTLE_REASONS = new Set([
  'rateLimitExceeded',
  'RATE_LIMIT_EXCEEDED',
  'userRateLimitExceeded',
  'backendRateLimitExceeded',
]);
const QUOTA_REASONS = new Set(['quotaExceeded', 'QUOTA_EXCEEDED']);
// gRPC codes gax maps a fetch-level failure to when no HTTP status came back.
const GRPC_TRANSIENT = new Set([4, 13, 14]);

export function mapGceError(e: unknown, action: string): ProviderError {
  if (e instanceof ProviderError) return e;
  const g = (typeof e === 'object' && e !== null ? e : {}) as GaxLikeError;
  const message = typeof g.message === 'string' ? (g.message.split('\n')[0] ?? '') : String(e);
  const http = typeof g.httpStatusCode === 'number' ? g.httpStatusCode : undefined;
  const reason = typeof g.reason === 'string' && g.reason !== '' ? g.reason : undefined;
  const code =
    reason ??
    (http !== undefined
      ? `HTTP${http}`
      : typeof g.code === 'number'
        ? `GRPC${g.code}`
        : typeof g.name === 'string'
          ? g.name
          : 'Unknown');
  const make = (kind: ProviderErrorKind) =>
    new ProviderError(kind, code, `${action}: ${message}`, { action, cause: e });
  if (http !== undefined) {
    if (http === 409) return make('alreadyExists');
    if (http === 404) return make('notFound');
    if (http === 429) return make('throttled');
    if (http === 401) return make('auth');
    if (http === 403) {
      if ((reason && THROTTLE_REASONS.has(reason)) || /rate ?limit|per minute/i.test(message)) return make('throttled');
      if ((reason && QUOTA_REASONS.has(reason)) || /quota/i.test(message)) return make('quota');
      return make('auth');
    }
    if (http === 400 && (reason === 'resourceNotReady' || /is not ready/i.test(message))) return make('busy');
    if (http === 412) return make('busy');
    if (http >= 500) return make('unavailable');
    return make('invalid');
  }
  // No HTTP answer: connection reset, timeout, truncated or unparsable body. Transient as far as we know.
  if (typeof g.code === 'number' && !GRPC_TRANSIENT.has(g.code) && g.code !== 2) return make('invalid');
  return make('unavailable');
}

export interface OperationLike {
  name?: string | null;
  error?: { errors?: Array<{ code?: string | null; message?: string | null }> | null } | null;
  httpErrorStatusCode?: number | null;
}

const OP_KIND: Record<string, ProviderErrorKind> = {
  QUOTA_EXCEEDED: 'quota',
  RATE_LIMIT_EXCEEDED: 'throttled',
  RESOURCE_NOT_READY: 'busy',
  RESOURCE_IN_USE_BY_ANOTHER_RESOURCE: 'busy',
  RESOURCE_NOT_FOUND: 'notFound',
  NOT_FOUND: 'notFound',
  RESOURCE_ALREADY_EXISTS: 'alreadyExists',
  ALREADY_EXISTS: 'alreadyExists',
  INTERNAL_ERROR: 'unavailable',
  UNAVAILABLE: 'unavailable',
};

/** A DONE operation that carries `error.errors[]` → the first error as ProviderError; null when it succeeded. */
export function operationError(op: OperationLike, action: string): ProviderError | null {
  const first = op.error?.errors?.[0];
  if (!op.error || !first) return null;
  const code = first.code ?? 'OPERATION_FAILED';
  const kind = OP_KIND[code] ?? ((op.httpErrorStatusCode ?? 0) >= 500 ? 'unavailable' : 'invalid');
  return new ProviderError(kind, code, `${action}: ${first.message ?? code}`, {
    action,
    ...(op.name ? { requestId: op.name } : {}),
  });
}

/**
 * An operation (or another writer's insert) still running when this pass stops waiting for it. Not retried
 * by sending the write again: a second insert of a route whose insert is running is a 409 (kubernetes#21561:
 * 313k of them). The provider keeps the operation and the next pass waits on it instead.
 */
export class OperationPendingError extends ProviderError {
  override get retryable(): boolean {
    return false;
  }
}
