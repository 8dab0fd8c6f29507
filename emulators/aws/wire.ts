// EC2 Query protocol pieces of the AWS emulator: form parameters in (flattened lists `X.N`, filters
// `Filter.N.Name` / `Filter.N.Value.M`), namespaced XML out, and the EC2 error envelope.
import type { EmuResponse } from '../shared/types.ts';

export const EC2_NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
export const EC2_VERSION = '2016-11-15';

/** An EC2 API error as the wire carries it (code, message, HTTP status). */
export class Ec2Fault extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export type Params = Map<string, string>;

export function parseForm(body: string, query: URLSearchParams): Params {
  const out: Params = new Map();
  for (const [k, v] of query) out.set(k, v);
  for (const [k, v] of new URLSearchParams(body)) out.set(k, v);
  return out;
}

/** `Prefix.1`, `Prefix.2`, … in index order; gaps end nothing (EC2 reads every index present). */
export function listParam(p: Params, prefix: string): string[] {
  const found: Array<[number, string]> = [];
  const re = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)$`);
  for (const [k, v] of p) {
    const m = re.exec(k);
    if (m) found.push([Number(m[1]), v]);
  }
  return found.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

export interface Filter {
  name: string;
  values: string[];
}

export function filters(p: Params): Filter[] {
  const idx = new Set<number>();
  for (const k of p.keys()) {
    const m = /^Filter\.(\d+)\./.exec(k);
    if (m) idx.add(Number(m[1]));
  }
  return [...idx]
    .sort((a, b) => a - b)
    .map((n) => {
      const name = p.get(`Filter.${n}.Name`);
      if (name === undefined || name === '')
        throw new Ec2Fault('MissingParameter', `The request must contain the parameter Filter.${n}.Name`);
      return { name, values: listParam(p, `Filter.${n}.Value`) };
    });
}

export function required(p: Params, name: string): string {
  const v = p.get(name);
  if (v === undefined || v === '') {
    throw new Ec2Fault(
      'MissingParameter',
      `The request must contain the parameter ${name[0]?.toLowerCase()}${name.slice(1)}`,
    );
  }
  return v;
}

export function maxResults(p: Params, min: number, max: number): number | undefined {
  const raw = p.get('MaxResults');
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Ec2Fault(
      'InvalidParameterValue',
      `Value ( ${raw} ) for parameter maxResults is invalid. Expecting a value between ${min} and ${max}.`,
    );
  }
  return n;
}

export function boolParam(p: Params, name: string): boolean | undefined {
  const raw = p.get(name);
  if (raw === undefined) return undefined;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new Ec2Fault('InvalidParameterValue', `Value (${raw}) for parameter ${name} is invalid. Expected a boolean.`);
}

// ---- XML out ----

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** One element; `undefined` content omits it (EC2 leaves absent fields out rather than sending empties). */
export function el(name: string, content: string | number | boolean | undefined): string {
  if (content === undefined) return '';
  return `<${name}>${typeof content === 'string' ? content : String(content)}</${name}>`;
}

export function text(name: string, value: string | undefined): string {
  return value === undefined ? '' : el(name, esc(value));
}

export function set(name: string, items: string[]): string {
  return items.length === 0 ? `<${name}/>` : `<${name}>${items.map((i) => `<item>${i}</item>`).join('')}</${name}>`;
}

export function xmlOk(action: string, requestId: string, inner: string): EmuResponse {
  return {
    status: 200,
    contentType: 'text/xml;charset=UTF-8',
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NS}">${el('requestId', requestId)}${inner}</${action}Response>`,
    outcome: 'ok',
    headers: { 'x-amzn-requestid': requestId },
  };
}

export function xmlError(code: string, message: string, status: number, requestId: string): EmuResponse {
  return {
    status,
    contentType: 'text/xml;charset=UTF-8',
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>${text('Code', code)}${text('Message', message)}</Error></Errors>${el('RequestID', requestId)}</Response>`,
    outcome: code,
    headers: { 'x-amzn-requestid': requestId },
  };
}

/** AWS JSON 1.1 (Service Quotas): errors carry `__type` and the x-amzn-errortype header. */
export function jsonOk(value: unknown, requestId: string): EmuResponse {
  return {
    status: 200,
    contentType: 'application/x-amz-json-1.1',
    body: JSON.stringify(value),
    outcome: 'ok',
    headers: { 'x-amzn-requestid': requestId },
  };
}

export function jsonError(code: string, message: string, status: number, requestId: string): EmuResponse {
  return {
    status,
    contentType: 'application/x-amz-json-1.1',
    body: JSON.stringify({ __type: code, message }),
    outcome: code,
    headers: { 'x-amzn-requestid': requestId, 'x-amzn-errortype': code },
  };
}

/** The access key id of a SigV4 `Authorization: AWS4-HMAC-SHA256 Credential=AKID/date/region/svc/aws4_request, …`. */
export function accessKeyOf(authorization: string | string[] | undefined): string {
  const h = Array.isArray(authorization) ? authorization[0] : authorization;
  const m = h ? /Credential=([^/,\s]+)\//.exec(h) : null;
  return m?.[1] ?? 'anonymous';
}
