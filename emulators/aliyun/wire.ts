// Alibaba Cloud RPC wire format, server side: parameters arrive form-encoded in a POST body (pop-core) or
// in the query string (GET), responses are JSON with PascalCase fields and a RequestId, errors are
// `{RequestId, HostId, Code, Message, Recommend}` with the HTTP status the real API uses for that code.
import { randomUUID } from 'node:crypto';
import type { EmuRequest, EmuResponse } from '../shared/types.ts';

export type Params = Map<string, string>;

export function readParams(req: EmuRequest): Params {
  const p: Params = new Map(req.url.searchParams);
  const ct = String(req.headers['content-type'] ?? '');
  if (req.body !== '' && (ct.includes('application/x-www-form-urlencoded') || ct === '')) {
    for (const [k, v] of new URLSearchParams(req.body)) p.set(k, v);
  }
  return p;
}

export function requestId(): string {
  return randomUUID().toUpperCase();
}

export function okResponse(body: Record<string, unknown>): EmuResponse {
  return {
    status: 200,
    contentType: 'application/json;charset=utf-8',
    body: JSON.stringify({ RequestId: requestId(), ...body }),
    outcome: 'ok',
  };
}

/** The real status and message of the codes this emulator returns. */
const CATALOGUE: Record<string, [number, string]> = {
  Throttling: [400, 'Request was denied due to request throttling.'],
  'Throttling.User': [400, 'Request was denied due to user flow control.'],
  ServiceUnavailable: [503, 'The request has failed due to a temporary failure of the server.'],
  InternalError: [500, 'The request processing has failed due to some unknown error, exception or failure.'],
  TaskConflict: [400, 'The operation is too frequent, please wait a moment and try again.'],
  OperationConflict: [400, 'Request was denied due to conflict with a previous request.'],
  IncorrectRouteEntryStatus: [400, 'Some route entry status blocked this operation.'],
  IncorrectInstanceStatus: [400, 'The current status of the resource does not support this operation.'],
  IncorrectVSwitchStatus: [400, 'The current status of the VSwitch does not support this operation.'],
  IncorrectHaVipStatus: [400, 'The current status of the HaVip does not support this operation.'],
  'IncorrectStatus.VpcRouteTable': [400, 'The route table is being changed by another task.'],
  LastTokenProcessing: [400, 'The last token request is processing.'],
  'OperationFailed.DistibuteLock': [400, 'The operation failed because of a distribute lock conflict.'],
  QuotaExceeded: [400, 'Route entry quota exceeded in this route table.'],
  'InvalidCIDRBlock.Duplicate': [400, 'Specified CIDR block is already exists.'],
  'InvalidCidrBlock.Malformed': [400, 'Specified CIDR block is not valid.'],
  InvalidCidrBlock: [400, 'Specified CIDR block is not valid.'],
  'InvalidRouteEntry.NotFound': [400, 'Route entry not exists.'],
  'InvalidRouteEntryId.NotFound': [400, 'Specified RouteEntryId does not exist.'],
  'InvalidRouteTableId.NotFound': [404, 'Specified route table does not exist.'],
  'InvalidVpcId.NotFound': [404, 'Specified value of VpcId is not found in our record.'],
  'InvalidNextHop.NotFound': [400, 'Specified next hop does not exist.'],
  InvalidNextHopType: [400, 'Specified parameter "NextHopType" is not valid'],
  'OperationDenied.NextHopNotChanged': [400, 'The operation is not allowed because of NextHopNotChanged.'],
  OperationDenied: [400, 'Specified operation is denied as route entry type is system.'],
  MissingParameter: [400, 'Miss mandatory parameter.'],
  'MissingParam.RouteTableId': [400, 'The parameter RouteTableId is missing.'],
  InvalidParameter: [400, 'The specified parameter is not valid.'],
  'InvalidAction.NotFound': [404, 'Specified api is not found, please check your url and method.'],
  InvalidVersion: [400, 'Specified parameter Version is not valid.'],
  'InvalidAccessKeyId.NotFound': [404, 'Specified access key is not found.'],
  'InvalidRegionId.NotFound': [404, 'The specified RegionId does not exist.'],
};

export function errorResponse(code: string, message?: string): EmuResponse {
  const [status, defaultMessage] = CATALOGUE[code] ?? [400, `${code}`];
  const rid = requestId();
  return {
    status,
    contentType: 'application/json;charset=utf-8',
    body: JSON.stringify({
      RequestId: rid,
      HostId: 'vpc.aliyuncs.com',
      Code: code,
      Message: message ?? defaultMessage,
      Recommend: `https://api.aliyun.com/troubleshoot?q=${code}`,
    }),
    outcome: code,
  };
}

/** `Prefix.1.Field`, `Prefix.2.Field`, … → one record per index, in index order. Gaps end the list. */
export function repeated(p: Params, prefix: string): Array<Record<string, string>> {
  const byIndex = new Map<number, Record<string, string>>();
  const re = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)\\.(.+)$`);
  for (const [k, v] of p) {
    const m = re.exec(k);
    if (!m) continue;
    const i = Number(m[1]);
    const rec = byIndex.get(i) ?? {};
    rec[m[2] as string] = v;
    byIndex.set(i, rec);
  }
  return [...byIndex.keys()].sort((a, b) => a - b).map((i) => byIndex.get(i) as Record<string, string>);
}

/** An integer parameter within bounds, its default when absent, or null when malformed. */
export function intParam(p: Params, name: string, def: number, min: number, max: number): number | null {
  const raw = p.get(name);
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw)) return null;
  const n = Number(raw);
  if (n < min) return null;
  return Math.min(n, max);
}
