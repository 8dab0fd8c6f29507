// DESIGN I2: which routes this cluster may change. Everything else is left alone, whatever it blocks.
import type { Route } from '../providers/types.ts';
import { contains, parseCidr, type Cidr } from './lib/cidr.ts';

export type RouteOwner = 'system' | 'outside' | 'foreign' | 'ours';

export interface OwnershipContext {
  clusterCIDR: Cidr | string;
  /** Prefix length of every subnet of ours: a route is ours only at exactly this length. */
  subnetLen: number;
  /**
   * Instances known to be the cluster's (inventory plus allocation holders). Only consulted for routes
   * without a provider mark (AWS), where the target is the sole evidence of ownership.
   */
  knownInstanceIds: ReadonlySet<string>;
}

/** Is `destination` exactly one of the cluster's subnets: a `/subnetLen` inside clusterCIDR, host bits zero? */
export function isClusterSubnet(destination: string, cluster: Cidr, subnetLen: number): boolean {
  let c: Cidr;
  try {
    c = parseCidr(destination);
  } catch {
    return false;
  }
  return c.prefix === subnetLen && contains(cluster, c);
}

/**
 * `system`: never touched. `outside`: not one of the cluster's subnets (not our business at all — a route
 * merely inside clusterCIDR, such as a default route or a /16 of the VPC, is never ours, whatever it is
 * marked). `foreign`: exactly one of our subnets but someone else's (a conflict when we want that subnet).
 */
export function classifyRoute(route: Route, ctx: OwnershipContext): RouteOwner {
  if (route.system) return 'system';
  const cluster = typeof ctx.clusterCIDR === 'string' ? parseCidr(ctx.clusterCIDR) : ctx.clusterCIDR;
  if (!isClusterSubnet(route.destination, cluster, ctx.subnetLen)) return 'outside';
  if (route.marked === true) return 'ours';
  if (route.marked === false) return 'foreign';
  // Unmarked clouds (AWS): a blackhole on one of our subnets is what a terminated VM of ours leaves behind;
  // a live target must be one of our VMs, else another tenant of the table owns it.
  if (route.state === 'blackhole') return 'ours';
  if (route.target !== null && ctx.knownInstanceIds.has(route.target)) return 'ours';
  return 'foreign';
}

export function isOurs(route: Route, ctx: OwnershipContext): boolean {
  return classifyRoute(route, ctx) === 'ours';
}
