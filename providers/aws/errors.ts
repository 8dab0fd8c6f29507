// The one place AWS SDK errors become ProviderError kinds. EC2 codes are listed in the EC2 API reference
// ("Error codes for the Amazon EC2 API"); Service Quotas uses JSON-protocol exception names.
import { ProviderError, type ProviderErrorKind } from '../types.ts';

const BY_CODE: Record<string, ProviderErrorKind> = {
  RequestLimitExceeded: 'throttled',
  Throttling: 'throttled',
  ThrottlingException: 'throttled',
  TooManyRequestsException: 'throttled',
  RouteLimitExceeded: 'quota',
  RouteAlreadyExists: 'alreadyExists',
  'InvalidRoute.NotFound': 'notFound',
  'InvalidRouteTableID.NotFound': 'notFound',
  'InvalidInstanceID.NotFound': 'notFound',
  'InvalidVpcID.NotFound': 'notFound',
  NoSuchResourceException: 'notFound',
  AuthFailure: 'auth',
  UnauthorizedOperation: 'auth',
  InvalidClientTokenId: 'auth',
  SignatureDoesNotMatch: 'auth',
  AccessDeniedException: 'auth',
  OptInRequired: 'auth',
  CredentialsProviderError: 'auth',
  InternalError: 'unavailable',
  InternalFailure: 'unavailable',
  ServiceUnavailable: 'unavailable',
  ServiceException: 'unavailable',
  Unavailable: 'unavailable',
  IncorrectState: 'busy',
  ConcurrentTagAccess: 'busy',
};

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'EHOSTUNREACH',
]);

interface SdkErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

export function mapAwsError(e: unknown, action: string): ProviderError {
  if (e instanceof ProviderError) return e;
  const x = (typeof e === 'object' && e !== null ? e : {}) as SdkErrorLike;
  const name = typeof x.name === 'string' ? x.name : 'Error';
  const message = typeof x.message === 'string' ? x.message : String(e);
  const status = x.$metadata?.httpStatusCode;
  const requestId = x.$metadata?.requestId;
  const opts = { action, cause: e, ...(requestId ? { requestId } : {}) };
  const make = (kind: ProviderErrorKind, code: string) =>
    new ProviderError(kind, code, `${action}: ${code}: ${message}`, opts);

  const known = BY_CODE[name];
  if (known) return make(known, name);
  // EC2 answers ReplaceRoute on a missing destination with this InvalidParameterValue, not a NotFound code.
  if (name === 'InvalidParameterValue' && /no route defined/i.test(message)) return make('notFound', name);
  if (typeof x.code === 'string' && NETWORK_CODES.has(x.code)) return make('unavailable', x.code);
  if (name === 'TimeoutError' || /socket hang up|ECONNRESET|network/i.test(message))
    return make('unavailable', name === 'Error' ? 'NetworkError' : name);
  if (status !== undefined && status >= 500) return make('unavailable', name);
  if (status === 429) return make('throttled', name);
  if (status === 401 || status === 403) return make('auth', name);
  if (status !== undefined && status >= 400) return make('invalid', name);
  // No HTTP status: the body did not parse (truncated, not XML) or the SDK failed before a response.
  // Transient by nature, so retried, and never read as an empty answer.
  return make('unavailable', name === 'Error' ? 'MalformedResponse' : name);
}

/** A 200 whose body lacks what every such response has: the cloud did not really answer. */
export function malformed(action: string, what: string, requestId?: string): ProviderError {
  return new ProviderError('invalid', 'MalformedResponse', `${action}: malformed response: ${what}`, {
    action,
    ...(requestId ? { requestId } : {}),
  });
}
