// Hostile responses: the real response, corrupted on the way out, to prove that a pass which reads garbage
// fails safe (no deletes, a clear error, the next pass recovers). Chosen with a fault rule like any other
// fault (`POST /_emulator/faults {"error":"truncate","action":"DescribeRouteTables","count":1}`). The real
// request is still served first, so a mutating call still takes effect, as when a reply is cut in transit.
import type { CloudEmulator, EmuResponse } from './types.ts';

/** Corruptions the shared server plays for any cloud. */
export const GENERIC_HOSTILE = ['truncate', 'empty-body-200', 'html-200'] as const;
/**
 * Corruptions only the cloud's wire format knows how to make: `empty-listing` (a valid listing with zero
 * items), `error-200` (an error body with status 200), `missing-fields` (items lacking the fields the
 * provider needs), `wrong-types` (those fields with the wrong type or a nonsense value).
 */
export const CLOUD_HOSTILE = ['empty-listing', 'error-200', 'missing-fields', 'wrong-types'] as const;

export type HostileHook = (kind: string, action: string, real: EmuResponse) => EmuResponse | undefined;

export function isHostileFault(error: string): boolean {
  return (GENERIC_HOSTILE as readonly string[]).includes(error) || (CLOUD_HOSTILE as readonly string[]).includes(error);
}

/**
 * The corrupted response, or undefined when this fault does not apply to this response (an error reply,
 * or a cloud kind on an action that has no listing): the real response is then served unchanged.
 */
export function hostileResponse(
  cloud: CloudEmulator,
  kind: string,
  action: string,
  real: EmuResponse,
): EmuResponse | undefined {
  if (real.status < 200 || real.status >= 300) return undefined;
  const outcome = `hostile:${kind}`;
  switch (kind) {
    case 'truncate':
      return { ...real, body: real.body.slice(0, Math.floor(real.body.length / 2)), outcome };
    case 'empty-body-200':
      return { ...real, body: '', outcome };
    case 'html-200':
      // What a misconfigured proxy or captive portal in front of the endpoint serves.
      return {
        status: 200,
        contentType: 'text/html',
        body: '<html><body><h1>502 Bad Gateway</h1></body></html>',
        outcome,
      };
  }
  // The cloud-specific corruptions live with each cloud (providers/<cloud>/hostile.ts, wired in its emulator).
  const out = cloud.hostileResponse?.(kind, action, real);
  return out === undefined ? undefined : { ...out, outcome };
}
