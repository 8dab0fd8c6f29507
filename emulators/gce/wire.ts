// Compute v1 REST wire shapes the emulator answers with: JSON bodies, the error envelope and resource URLs.
import type { EmuResponse } from '../shared/types.ts';

export function ok(value: unknown): EmuResponse {
  return { status: 200, contentType: 'application/json; charset=UTF-8', body: JSON.stringify(value), outcome: 'ok' };
}

/**
 * The Compute error envelope: `errors[].reason` is what gcloud and the docs show; the ErrorInfo detail is
 * what google-gax promotes to `error.reason`, so both kinds of client can tell the causes apart.
 */
export function apiError(code: number, reason: string, message: string, domain = 'global'): EmuResponse {
  const status = STATUS_BY_HTTP[code] ?? 'UNKNOWN';
  const body = {
    error: {
      code,
      message,
      errors: [{ message, domain, reason }],
      status,
      details: [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason, domain: 'compute.googleapis.com', metadata: {} },
      ],
    },
  };
  return { status: code, contentType: 'application/json; charset=UTF-8', body: JSON.stringify(body), outcome: reason };
}

const STATUS_BY_HTTP: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

export const invalid = (message: string) => apiError(400, 'invalid', message);
export const notFound = (what: string) => apiError(404, 'notFound', `The resource '${what}' was not found`);
export const alreadyExists = (what: string) => apiError(409, 'alreadyExists', `The resource '${what}' already exists`);
export const rateLimited = (group: string) =>
  apiError(
    403,
    'rateLimitExceeded',
    `Quota exceeded for quota metric '${group}' and limit '${group} per minute' of service 'compute.googleapis.com'.`,
    'usageLimits',
  );

/** Resource URLs on the host the client called, so gcloud's resource parser accepts them under an endpoint override. */
export class Urls {
  readonly base: string;
  readonly project: string;
  constructor(base: string, project: string) {
    this.base = base;
    this.project = project;
  }
  static fromHost(host: string | undefined, project: string): Urls {
    return new Urls(`http://${host ?? '127.0.0.1'}/compute/v1`, project);
  }
  projectUrl(): string {
    return `${this.base}/projects/${this.project}`;
  }
  global(kind: string, name: string): string {
    return `${this.projectUrl()}/global/${kind}/${name}`;
  }
  zone(zone: string): string {
    return `${this.projectUrl()}/zones/${zone}`;
  }
  instance(zone: string, name: string): string {
    return `${this.zone(zone)}/instances/${name}`;
  }
  region(region: string): string {
    return `${this.projectUrl()}/regions/${region}`;
  }
}

/** `.../projects/P/zones/Z/instances/N` in any form (full URL, partial path) → its parts. */
export function parseInstanceRef(ref: string): { project?: string; zone: string; name: string } | null {
  const m = /(?:projects\/([^/]+)\/)?zones\/([^/]+)\/instances\/([^/?#]+)$/.exec(ref);
  if (!m) return null;
  return { ...(m[1] ? { project: m[1] } : {}), zone: m[2] as string, name: m[3] as string };
}

/** `.../global/networks/N`, `projects/P/global/networks/N` or a bare name → the network name. */
export function parseNetworkRef(ref: string): string | null {
  const m = /(?:^|\/)global\/networks\/([^/?#]+)$/.exec(ref);
  if (m) return m[1] as string;
  return /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ref) ? ref : null;
}

export const RFC1035 = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '-00:00');
}
