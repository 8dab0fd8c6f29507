// The pure plan (DESIGN step 3): desired routes + each table's actual routes + quota → changes and findings.
// No I/O, no clock: the same input always gives the same plan, which is what `reconcile --dry-run` prints.
import type { Change, Quota, Route } from '../providers/types.ts';
import { compareCidr, parseCidr } from './lib/cidr.ts';
import { classifyRoute, type OwnershipContext } from './ownership.ts';

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
export type FindingKind = 'conflict' | 'orphan' | 'blocked:quota' | 'held:safety-valve' | 'pending';

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
] as const;
export type RouteStateCount = Record<(typeof ROUTE_STATES)[number], number>;

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

export interface Plan {
  changes: Change[];
  findings: Finding[];
  summary: Record<string, RouteStateCount>;
  /** Tables in the order they were planned (sorted ids). */
  tables: string[];
}

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
  };
}

function entries(m: PlanInput['actualByTable']): Array<[string, Route[]]> {
  return m instanceof Map ? [...m.entries()] : Object.entries(m);
}

function byAge(a: DesiredRoute, b: DesiredRoute): number {
  return a.allocatedAt - b.allocatedAt || compareCidr(a.destination, b.destination);
}

/** Among our routes at one destination, the one to keep: right target and active, then pending, then any. */
function rank(r: Route, target: string): number {
  if (r.target === target && r.state === 'active') return 0;
  if (r.target === target && r.state === 'pending') return 1;
  if (r.state !== 'blackhole') return 2;
  return 3;
}

interface QuotaPool {
  remaining: number;
  known: boolean;
}

export function plan(input: PlanInput): Plan {
  const cluster = parseCidr(input.clusterCIDR);
  const own: OwnershipContext = {
    clusterCIDR: cluster,
    subnetLen: input.subnetLen,
    knownInstanceIds: input.inventoryIds,
  };
  const unallocated = input.unallocated ?? new Set<string>();
  const orphanDetail = (r: Route, why: string) => input.orphanReasons?.get(r.destination) ?? why;
  const tables = entries(input.actualByTable).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const desired = [...input.desired].sort(byAge);
  const desiredDest = new Set(desired.map((d) => d.destination));

  const pools = new Map<string, QuotaPool>();
  const poolOf = (table: string): QuotaPool => {
    const q = input.quotaByTable[table];
    const key = q?.scope === 'project' ? '\u0000project' : table;
    let p = pools.get(key);
    if (!p) {
      p = q ? { remaining: Math.max(0, q.limit - q.used), known: true } : { remaining: 0, known: false };
      pools.set(key, p);
    }
    return p;
  };

  const findings: Finding[] = [];
  const summary: Record<string, RouteStateCount> = {};
  const deletes: Change[] = [];
  const replaces: Change[] = [];
  const creates: Change[] = [];
  // Creates are decided oldest-first across every table so a shared (project) quota goes to the oldest VMs.
  const wantCreate: Array<{ table: string; d: DesiredRoute }> = [];

  for (const [table, routes] of tables) {
    const counts = emptyCounts();
    summary[table] = counts;
    const ours = new Map<string, Route[]>();
    const others = new Map<string, Route[]>();
    for (const r of routes) {
      const owner = classifyRoute(r, own);
      if (owner === 'outside') continue;
      const m = owner === 'ours' ? ours : others;
      const list = m.get(r.destination) ?? [];
      list.push(r);
      m.set(r.destination, list);
    }

    const hold = (change: Change, detail: string) =>
      findings.push({
        kind: 'held:safety-valve',
        table,
        destination: change.destination,
        detail,
        ...(change.target ? { target: change.target } : {}),
      });

    for (const d of desired) {
      const mine = (ours.get(d.destination) ?? []).sort((a, b) => rank(a, d.target) - rank(b, d.target));
      const blocking = others.get(d.destination) ?? [];
      const [best, ...rest] = mine;
      // A duplicate delete needs a second, distinct entry: the same entry listed twice is one route, and
      // deleting "the other one" would delete it. Without a provider id a route is its destination.
      const dupes = distinctEntries(best, rest);
      for (const r of dupes) {
        counts.stale++;
        deletes.push(deleteOf(table, r, 'duplicate route for a subnet that already has one'));
      }
      if (best) {
        if (d.create === false) {
          if (d.releasing) counts.releasing++;
          else counts.ok++;
        } else if (best.target === d.target && best.state === 'active') {
          counts.ok++;
        } else if (best.target === d.target && best.state === 'pending') {
          counts.pending++;
          findings.push({
            kind: 'pending',
            table,
            destination: d.destination,
            target: d.target,
            detail: 'route is being created by the cloud',
          });
        } else if (best.target !== null && unallocated.has(best.target)) {
          counts.conflict++;
          findings.push({
            kind: 'orphan',
            table,
            destination: d.destination,
            target: d.target,
            detail: orphanDetail(
              best,
              `route of ours points at ${best.target}, which holds no subnet in the store, while the store gives this subnet to ${d.target}: not replaced (the store may have lost ${best.target}'s allocation)`,
            ),
          });
        } else {
          const isBlackhole = best.state === 'blackhole';
          if (isBlackhole) counts.blackhole++;
          else counts.wrong_target++;
          replaces.push({
            op: 'replace',
            table,
            destination: d.destination,
            target: d.target,
            previousTarget: best.target,
            ...(best.providerId !== undefined ? { providerId: best.providerId } : {}),
            reason: isBlackhole
              ? `blackhole route (was ${best.nextHop})`
              : `points at ${best.target ?? best.nextHop}, not ${d.target}`,
          });
        }
        continue;
      }
      const foreign = blocking[0];
      if (foreign) {
        if (input.adopt && !foreign.system && d.create !== false) {
          counts.wrong_target++;
          replaces.push({
            op: 'replace',
            table,
            destination: d.destination,
            target: d.target,
            previousTarget: foreign.target,
            ...(foreign.providerId !== undefined ? { providerId: foreign.providerId } : {}),
            reason: `adopt foreign route (next hop ${foreign.nextHop})`,
          });
        } else {
          counts.conflict++;
          findings.push({
            kind: 'conflict',
            table,
            destination: d.destination,
            target: d.target,
            detail: `${foreign.system ? 'system' : 'foreign'} route with next hop ${foreign.nextHop} holds this subnet${foreign.system ? '' : ' (set adopt: true to take it over)'}`,
          });
        }
        continue;
      }
      if (d.create === false) continue;
      wantCreate.push({ table, d });
    }

    for (const [dest, list] of ours) {
      if (desiredDest.has(dest)) continue;
      for (const r of list) {
        const liveClaim = r.target !== null && unallocated.has(r.target);
        if (input.releasable.has(dest) && !liveClaim) {
          if (r.state === 'blackhole') counts.blackhole++;
          else counts.stale++;
          deletes.push(
            deleteOf(
              table,
              r,
              r.state === 'blackhole' ? 'blackhole route of ours for a released subnet' : 'the subnet was released',
            ),
          );
        } else if (r.state === 'blackhole' && r.target === null) {
          // No VM to adopt it for, and it carries no traffic: safe to clean up.
          counts.blackhole++;
          deletes.push(deleteOf(table, r, 'blackhole route of ours with no target (carries no traffic)'));
        } else {
          counts.conflict++;
          findings.push({
            kind: 'orphan',
            table,
            destination: dest,
            ...(r.target !== null ? { target: r.target } : {}),
            detail: orphanDetail(
              r,
              `route of ours (next hop ${r.nextHop}) for a subnet the store holds no allocation for: not deleted`,
            ),
          });
        }
      }
    }

    if (!input.deletesAllowed) {
      for (const c of [...deletes.filter((c) => c.table === table), ...replaces.filter((c) => c.table === table)]) {
        hold(c, `${c.op} held: the safety valve is closed (inventory read failed or shrank suspiciously)`);
      }
    }
  }

  wantCreate.sort((a, b) => byAge(a.d, b.d) || (a.table < b.table ? -1 : a.table > b.table ? 1 : 0));
  for (const { table, d } of wantCreate) {
    const pool = poolOf(table);
    const counts = summary[table] as RouteStateCount;
    if (pool.remaining > 0) {
      pool.remaining--;
      counts.missing++;
      creates.push({
        op: 'create',
        table,
        destination: d.destination,
        target: d.target,
        reason: 'VM has no route for its subnet',
      });
    } else {
      counts.blocked_quota++;
      findings.push({
        kind: 'blocked:quota',
        table,
        destination: d.destination,
        target: d.target,
        detail: pool.known
          ? 'route table quota is used up'
          : 'route quota unknown (quota read failed): not creating blind',
      });
    }
  }

  let allowedDeletes: Change[] = [];
  let allowedReplaces: Change[] = [];
  if (input.deletesAllowed) {
    allowedReplaces = replaces;
    const max = input.maxDeletes ?? Number.POSITIVE_INFINITY;
    allowedDeletes = deletes.slice(0, Math.max(0, max));
    for (const c of deletes.slice(allowedDeletes.length)) {
      findings.push({
        kind: 'held:safety-valve',
        table: c.table,
        destination: c.destination,
        detail: `delete held: more than ${max} deletes in one pass`,
      });
    }
  }

  const changes: Change[] = [];
  for (const [table] of tables) {
    // Deletes first frees quota and clears the way; replaces next; creates last.
    changes.push(...allowedDeletes.filter((c) => c.table === table));
    changes.push(...allowedReplaces.filter((c) => c.table === table));
    changes.push(...creates.filter((c) => c.table === table));
  }
  return { changes, findings, summary, tables: tables.map(([t]) => t) };
}

/** The entries of `rest` that are neither `best` nor an earlier one of `rest`, by provider id. */
function distinctEntries(best: Route | undefined, rest: Route[]): Route[] {
  if (best === undefined) return [];
  const seen = new Set([best.providerId ?? '']);
  return rest.filter((r) => {
    const id = r.providerId ?? '';
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function deleteOf(table: string, r: Route, reason: string): Change {
  return {
    op: 'delete',
    table,
    destination: r.destination,
    target: r.target,
    previousTarget: r.target,
    ...(r.providerId !== undefined ? { providerId: r.providerId } : {}),
    reason,
  };
}

export interface PlanTotals {
  create: number;
  replace: number;
  delete: number;
  conflict: number;
  orphan: number;
  blocked: number;
  held: number;
  pending: number;
}

export function totals(p: Pick<Plan, 'changes' | 'findings'>): PlanTotals {
  const t: PlanTotals = { create: 0, replace: 0, delete: 0, conflict: 0, orphan: 0, blocked: 0, held: 0, pending: 0 };
  for (const c of p.changes) t[c.op]++;
  for (const f of p.findings) {
    if (f.kind === 'conflict') t.conflict++;
    else if (f.kind === 'orphan') t.orphan++;
    else if (f.kind === 'blocked:quota') t.blocked++;
    else if (f.kind === 'held:safety-valve') t.held++;
    else t.pending++;
  }
  return t;
}
