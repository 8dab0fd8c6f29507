// The one place Alibaba Cloud error codes (whole-request codes from pop-core, and the per-entry FailedCode
// of the batch APIs) become ProviderError kinds.
import { ProviderError, type ProviderErrorKind } from '../types.ts';

const EXACT: Record<string, ProviderErrorKind> = {
  Throttling: 'throttled',
  'Throttling.User': 'throttled',
  'Throttling.Api': 'throttled',
  'Throttling.Resource': 'throttled',
  ServiceUnavailable: 'unavailable',
  InternalError: 'unavailable',
  'Internal.Error': 'unavailable',
  'Vpc.Error': 'unavailable',
  UnknownError: 'unavailable',
  SystemBusy: 'busy',
  TaskConflict: 'busy',
  OperationConflict: 'busy',
  IncorrectRouteEntryStatus: 'busy',
  // Sic: one of the documented spellings on DeleteRouteEntry.
  IncorrcetRouteEntryStatus: 'busy',
  VPC_ROUTE_ENTRY_STATUS_ERROR: 'busy',
  LastTokenProcessing: 'busy',
  'OperationFailed.DistibuteLock': 'busy',
  IncorrectVpcStatus: 'busy',
  // A next hop or vSwitch between states (starting, being changed by another task): Terraform's provider
  // retries these on route entries (resource_alicloud_route_entry.go), so do we.
  IncorrectInstanceStatus: 'busy',
  IncorrectVSwitchStatus: 'busy',
  IncorrectHaVipStatus: 'busy',
  QuotaExceeded: 'quota',
  'InvalidCIDRBlock.Duplicate': 'alreadyExists',
  'InvalidRouteEntry.Duplicate': 'alreadyExists',
  'RouterEntryConflict.Duplicated': 'alreadyExists',
  VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE: 'alreadyExists',
  VPC_ROUTER_ENTRY_NOT_EXIST: 'notFound',
  InvalidRouteEntry: 'notFound',
  SignatureDoesNotMatch: 'auth',
  IncompleteSignature: 'auth',
  NoPermission: 'auth',
  'InvalidAccessKeyId.NotFound': 'auth',
  'InvalidAccessKeyId.Inactive': 'auth',
  'InvalidSecurityToken.Expired': 'auth',
  'InvalidSecurityToken.Malformed': 'auth',
  'InvalidSecurityToken.MismatchWithAccessKey': 'auth',
  Forbidden: 'auth',
  'Forbidden.RAM': 'auth',
};

export function kindOfCode(code: string, httpStatus?: number): ProviderErrorKind {
  const exact = EXACT[code];
  if (exact) return exact;
  if (code.startsWith('Throttling')) return 'throttled';
  if (code.startsWith('QuotaExceeded') || code.startsWith('CountLimitExceed')) return 'quota';
  if (code.startsWith('IncorrectStatus.')) return 'busy';
  if (code.startsWith('Forbidden')) return 'auth';
  if (code.endsWith('.NotFound')) return 'notFound';
  if (code.endsWith('.Duplicate') || code.endsWith('.Duplicated')) return 'alreadyExists';
  if (httpStatus !== undefined && httpStatus >= 500) return 'unavailable';
  return 'invalid';
}

/**
 * What one entry's FailedCode in a CreateRouteEntries / DeleteRouteEntries answer means. The documented
 * per-entry codes are upper-case (VPC_ROUTE_ENTRY_…); the quota one is not documented at all, so a code or
 * message that speaks of the quota is taken as the table's quota, which stops the table's creates (I5)
 * instead of resending them every pass.
 */
export function kindOfEntryFailure(code: string, message: string): ProviderErrorKind {
  if (/quota|limit_?exceed/i.test(code) || /quota exceeded|exceeds? the quota/i.test(message)) return 'quota';
  if (/(^|_)(DUPLICATE|DUPLICATED)$/.test(code)) return 'alreadyExists';
  if (/(^|_)NOT_EXIST$/.test(code)) return 'notFound';
  if (/(^|_)(STATUS_ERROR|CONFLICT|BUSY|LOCK)$/.test(code)) return 'busy';
  return kindOfCode(code);
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);

/** pop-core throws `Error{name: '<Code>Error', code, data: {RequestId, Code, Message}, entry}`; httpx and node throw network errors. */
export function toProviderError(e: unknown, action: string): ProviderError {
  if (e instanceof ProviderError) return e;
  const err = e as {
    name?: string;
    code?: unknown;
    message?: string;
    data?: { RequestId?: unknown; Message?: unknown };
    entry?: { response?: { statusCode?: number } };
  };
  const message = cleanMessage(String(err?.message ?? e));
  if (err?.data && typeof err.code === 'string') {
    const requestId = typeof err.data.RequestId === 'string' ? err.data.RequestId : undefined;
    const status = err.entry?.response?.statusCode;
    return new ProviderError(
      kindOfCode(err.code, status),
      err.code,
      `${action}: ${err.code}: ${cleanMessage(String(err.data.Message ?? message))}`,
      {
        action,
        ...(requestId ? { requestId } : {}),
        cause: e,
      },
    );
  }
  if (err?.name === 'SyntaxError') {
    // A body that is not JSON: a proxy error page or a truncated response. Transient until proven otherwise.
    return new ProviderError('unavailable', 'MalformedResponse', `${action}: response is not valid JSON (${message})`, {
      action,
      cause: e,
    });
  }
  const code = typeof err?.code === 'string' ? err.code : (err?.name ?? 'Error');
  if (NETWORK_CODES.has(code) || /Timeout|HttpX|socket hang up/i.test(`${err?.name} ${message}`)) {
    return new ProviderError('unavailable', code, `${action}: ${message}`, { action, cause: e });
  }
  return new ProviderError('unavailable', code, `${action}: ${message}`, { action, cause: e });
}

/** pop-core appends `, URL: <endpoint>`: noise in logs, and with GET it would carry the signature. */
function cleanMessage(m: string): string {
  return m.replace(/, URL: \S*$/, '').replace(/AccessKeyId=[^&\s]*/g, 'AccessKeyId=***');
}

export function malformed(action: string, detail: string, requestId?: string): ProviderError {
  return new ProviderError('invalid', 'MalformedResponse', `${action}: malformed response: ${detail}`, {
    action,
    ...(requestId ? { requestId } : {}),
  });
}
