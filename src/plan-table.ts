// One table's part of the plan (src/plan.ts): its routes sorted into ours and others (I2), each desired
// route matched against them, and the routes of ours no desired route wants. Creates are only wished for
// here: the plan grants them across tables, oldest first, within the quota.
import type { Change, Route } from '../providers/types.ts';
import { classifyRoute, type OwnershipContext } from './ownership.ts';
import { type DesiredRoute, emptyCounts, type Finding, type RouteStateCount } from './plan-types.ts';

export interface TableInput {
  table: string;
  own: OwnershipContext;
  /** Oldest allocation first. */
  desired: readonly DesiredRoute[];
  desiredDest: ReadonlySet<string>;
  releasable: ReadonlySet<string>;
  unallocated: ReadonlySet<string>;
  adopt: boolean;
  orphanDetail: (r: Route, why: string) => string;
}

export interface TablePlan {
  counts: RouteStateCount;
  findings: Finding[];
  deletes: Change[];
  replaces: Change[];
  /** Desired routes this table lacks: created if the quota has room. */
  wantCreate: DesiredRoute[];
  /** Releasable subnets with a route of ours kept as an orphan (a VM of the inventory still claims it). */
  keptReleasable: string[];
}

/** Among our routes at one destination, the one to keep: right target and active, then pending, then any. */
function rank(r: Route, target: string): number {
  if (r.target === target && r.state === 'active') return 0;
  if (r.target === target && r.state === 'pending') return 1;
  if (r.state !== 'blackhole') return 2;
  return 3;
}

export function planTable(input: TableInput, routes: readonly Route[]): TablePlan {
  const out: TablePlan = {
    counts: emptyCounts(),
    findings: [],
    deletes: [],
    replaces: [],
    wantCreate: [],
    keptReleasable: [],
  };
  const ours = new Map<string, Route[]>();
  const others = new Map<string, Route[]>();
  for (const r of routes) {
    const owner = classifyRoute(r, input.own);
    if (owner === 'outside') continue;
    const m = owner === 'ours' ? ours : others;
    const list = m.get(r.destination) ?? [];
    list.push(r);
    m.set(r.destination, list);
  }
  for (const d of input.desired) {
    const mine = (ours.get(d.destination) ?? []).sort((a, b) => rank(a, d.target) - rank(b, d.target));
    const [best, ...rest] = mine;
    // A duplicate delete needs a second, distinct entry: the same entry listed twice is one route, and
    // deleting "the other one" would delete it. Without a provider id a route is its destination.
    for (const r of distinctEntries(best, rest)) {
      out.counts.stale++;
      out.deletes.push(deleteOf(input.table, r, 'duplicate route for a subnet that already has one'));
    }
    if (best) keepOrReplace(input, out, d, best);
    else if (others.get(d.destination)?.[0]) foreignHolds(input, out, d, others.get(d.destination)?.[0] as Route);
    else if (d.create !== false) out.wantCreate.push(d);
  }
  for (const [dest, list] of ours) {
    if (!input.desiredDest.has(dest)) for (const r of list) undesired(input, out, dest, r);
  }
  return out;
}

/** A desired route that has a route of ours at its destination: kept, waited for, or replaced. */
function keepOrReplace(input: TableInput, out: TablePlan, d: DesiredRoute, best: Route): void {
  const { table } = input;
  const counts = out.counts;
  if (d.create === false) {
    if (d.releasing) counts.releasing++;
    else counts.ok++;
  } else if (best.target === d.target && best.state === 'active') {
    counts.ok++;
  } else if (best.target === d.target && best.state === 'pending') {
    counts.pending++;
    out.findings.push({
      kind: 'pending',
      table,
      destination: d.destination,
      target: d.target,
      detail: 'route is being created by the cloud',
    });
  } else if (best.target === d.target && best.cannotForward !== undefined) {
    // Re-inserting the same route gets the same warning: a delete/insert loop (kubernetes#52398).
    counts.cannot_forward++;
    out.findings.push({
      kind: 'cannot-forward',
      table,
      destination: d.destination,
      target: d.target,
      detail: `VM ${d.target} cannot forward this route's traffic (${best.cannotForward}): on GCE recreate it with canIpForward true; the route is left as it is`,
    });
  } else if (best.target !== null && input.unallocated.has(best.target)) {
    counts.conflict++;
    out.findings.push({
      kind: 'orphan',
      table,
      destination: d.destination,
      target: d.target,
      detail: input.orphanDetail(
        best,
        `route of ours points at ${best.target}, which holds no subnet in the store, while the store gives this subnet to ${d.target}: not replaced (the store may have lost ${best.target}'s allocation)`,
      ),
    });
  } else {
    const isBlackhole = best.state === 'blackhole';
    if (isBlackhole) counts.blackhole++;
    else counts.wrong_target++;
    out.replaces.push({
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
}

/** A desired route whose destination a route that is not ours holds: taken over only with `adopt`. */
function foreignHolds(input: TableInput, out: TablePlan, d: DesiredRoute, foreign: Route): void {
  const { table } = input;
  if (input.adopt && !foreign.system && d.create !== false) {
    out.counts.wrong_target++;
    out.replaces.push({
      op: 'replace',
      table,
      destination: d.destination,
      target: d.target,
      previousTarget: foreign.target,
      ...(foreign.providerId !== undefined ? { providerId: foreign.providerId } : {}),
      reason: `adopt foreign route (next hop ${foreign.nextHop})`,
    });
    return;
  }
  out.counts.conflict++;
  out.findings.push({
    kind: 'conflict',
    table,
    destination: d.destination,
    target: d.target,
    detail: `${foreign.system ? 'system' : 'foreign'} route with next hop ${foreign.nextHop} holds this subnet${foreign.system ? '' : ' (set adopt: true to take it over)'}`,
  });
}

/** A route of ours no desired route wants: deleted when its subnet was given up, else left as an orphan. */
function undesired(input: TableInput, out: TablePlan, dest: string, r: Route): void {
  const { table } = input;
  const counts = out.counts;
  const liveClaim = r.target !== null && input.unallocated.has(r.target);
  if (input.releasable.has(dest) && !liveClaim) {
    if (r.state === 'blackhole') counts.blackhole++;
    else counts.stale++;
    out.deletes.push(
      deleteOf(
        table,
        r,
        r.state === 'blackhole' ? 'blackhole route of ours for a released subnet' : 'the subnet was released',
      ),
    );
  } else if (r.state === 'blackhole' && r.target === null) {
    // No VM to adopt it for, and it carries no traffic: safe to clean up.
    counts.blackhole++;
    out.deletes.push(deleteOf(table, r, 'blackhole route of ours with no target (carries no traffic)'));
  } else {
    if (input.releasable.has(dest)) out.keptReleasable.push(dest);
    counts.conflict++;
    out.findings.push({
      kind: 'orphan',
      table,
      destination: dest,
      ...(r.target !== null ? { target: r.target } : {}),
      detail: input.orphanDetail(
        r,
        `route of ours (next hop ${r.nextHop}) for a subnet the store holds no allocation for: not deleted`,
      ),
    });
  }
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
