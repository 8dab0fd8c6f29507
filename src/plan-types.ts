// The plan's vocabulary (DESIGN step 3): what it is given and what it says. src/plan.ts makes plans;
// these types are shared by it, its per-table part (src/plan-table.ts) and whoever reads a plan.
import type { Change, Quota, Route } from '../providers/types.ts';

export interface DesiredRoute {
  destination: string;
  /** Instance id the route must point at. */
  target: string;
  /** Orders quota-blocked creates: oldest allocation first. */
  allocatedAt: number;
  /**
   * False for a VM that is present but not running (stopped): its existing route is kept as it is, a
   * missing one is not created.
   */
  create?: boolean;
  /** The VM vanished from the inventory: its route is kept until releaseAfter, then deleted (state `releasing`). */
  releasing?: boolean;
}

/**
 * `orphan`: a route of ours that the store does not account for (its subnet is held by no allocation, or
 * it points at a VM that holds no subnet). It is evidence of an allocation the store lost (I2/I3): never
 * replaced or deleted, reported until it is adopted into the store or removed by hand.
 */
/**
 * `cannot-forward`: a route of ours to the right VM that the cloud says that VM cannot forward for
 * (Route.cannotForward): left as it is, reported until the VM is fixed or replaced.
 */
export type FindingKind = 'conflict' | 'orphan' | 'blocked:quota' | 'held:safety-valve' | 'pending' | 'cannot-forward';

export interface Finding {
  kind: FindingKind;
  table: string;
  destination: string;
  detail: string;
  /** The VM the destination belongs to, when it is one of ours. */
  target?: string;
}

export const ROUTE_STATES = [
  'ok',
  'missing',
  'wrong_target',
  'stale',
  'blackhole',
  'conflict',
  'blocked_quota',
  'pending',
  'releasing',
  'cannot_forward',
] as const;
export type RouteStateCount = Record<(typeof ROUTE_STATES)[number], number>;

export function emptyCounts(): RouteStateCount {
  return {
    ok: 0,
    missing: 0,
    wrong_target: 0,
    stale: 0,
    blackhole: 0,
    conflict: 0,
    blocked_quota: 0,
    pending: 0,
    releasing: 0,
    cannot_forward: 0,
  };
}

export interface PlanInput {
  desired: DesiredRoute[];
  /** Tables whose routes were read. A table absent here (read failed) gets no changes at all. */
  actualByTable: Record<string, Route[]> | Map<string, Route[]>;
  /** A table without a known quota gets no creates (I5: remaining quota is known before creating). */
  quotaByTable: Record<string, Quota>;
  clusterCIDR: string;
  /** Prefix length of the cluster's subnets: only a route at exactly this length is ours (I2). */
  subnetLen: number;
  /** Inventory ids plus allocation holders: the evidence of ownership for unmarked (AWS) routes. */
  inventoryIds: ReadonlySet<string>;
  /**
   * Subnets whose routes of ours may be deleted when no desired route wants them: the subnets released
   * this pass and those the store records as released. A route of ours on any other subnet the store does
   * not hold is an `orphan`, never deleted (a lost or older store must not rewrite live routes).
   */
  releasable: ReadonlySet<string>;
  /**
   * VMs of the inventory that hold no subnet in the store. A route of ours pointing at one is evidence of an
   * allocation the store lost: it is never replaced or deleted, even on a subnet the store gives another VM.
   */
  unallocated?: ReadonlySet<string>;
  /** Why the route of ours at a destination was not adopted into the store (detail of its `orphan` finding). */
  orphanReasons?: ReadonlyMap<string, string>;
  adopt: boolean;
  /** False while the safety valve is held (I3): no deletes and no replaces, only creates. */
  deletesAllowed: boolean;
  /** Cap on deletes in one pass; the rest are held. */
  maxDeletes?: number;
}

/** What stands between a releasable subnet and its release: its routes of ours in the tables read. */
export interface ReleaseGate {
  /** The deletes of its routes of ours this plan makes (each one is in `changes`). */
  deletes: Change[];
  /** Its routes of ours this plan does not delete (held by the valve or the delete cap, or orphans). */
  kept: number;
}

export interface Plan {
  changes: Change[];
  findings: Finding[];
  summary: Record<string, RouteStateCount>;
  /** Tables in the order they were planned (sorted ids). */
  tables: string[];
  /**
   * Per releasable subnet (not wanted by a desired route) with a route of ours in a table read: the subnet
   * is free of routes once every delete of its gate succeeded and none was kept. No entry: no route of ours.
   */
  releases: Record<string, ReleaseGate>;
}
