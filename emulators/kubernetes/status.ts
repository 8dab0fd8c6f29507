// The apiserver's error shape: a v1 Status with the HTTP code, a machine-readable reason and, for 422s, the
// field causes. Clients branch on `code` and `reason` (client-go's IsConflict, client-node's ApiException.code),
// and kubectl prints `message`, so these mirror the real server's wording.
export type Obj = Record<string, unknown>;

export interface StatusCause {
  reason: string;
  message: string;
  field: string;
}

export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: Obj | undefined;
  /** Extra response headers (Retry-After on a 429). */
  readonly headers: Record<string, string>;

  constructor(code: number, reason: string, message: string, details?: Obj, headers: Record<string, string> = {}) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
    this.headers = headers;
  }

  toStatus(): Obj {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** `nodes "n1" not found`, `leases.coordination.k8s.io "x" not found`. */
export function notFound(qualified: string, kind: string, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualified} "${name}" not found`, { name, kind: kind.toLowerCase() });
}

export function alreadyExists(qualified: string, kind: string, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualified} "${name}" already exists`, {
    name,
    kind: kind.toLowerCase(),
  });
}

export function conflict(
  qualified: string,
  kind: string,
  name: string,
  why = 'the object has been modified; please apply your changes to the latest version and try again',
): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified} "${name}": ${why}`, {
    name,
    kind: kind.toLowerCase(),
  });
}

/** 422 with one cause per field error, worded like apimachinery's field.Error (`spec.x: Forbidden: …`). */
export function invalid(kind: string, name: string, causes: StatusCause[]): ApiError {
  const text = causes.map((c) => `${c.field}: ${c.message}`);
  const joined = text.length === 1 ? text[0] : `[${text.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${joined}`, { name, kind, causes });
}

export function fieldForbidden(field: string, detail: string): StatusCause {
  return { reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field };
}

export function fieldInvalid(field: string, value: unknown, detail: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${detail}`, field };
}

export function fieldRequired(field: string, detail: string): StatusCause {
  return { reason: 'FieldValueRequired', message: `Required value: ${detail}`, field };
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

/** A resourceVersion (watch start, continue token) older than the history the server still holds. */
export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

export function successStatus(details: Obj): Obj {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
}
