// The allocation rules shared by the memory and file stores (etcd enforces the same rules with
// transactions): one subnet per VM, one VM per subnet, checked per request in order.
import { contains, formatCidr, parseCidr } from '../lib/cidr.ts';
import type { AllocateResult, Allocation, AllocationRequest, IdMove, Released, StoreSnapshot } from './types.ts';

export interface State {
  /** subnet → allocation */
  subnets: Map<string, Allocation>;
  /** instanceId → subnet */
  instances: Map<string, string>;
  /** subnet → released record */
  released: Map<string, Released>;
}

export function emptyState(): State {
  return { subnets: new Map(), instances: new Map(), released: new Map() };
}

export function stateFrom(snapshot: StoreSnapshot): State {
  const s = emptyState();
  for (const a of snapshot.allocations) {
    s.subnets.set(a.subnet, { ...a });
    s.instances.set(a.instanceId, a.subnet);
  }
  for (const r of snapshot.released) s.released.set(r.subnet, { ...r });
  return s;
}

export function snapshotOf(s: State): StoreSnapshot {
  return {
    allocations: [...s.subnets.values()]
      .map((a) => ({ ...a }))
      .sort((a, b) => a.allocatedAt - b.allocatedAt || cmp(a.subnet, b.subnet)),
    released: [...s.released.values()]
      .map((r) => ({ ...r }))
      .sort((a, b) => a.releasedAt - b.releasedAt || cmp(a.subnet, b.subnet)),
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The pool every stored subnet must come from: a record outside it was not written by this routesync. */
export interface PoolShape {
  clusterCIDR: string;
  subnetLen: number;
}

/**
 * Why a stored subnet cannot be one of ours (not a canonical CIDR, outside clusterCIDR, not /subnetLen),
 * or undefined when it is fine. A hand-edited or foreign record must stop the load: routing it would
 * send traffic for a range the cluster does not own, and releasing it would delete someone's route.
 */
export function storedSubnetProblem(subnet: string, pool: PoolShape | undefined): string | undefined {
  let c;
  try {
    c = parseCidr(subnet);
  } catch (e) {
    return (e as Error).message;
  }
  if (formatCidr(c) !== subnet) return `${JSON.stringify(subnet)} is not in canonical form ${formatCidr(c)}`;
  if (!pool) return undefined;
  const cluster = parseCidr(pool.clusterCIDR);
  if (!contains(cluster, c)) return `${subnet} is outside clusterCIDR ${pool.clusterCIDR}`;
  if (c.prefix !== pool.subnetLen) return `${subnet} is a /${c.prefix}, not a /${pool.subnetLen} (subnetLen)`;
  return undefined;
}

/** Refuses malformed requests before anything is written: bad input never reaches a store. */
export function validateRequests(requests: readonly AllocationRequest[]): AllocationRequest[] {
  return requests.map((r, i) => {
    const where = `allocate[${i}]`;
    // A slash only between segments (GCE's `<zone>/<name>`): the etcd layout keys on `instances/<id>`.
    if (typeof r.instanceId !== 'string' || !/^[^\s/]+(?:\/[^\s/]+)*$/.test(r.instanceId)) {
      throw new Error(
        `${where}.instanceId: ${JSON.stringify(r.instanceId)} must be a non-empty id without spaces (a / only between segments)`,
      );
    }
    let subnet: string;
    try {
      subnet = formatCidr(parseCidr(String(r.subnet)));
    } catch (e) {
      throw new Error(`${where}.subnet: ${(e as Error).message}`);
    }
    if (subnet !== r.subnet)
      throw new Error(`${where}.subnet: ${JSON.stringify(r.subnet)} is not in canonical form ${subnet}`);
    if (!Number.isFinite(r.allocatedAt)) throw new Error(`${where}.allocatedAt: must be epoch milliseconds`);
    return {
      instanceId: r.instanceId,
      subnet,
      name: String(r.name ?? ''),
      privateIp: String(r.privateIp ?? ''),
      allocatedAt: r.allocatedAt,
    };
  });
}

export function allocateIn(s: State, requests: readonly AllocationRequest[]): AllocateResult {
  const result: AllocateResult = { committed: [], conflicts: [] };
  for (const request of validateRequests(requests)) {
    if (s.instances.has(request.instanceId)) {
      result.conflicts.push({ request, reason: 'instance-has-subnet' });
    } else if (s.subnets.has(request.subnet)) {
      result.conflicts.push({ request, reason: 'subnet-taken' });
    } else {
      s.subnets.set(request.subnet, { ...request });
      s.instances.set(request.instanceId, request.subnet);
      result.committed.push({ ...request });
    }
  }
  return result;
}

export function setMissingIn(
  s: State,
  updates: ReadonlyArray<{ instanceId: string; missingSince: number | null }>,
): void {
  for (const u of updates) {
    if (u.missingSince !== null && !Number.isFinite(u.missingSince))
      throw new Error(`setMissing: missingSince for ${u.instanceId} must be epoch ms or null`);
  }
  for (const u of updates) {
    const subnet = s.instances.get(u.instanceId);
    const a = subnet === undefined ? undefined : s.subnets.get(subnet);
    if (!a) continue; // released meanwhile: nothing left to mark
    if (u.missingSince === null) delete a.missingSince;
    else a.missingSince = u.missingSince;
  }
}

/** Moves each allocation whose `from` still holds `subnet` to `to`, when `to` holds nothing. */
export function rekeyIn(s: State, moves: readonly IdMove[]): IdMove[] {
  const out: IdMove[] = [];
  for (const m of moves) {
    validateRequests([{ instanceId: m.to, subnet: m.subnet, name: m.name, privateIp: m.privateIp, allocatedAt: 0 }]);
    const a = s.subnets.get(m.subnet);
    if (!a || a.instanceId !== m.from || s.instances.get(m.from) !== m.subnet || s.instances.has(m.to)) continue;
    s.subnets.set(m.subnet, { ...a, instanceId: m.to, name: m.name, privateIp: m.privateIp });
    s.instances.delete(m.from);
    s.instances.set(m.to, m.subnet);
    out.push({ ...m });
  }
  return out;
}

export function releaseIn(s: State, instanceIds: readonly string[], at: number): Released[] {
  if (!Number.isFinite(at)) throw new Error('release: at must be epoch milliseconds');
  const out: Released[] = [];
  for (const id of new Set(instanceIds)) {
    const subnet = s.instances.get(id);
    if (subnet === undefined) continue;
    s.instances.delete(id);
    s.subnets.delete(subnet);
    const r: Released = { subnet, releasedAt: at, instanceId: id };
    s.released.set(subnet, r);
    out.push({ ...r });
  }
  return out;
}

export function purgeReleasedIn(s: State, before: number): void {
  for (const [subnet, r] of s.released) if (r.releasedAt < before) s.released.delete(subnet);
}
