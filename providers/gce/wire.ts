// What Compute answers, as far as we read it, and the checks every answer passes: a malformed answer fails
// (one ProviderError naming the call), it is never read as empty.
import { ProviderError, type Instance } from '../types.ts';
import type { OperationLike } from './errors.ts';

/** Compute's documented default; the emulator uses the same number. */
export const DEFAULT_ROUTE_QUOTA = 200;
export const PRIORITY = 1000;

export const STATE: Record<string, Instance['state']> = {
  PROVISIONING: 'pending',
  STAGING: 'pending',
  REPAIRING: 'pending',
  RUNNING: 'running',
  STOPPING: 'stopping',
  SUSPENDING: 'stopping',
  STOPPED: 'stopped',
  SUSPENDED: 'stopped',
  TERMINATED: 'stopped',
};

export const BLACKHOLE_WARNINGS = new Set([
  'NEXT_HOP_INSTANCE_NOT_FOUND',
  'NEXT_HOP_NOT_RUNNING',
  'NEXT_HOP_INSTANCE_NOT_ON_NETWORK',
  'NEXT_HOP_CANNOT_IP_FORWARD',
  'NEXT_HOP_ADDRESS_NOT_ASSIGNED',
  'NEXT_HOP_INSTANCE_HAS_NO_IPV6_INTERFACE',
]);
/**
 * Warnings about the VM itself, not the route: the same route inserted again gets the same warning
 * (kubernetes#52398 is the delete/insert loop). Route.cannotForward carries them to the plan.
 */
export const CANNOT_FORWARD_WARNINGS = new Set([
  'NEXT_HOP_CANNOT_IP_FORWARD',
  'NEXT_HOP_INSTANCE_NOT_ON_NETWORK',
  'NEXT_HOP_INSTANCE_HAS_NO_IPV6_INTERFACE',
]);

/* The SDK's response types are protobuf interfaces with every field optional/nullable; these are the
   fields we read, checked at runtime because a malformed answer must fail, not read as empty. */
export interface RawRoute {
  name?: string | null;
  destRange?: string | null;
  network?: string | null;
  description?: string | null;
  nextHopInstance?: string | null;
  nextHopGateway?: string | null;
  nextHopIp?: string | null;
  nextHopNetwork?: string | null;
  nextHopPeering?: string | null;
  nextHopVpnTunnel?: string | null;
  nextHopIlb?: string | null;
  nextHopHub?: string | null;
  routeType?: string | null;
  warnings?: Array<{ code?: string | null }> | null;
}

export interface RawInstance {
  name?: string | null;
  status?: string | null;
  zone?: string | null;
  selfLink?: string | null;
  labels?: Record<string, string> | null;
  networkInterfaces?: Array<{ network?: string | null; networkIP?: string | null }> | null;
}

export interface RawOperation extends OperationLike {
  kind?: string | null;
  status?: string | null;
}

export function malformed(action: string, what: string): ProviderError {
  return new ProviderError('invalid', 'MalformedResponse', `${action}: malformed response: ${what}`, { action });
}

export function checkKind(action: string, raw: unknown, kind: string): void {
  const k = (raw as { kind?: unknown } | null | undefined)?.kind;
  // Every Compute response names its kind; anything else (an error body with 200, a proxy page) is not an answer.
  if (k !== kind) throw malformed(action, `kind ${JSON.stringify(k)} instead of ${kind}`);
}

/** A write's outcome and the operation that carried it: GCE's request id for support and the audit log. */
export interface Done {
  outcome: 'applied' | 'alreadyDone';
  requestId?: string;
}

export function opId(op: RawOperation): { requestId?: string } {
  return typeof op.name === 'string' ? { requestId: op.name } : {};
}
