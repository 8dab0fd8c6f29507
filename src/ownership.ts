// DESIGN I2: which routes this cluster may change. Everything else is left alone, whatever it blocks.
import type { Route } from '../providers/types.ts';
import { cidrInside, parseCidr, type Cidr } from './cidr.ts';

export type RouteOwner = 'system' | 'outside' | 'foreign' | 'ours';

export interface OwnershipContext {
  clusterCIDR: Cidr | string;
  /**
   * Instances known to be the cluster's (inventory plus allocation holders). Only consulted for routes
   * without a provider mark (AWS), where the target is the sole evidence of ownership.
   */
  knownInstanceIds: ReadonlySet<string>;
}

/**
 * `system`: never touched. `outside`: destination not inside clusterCIDR (not our business at all).
 * `foreign`: inside clusterCIDR but someone else's (a conflict when it holds one of our subnets).
 */
export function classifyRoute(route: Route, ctx: OwnershipContext): RouteOwner {
  if (route.system) return 'system';
  const cluster = typeof ctx.clusterCIDR === 'string' ? parseCidr(ctx.clusterCIDR) : ctx.clusterCIDR;
  if (!cidrInside(cluster, route.destination)) return 'outside';
  if (route.marked === true) return 'ours';
  if (route.marked === false) return 'foreign';
  // Unmarked clouds (AWS): a blackhole inside our CIDR is what a terminated VM of ours leaves behind;
  // a live target must be one of our VMs, else another tenant of the table owns it.
  if (route.state === 'blackhole') return 'ours';
  if (route.target !== null && ctx.knownInstanceIds.has(route.target)) return 'ours';
  return 'foreign';
}

export function isOurs(route: Route, ctx: OwnershipContext): boolean {
  return classifyRoute(route, ctx) === 'ours';
}
