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

/**
 * A route entry as the engine sees it. `NextHops.NextHop.Enabled` is documented for router-interface next
 * hops only, so only those are a blackhole when it is 0; what an entry to a released ECS instance looks like
 * is undocumented, so an instance hop is never judged by that field (an Enabled 0 on a live VM would have
 * the plan re-point the entry to the VM it already names, every pass). A stale entry of ours is found by its
 * mark and the inventory: its VM is gone, so its subnet is released and the entry deleted.
 */
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
  else if (single?.NextHopType === 'RouterInterface' && single.Enabled === 0) state = 'blackhole';
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
