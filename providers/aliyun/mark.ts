// Ownership mark on Alibaba route entries (DESIGN I2): Description `routesync:<cluster>` and RouteEntryName
// `routesync-<cluster>-<a-b-c-d-len>` (names allow 1-128 characters, letters, digits, - and _).
import type { Route, RouteState } from '../types.ts';
import type { RouteEntryWire } from './schemas.ts';

export function markDescription(cluster: string): string {
  return `routesync:${cluster}`;
}

export function entryName(cluster: string, destination: string): string {
  return `routesync-${cluster}-${destination.replace(/[./]/g, '-')}`;
}

const SETTLED = 'Available';

/** A route entry as the engine sees it. Entries to a released instance keep Enabled=0: reported blackhole. */
export function toRoute(e: RouteEntryWire, tableId: string, cluster: string): Route {
  const hops = e.NextHops.NextHop;
  const single = hops.length === 1 ? hops[0] : undefined;
  const isInstance = single?.NextHopType === 'Instance' && single.NextHopId !== '';
  const system = e.Type !== 'Custom';
  let nextHop: string;
  if (!single)
    nextHop = hops.length === 0 ? 'none' : `ECMP:${hops.map((h) => `${h.NextHopType}:${h.NextHopId}`).join(',')}`;
  else if (isInstance) nextHop = single.NextHopId;
  else if (single.NextHopId === '') nextHop = single.NextHopType;
  else nextHop = `${single.NextHopType}:${single.NextHopId}`;
  let state: RouteState;
  if (e.Status !== SETTLED) state = 'pending';
  else if (isInstance && single.Enabled === 0) state = 'blackhole';
  else state = 'active';
  const marked =
    !system &&
    (e.Description === markDescription(cluster) || e.RouteEntryName === entryName(cluster, e.DestinationCidrBlock));
  return {
    table: tableId,
    destination: e.DestinationCidrBlock,
    target: isInstance ? single.NextHopId : null,
    nextHop,
    state,
    marked,
    system,
    providerId: e.RouteEntryId,
  };
}
