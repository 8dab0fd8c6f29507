// Subnet choice and release rules, pure over a store snapshot: no I/O and no clock of its own (`now` comes
// in), so the controller, `reconcile --dry-run` and the property tests all see the same decisions.
//
// The pool is never materialised: everything that blocks a subnet (reserved ranges, allocations, released
// subnets in cool-down) becomes an interval of subnet indices, the intervals are merged once, and free
// indices are walked lowest first. Cost is O(blocked + wanted), so a /8 cut into /30s costs nothing extra.
import { formatCidr, lastIp, nthSubnet, parseCidr, type Cidr } from './lib/cidr.ts';
import type { Instance } from '../providers/types.ts';
import type { AllocationRequest, StoreSnapshot } from './store/types.ts';

export interface PoolOptions {
  clusterCIDR: string;
  subnetLen: number;
  reserved: string[];
  /** A released subnet is not handed out again before releasedAt + reuseAfterMs. */
  reuseAfterMs: number;
  /** Epoch ms: from the injected clock. */
  now: number;
}

export interface PoolStats {
  /** Subnets of `subnetLen` in the cluster CIDR. */
  size: number;
  allocated: number;
  /** Blocked by `reserved` (and not allocated). */
  reserved: number;
  /** Released, still in cool-down (and neither allocated nor reserved). */
  coolingDown: number;
  free: number;
}

export class PoolExhaustedError extends Error {
  readonly stats: PoolStats;
  /** What could still be allocated before the pool ran out: the caller may commit these. */
  readonly partial: AllocationRequest[];
  /** VMs left without a subnet. */
  readonly unallocated: string[];
  constructor(opts: PoolOptions, stats: PoolStats, partial: AllocationRequest[], unallocated: string[]) {
    const extra = [
      stats.reserved > 0 ? `${stats.reserved} reserved` : '',
      stats.coolingDown > 0 ? `${stats.coolingDown} in cool-down after release` : '',
    ].filter(Boolean);
    super(
      `no free /${opts.subnetLen} left in ${opts.clusterCIDR}: ${stats.allocated} allocated, ${stats.free} free` +
        (extra.length > 0 ? `, ${extra.join(', ')}` : '') +
        `; ${unallocated.length} VM(s) left without a subnet`,
    );
    this.name = 'PoolExhaustedError';
    this.stats = stats;
    this.partial = partial;
    this.unallocated = unallocated;
  }
}

/**
 * The pool options a Config implies at time `now`. The fields it reads, not `Config` itself: config.ts
 * uses this module to check the pool, so naming its type here would make the two import each other.
 */
export function poolOptions(
  config: { clusterCIDR: string; subnetLen: number; reserved: string[]; reconcile: { reuseAfter: number } },
  now: number,
): PoolOptions {
  return {
    clusterCIDR: config.clusterCIDR,
    subnetLen: config.subnetLen,
    reserved: config.reserved,
    reuseAfterMs: config.reconcile.reuseAfter,
    now,
  };
}

type Interval = [lo: number, hi: number];

interface Pool {
  cluster: Cidr;
  len: number;
  size: number;
  step: number;
}

function poolOf(opts: PoolOptions): Pool {
  const cluster = parseCidr(opts.clusterCIDR);
  if (!Number.isInteger(opts.subnetLen) || opts.subnetLen < cluster.prefix || opts.subnetLen > 32) {
    throw new Error(`subnetLen: /${opts.subnetLen} does not fit in clusterCIDR ${opts.clusterCIDR}`);
  }
  return {
    cluster,
    len: opts.subnetLen,
    size: 2 ** (opts.subnetLen - cluster.prefix),
    step: 2 ** (32 - opts.subnetLen),
  };
}

/** Indices of the pool's subnets that overlap `c`, or undefined when none do. */
function indicesOf(pool: Pool, c: Cidr): Interval | undefined {
  const lo = Math.max(c.base, pool.cluster.base);
  const hi = Math.min(lastIp(c), lastIp(pool.cluster));
  if (lo > hi) return undefined;
  return [Math.floor((lo - pool.cluster.base) / pool.step), Math.floor((hi - pool.cluster.base) / pool.step)];
}

function parseStored(text: string, what: string): Cidr {
  try {
    return parseCidr(text);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`);
  }
}

function merge(intervals: Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  const out: Interval[] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function count(merged: Interval[]): number {
  return merged.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
}

interface Blocked {
  reserved: Interval[];
  allocated: Interval[];
  cooling: Interval[];
}

function blockedOf(pool: Pool, opts: PoolOptions, snapshot: StoreSnapshot): Blocked {
  const pick = (cidrs: Cidr[]) => cidrs.map((c) => indicesOf(pool, c)).filter((i): i is Interval => i !== undefined);
  return {
    reserved: pick(opts.reserved.map((r, i) => parseStored(r, `reserved.${i}`))),
    allocated: pick(snapshot.allocations.map((a) => parseStored(a.subnet, `allocation of ${a.instanceId}`))),
    cooling: pick(
      snapshot.released
        .filter((r) => r.releasedAt + opts.reuseAfterMs > opts.now)
        .map((r) => parseStored(r.subnet, `released record of ${r.instanceId}`)),
    ),
  };
}

function statsOf(pool: Pool, b: Blocked): PoolStats {
  const allocated = count(merge(b.allocated));
  const resOrAlloc = count(merge([...b.reserved, ...b.allocated]));
  const all = count(merge([...b.reserved, ...b.allocated, ...b.cooling]));
  return {
    size: pool.size,
    allocated,
    reserved: resOrAlloc - allocated,
    coolingDown: all - resOrAlloc,
    free: pool.size - all,
  };
}

export function poolStats(opts: PoolOptions, snapshot: StoreSnapshot): PoolStats {
  const pool = poolOf(opts);
  return statsOf(pool, blockedOf(pool, opts, snapshot));
}

/**
 * Allocation requests for the running VMs that hold no subnet yet, lowest free subnet first, VMs in id
 * order (so the same inputs always give the same plan). Throws PoolExhaustedError, carrying the requests
 * that did fit, when the pool runs out.
 */
export function planAllocations(
  opts: PoolOptions,
  snapshot: StoreSnapshot,
  instances: readonly Instance[],
): AllocationRequest[] {
  const pool = poolOf(opts);
  const blocked = blockedOf(pool, opts, snapshot);
  const holders = new Set(snapshot.allocations.map((a) => a.instanceId));
  const seen = new Set<string>();
  const wanting = instances
    .filter((vm) => vm.state === 'running' && !holders.has(vm.id) && !seen.has(vm.id) && seen.add(vm.id))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (wanting.length === 0) return [];

  const merged = merge([...blocked.reserved, ...blocked.allocated, ...blocked.cooling]);
  const out: AllocationRequest[] = [];
  let next = 0;
  let gap = 0;
  for (const vm of wanting) {
    while (gap < merged.length && next >= (merged[gap] as Interval)[0]) {
      next = Math.max(next, (merged[gap] as Interval)[1] + 1);
      gap++;
    }
    if (next >= pool.size) break;
    const subnet = formatCidr(nthSubnet(pool.cluster, pool.len, next));
    out.push({ instanceId: vm.id, subnet, name: vm.name, privateIp: vm.privateIp, allocatedAt: opts.now });
    next++;
  }
  if (out.length < wanting.length) {
    const after: StoreSnapshot = {
      allocations: [...snapshot.allocations, ...out],
      released: snapshot.released,
    };
    const stats = statsOf(pool, blockedOf(pool, opts, after));
    throw new PoolExhaustedError(
      opts,
      stats,
      out,
      wanting.slice(out.length).map((vm) => vm.id),
    );
  }
  return out;
}

export interface ReleaseOptions {
  releaseAfterMs: number;
  now: number;
}

export interface ReleasePlan {
  /** missingSince to set (newly missing: now) or clear (null: the VM came back). */
  setMissing: Array<{ instanceId: string; missingSince: number | null }>;
  /** VMs missing for at least releaseAfter: free their subnets. */
  release: string[];
}

/**
 * What to do about VMs that hold a subnet but are absent from the inventory. The caller must only pass an
 * inventory it trusts (complete read, safety valve passed): an empty set here releases nothing at once,
 * but marks everyone missing.
 */
export function releasePlan(
  snapshot: StoreSnapshot,
  presentInstanceIds: ReadonlySet<string> | readonly string[],
  opts: ReleaseOptions,
): ReleasePlan {
  const present =
    presentInstanceIds instanceof Set ? presentInstanceIds : new Set(presentInstanceIds as readonly string[]);
  const plan: ReleasePlan = { setMissing: [], release: [] };
  for (const a of snapshot.allocations) {
    if (present.has(a.instanceId)) {
      if (a.missingSince !== undefined) plan.setMissing.push({ instanceId: a.instanceId, missingSince: null });
      continue;
    }
    const since = a.missingSince ?? opts.now;
    if (opts.now - since >= opts.releaseAfterMs) plan.release.push(a.instanceId);
    else if (a.missingSince === undefined) plan.setMissing.push({ instanceId: a.instanceId, missingSince: opts.now });
  }
  return plan;
}
