// One pass: inventory → allocate → plan → apply → release → report. Used by `routesync run` (every
// interval and on change signals) and by the one-off `routesync reconcile`.
import type { Logger } from 'pino';
import type { ChangeResult, CloudProvider, ProgressEvent, Quota, Route, RouteTable } from '../providers/types.ts';
import { planAdoption, type Adoption } from './adopt.ts';
import {
  planAllocations,
  poolOptions,
  poolStats,
  PoolExhaustedError,
  releasePlan,
  type PoolStats,
} from './allocator.ts';
import { applyPlan } from './apply.ts';
import { planDifference, PlanChangedError, type ApprovedPlan } from './approval.ts';
import type { Clock } from './lib/clock.ts';
import type { Config } from './config.ts';
import { confirmGone, logHeld } from './confirm-gone.ts';
import type { InventorySource } from './inventory/source.ts';
import { inventoryFrom, safetyValve, type InventoryView, type Valve } from './inventory/view.ts';
import type { RoutesyncMetrics } from './metrics.ts';
import { classifyRoute } from './ownership.ts';
import { emptyCounts, plan, type DesiredRoute, type Plan, type RouteStateCount } from './plan.ts';
import type { QuotaWatcher } from './quota.ts';
import { RecurringWarnings, type Occurrence } from './recurring.ts';
import type { Allocation, AllocationRequest, Store, StoreSnapshot } from './store/types.ts';

/** What a pass reports beyond the provider's apply events: its reads, and how many changes it will apply. */
export type PassProgressEvent =
  | ProgressEvent
  /** `item`: `inventory`, `route tables` (finding which tables to manage) or a table id. */
  | { type: 'read'; item: string; phase: 'start' | 'done' | 'failed' }
  /** The tables to read are known (the `route tables` read is done): from here on the read total is fixed. */
  | { type: 'tables'; ids: string[] }
  /** Sent once before applying: the total of every table's changes, so the count never jumps. */
  | { type: 'apply'; total: number };

export interface PassDeps {
  config: Config;
  provider: CloudProvider;
  /** The cluster's VMs (src/inventory/): the cloud's listing by default. */
  inventory: InventorySource;
  store: Store;
  logger: Logger;
  clock: Clock;
  signal: AbortSignal;
  /** I4: throws when this process no longer leads; called before every store write and every table's apply. */
  fence: () => Promise<void> | void;
  /** The fence's synchronous local part (the lease deadline), checked as each cloud write goes on the wire. */
  fenceNow?: () => void;
  /** Plan only: no store writes, no cloud writes; new VMs get tentative subnets. */
  dryRun?: boolean;
  /** The pass's reads and the apply's progress (for the CLI's progress line). */
  onProgress?: (e: PassProgressEvent) => void;
  metrics?: RoutesyncMetrics;
  quotaWatcher?: QuotaWatcher;
  /** The controller's, kept across passes: a finding that holds pass after pass is warned about once. */
  warnings?: RecurringWarnings;
}

/** What the controller carries from one pass to the next. */
export interface PassMemory {
  /** Present-VM count of the last pass whose inventory was trusted. */
  baseline?: number;
  /** Tables whose creates hit a quota error: no creates there until a full pass reads room. */
  quotaExceeded: Set<string>;
}

export interface PassOptions {
  /** A full (interval) pass re-reads quota for quota-blocked tables; a signal pass does not retry them. */
  full: boolean;
  maxDeletes?: number;
  /**
   * What `reconcile` showed and had confirmed: this pass may do that or less, nothing else. Anything more
   * throws PlanChangedError before the pass's first write.
   */
  approved?: ApprovedPlan;
}

export interface TableReport {
  id: string;
  readError?: string;
  quota?: Quota;
  states: RouteStateCount;
  /** Routes of ours now in the table (for status). */
  ours?: number;
}

export interface PassReport {
  startedAt: number;
  finishedAt: number;
  dryRun: boolean;
  inventory: { ok: boolean; error?: string; total: number; byState: Record<string, number> };
  valve: Valve;
  allocations: Allocation[];
  /** New allocations this pass (tentative ones on a dry run). */
  allocated: AllocationRequest[];
  /** Routes of ours the store did not hold, taken into it as allocations (shown, not written, on a dry run). */
  adopted: Adoption[];
  poolError?: string;
  pool: PoolStats;
  released: string[];
  tables: TableReport[];
  plan: Plan;
  results: ChangeResult[];
  errors: string[];
  stopped?: string;
  /** Every table read and nothing left undone (no failure, conflict, quota block or hold). */
  converged: boolean;
  /** The store as this pass left it (released records as read at its start): /status is built from it, not from a read per request. */
  store: StoreSnapshot;
}

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function reconcileOnce(deps: PassDeps, memory: PassMemory, opts: PassOptions): Promise<PassReport> {
  const { config, provider, store, logger, clock, signal } = deps;
  const dry = deps.dryRun === true;
  const startedAt = clock.now();
  const errors: string[] = [];

  // The tables' reads do not depend on the inventory: started with it, the first write waits for the slower
  // of the two instead of both in turn. The catch only parks a rejection until it is awaited below.
  const progress = deps.onProgress ?? (() => undefined);
  const tableReads = readTables(provider, logger, signal, progress);
  tableReads.catch(() => undefined);
  const snapshot = await store.load();
  let inv: InventoryView;
  try {
    progress({ type: 'read', item: 'inventory', phase: 'start' });
    inv = inventoryFrom({ instances: await deps.inventory.list(signal) });
    progress({ type: 'read', item: 'inventory', phase: 'done' });
  } catch (e) {
    if (signal.aborted) throw e;
    progress({ type: 'read', item: 'inventory', phase: 'failed' });
    inv = inventoryFrom({ error: e });
    // A pass that could not read the inventory is a failed pass (alerts, readiness, backoff), even though
    // its creates for known VMs still go ahead.
    errors.push(`inventory read failed: ${msg(e)}`);
    // A dry run (reconcile --dry-run, status) deletes nothing anyway: "held" would be news of nothing.
    logger.error(
      { err: msg(e) },
      dry ? 'inventory read failed' : 'inventory read failed: deletes and releases are held this pass',
    );
  }
  const valve = safetyValve({
    inventory: inv,
    allocations: snapshot.allocations,
    ...(memory.baseline !== undefined ? { baseline: memory.baseline } : {}),
    maxDeleteFraction: config.reconcile.maxDeleteFraction,
  });
  // A real pass reports it with the other findings below, once while it lasts. A dry pass holds nothing
  // (it deletes nothing): it says what a real pass would do.
  if (valve.held && dry)
    logger.warn({ reason: valve.reason }, 'safety valve: a real pass would hold deletes and releases');

  // Missing VMs: only a trusted inventory may start (or stop) a VM's release countdown.
  // Every store write waits until the plan is made: a confirmed plan that turned stale stops the pass
  // before it has written anything.
  let releasing: string[] = [];
  let setMissing: ReturnType<typeof releasePlan>['setMissing'] = [];
  let allocations = snapshot.allocations.map((a) => ({ ...a }));
  if (inv.ok && !valve.held) {
    const rp = releasePlan(snapshot, inv.present, { releaseAfterMs: config.reconcile.releaseAfter, now: startedAt });
    setMissing = rp.setMissing;
    const upd = new Map(rp.setMissing.map((u) => [u.instanceId, u.missingSince]));
    allocations = allocations.map((a) => {
      if (!upd.has(a.instanceId)) return a;
      const ms = upd.get(a.instanceId);
      const { missingSince: _drop, ...rest } = a;
      return ms === null || ms === undefined ? rest : { ...rest, missingSince: ms };
    });
    releasing = rp.release;
  }
  // A VM due for release is asked about by id first: the listing that left it out may be short (I3).
  if (releasing.length > 0) {
    const check = await confirmGone(provider, releasing, signal);
    logHeld(logger, check);
    if (check.error !== undefined) errors.push(`instance lookup before release failed: ${check.error}`);
    releasing = check.gone;
  }

  // Allocation waits for the tables: a route of ours the store does not hold is an allocation the store lost,
  // adopted before any subnet is handed out, so a new VM never gets a subnet that still routes to another.
  const { tables, reads } = await tableReads;
  const actualByTable = new Map<string, Route[]>();
  const quotaByTable: Record<string, Quota> = {};
  for (const r of reads) {
    if ('error' in r) {
      errors.push(`table ${r.table.id}: ${r.error}`);
      continue;
    }
    actualByTable.set(r.table.id, uniqueRoutes(r.routes));
    // No retry storm: after a quota error, only a full pass with a fresh quota read may try again.
    const blocked = memory.quotaExceeded.has(r.table.id) && !opts.full;
    quotaByTable[r.table.id] = blocked ? { ...r.quota, limit: Math.min(r.quota.limit, r.quota.used) } : r.quota;
    if (opts.full) memory.quotaExceeded.delete(r.table.id);
  }

  // Only a trusted inventory can tell a present VM from a gone one; without it nothing is adopted, and the
  // plan leaves every route of ours the store does not hold alone. Persisted with the other store writes,
  // once the plan is made (and approved).
  const adoption = inv.ok
    ? planAdoption({
        allocations,
        released: snapshot.released,
        routesByTable: actualByTable,
        clusterCIDR: config.clusterCIDR,
        subnetLen: config.subnetLen,
        reserved: config.reserved,
        instances: inv.byId,
        present: inv.present,
        now: startedAt,
      })
    : undefined;
  let adopted: Adoption[] = adoption?.adoptions ?? [];
  const adoptedAllocations = (list: Adoption[]): Allocation[] =>
    list.map((a) => (a.missing ? { ...a.request, missingSince: startedAt } : { ...a.request }));
  allocations = [...allocations, ...adoptedAllocations(adopted)];

  // New VMs get subnets (a failed inventory knows of no new VMs).
  let requests: AllocationRequest[] = [];
  let poolError: string | undefined;
  if (inv.ok) {
    const held = new Set(adoption?.holdInstances ?? []);
    const pool = poolOptions(config, startedAt);
    try {
      requests = planAllocations(
        { ...pool, reserved: [...pool.reserved, ...(adoption?.avoidSubnets ?? [])] },
        { allocations, released: snapshot.released },
        held.size > 0 ? inv.instances.filter((i) => !held.has(i.id)) : inv.instances,
      );
    } catch (e) {
      if (!(e instanceof PoolExhaustedError)) throw e;
      requests = e.partial;
      poolError = e.message;
      errors.push(e.message);
      logger.error({ unallocated: e.unallocated.length }, e.message);
    }
  }
  const releasingSet = new Set(releasing);
  const desiredOf = (all: Allocation[]): DesiredRoute[] =>
    all
      .filter((a) => !releasingSet.has(a.instanceId))
      .map((a) => {
        // Only a running VM gets a new route; a stopped or missing one keeps an existing route until released.
        const create = inv.ok ? inv.running.has(a.instanceId) : a.missingSince === undefined;
        return {
          destination: a.subnet,
          target: a.instanceId,
          allocatedAt: a.allocatedAt,
          create,
          ...(a.missingSince !== undefined ? { releasing: true } : {}),
        };
      });

  // Deletes of routes of ours need the store's word that the subnet was given up: released now or before.
  const releasable = new Set([
    ...allocations.filter((a) => releasingSet.has(a.instanceId)).map((a) => a.subnet),
    ...snapshot.released.map((r) => r.subnet),
  ]);
  const planFor = (all: Allocation[]): Plan => {
    const holders = new Set(all.map((a) => a.instanceId));
    return plan({
      desired: desiredOf(all),
      actualByTable,
      quotaByTable,
      clusterCIDR: config.clusterCIDR,
      subnetLen: config.subnetLen,
      inventoryIds: new Set<string>([...inv.byId.keys(), ...holders]),
      releasable,
      unallocated: new Set([...inv.present].filter((id) => !holders.has(id))),
      ...(adoption ? { orphanReasons: adoption.refused } : {}),
      adopt: config.adopt,
      deletesAllowed: !valve.held,
      ...(opts.maxDeletes !== undefined ? { maxDeletes: opts.maxDeletes } : {}),
    });
  };
  // Planned with the new VMs' subnets as requested; a real pass then persists them.
  let thePlan = planFor([...allocations, ...requests]);
  if (opts.approved && !dry) {
    const diff = planDifference(opts.approved, { allocated: requests, changes: thePlan.changes });
    if (diff !== undefined) throw new PlanChangedError(diff);
  }

  let allocated: AllocationRequest[] = requests;
  if (!dry) {
    if (adopted.length > 0) {
      await deps.fence();
      const r = await store.allocate(adopted.map((a) => a.request));
      const won = new Set(r.committed.map((c) => c.instanceId));
      for (const c of r.conflicts)
        logger.warn(
          { instanceId: c.request.instanceId, subnet: c.request.subnet, reason: c.reason },
          'adoption lost a race: retried next pass',
        );
      const lost = adopted.filter((a) => !won.has(a.request.instanceId));
      adopted = adopted.filter((a) => won.has(a.request.instanceId));
      const missing = adopted
        .filter((a) => a.missing)
        .map((a) => ({ instanceId: a.request.instanceId, missingSince: startedAt }));
      if (missing.length > 0) await store.setMissing(missing);
      if (lost.length > 0) {
        // Another writer holds those subnets or VMs now: plan without them (their routes become orphans).
        const gone = new Set(lost.map((a) => a.request.instanceId));
        allocations = allocations.filter(
          (a) => !gone.has(a.instanceId) || snapshot.allocations.some((x) => x.instanceId === a.instanceId),
        );
        thePlan = planFor([...allocations, ...requests]);
      }
    }
    if (setMissing.length > 0) {
      await deps.fence();
      await store.setMissing(setMissing);
      for (const u of setMissing) {
        if (u.missingSince !== null)
          logger.info(
            { instanceId: u.instanceId },
            'VM missing from the inventory: its subnet and route are kept until releaseAfter',
          );
      }
    }
    if (requests.length > 0) {
      await deps.fence();
      const r = await store.allocate(requests);
      allocated = r.committed;
      for (const c of r.conflicts)
        logger.warn(
          { instanceId: c.request.instanceId, subnet: c.request.subnet, reason: c.reason },
          'allocation lost a race: retried next pass',
        );
      for (const a of r.committed) logger.info({ instanceId: a.instanceId, subnet: a.subnet }, 'subnet allocated');
      // A request that lost its race gets no route this pass: plan again with what was committed (only
      // ever fewer creates than the plan checked above).
      if (r.conflicts.length > 0) thePlan = planFor([...allocations, ...allocated]);
    }
  }
  for (const a of dry ? [] : adopted) {
    logger.warn(
      { instanceId: a.request.instanceId, subnet: a.request.subnet, tables: a.tables, missing: a.missing, dryRun: dry },
      a.missing
        ? 'route of ours the store did not hold: adopted for a VM missing from the inventory (released after releaseAfter)'
        : 'route of ours the store did not hold: adopted as an allocation',
    );
  }
  allocations = [...allocations, ...allocated];
  const knownIds = new Set<string>([...inv.byId.keys(), ...allocations.map((a) => a.instanceId)]);
  // A dry run prints its findings in the plan; logging them too would say everything twice. Conflicts,
  // held changes and the valve are warned about when they start and when they end (RecurringWarnings).
  // Per-route quota blocks are debug: the QuotaWatcher logs one error per table when the blocked count
  // changes, so a full table does not produce a thousand error lines every pass.
  if (!dry) {
    const recurring: Occurrence[] = [];
    if (valve.held)
      recurring.push({
        key: 'valve',
        kind: 'safety-valve',
        fields: { reason: valve.reason },
        msg: 'safety valve held: no deletes, no releases',
      });
    for (const f of thePlan.findings) {
      const fields = { table: f.table, destination: f.destination, target: f.target, detail: f.detail };
      const key = `${f.kind}\u0000${f.table}\u0000${f.destination}\u0000${f.target ?? ''}`;
      if (f.kind === 'conflict')
        recurring.push({
          key,
          kind: 'conflict',
          table: f.table,
          fields,
          msg: 'conflict: a foreign route holds one of our subnets',
        });
      else if (f.kind === 'orphan')
        recurring.push({
          key,
          kind: 'orphan',
          table: f.table,
          fields,
          msg: 'orphan: a route of ours the store does not account for (left alone)',
        });
      else if (f.kind === 'held:safety-valve')
        recurring.push({ key, kind: 'held', table: f.table, fields, msg: 'change held by the safety valve' });
      else if (f.kind === 'blocked:quota') logger.debug(fields, 'route blocked by quota');
      else logger.debug(fields, 'route pending');
    }
    (deps.warnings ?? new RecurringWarnings(logger)).observe(recurring, (t) => !actualByTable.has(t));
  }

  let results: ChangeResult[] = [];
  let stopped: string | undefined;
  if (!dry && thePlan.changes.length > 0) {
    progress({ type: 'apply', total: thePlan.changes.length });
    const rep = await applyPlan(tables, thePlan.changes, {
      provider,
      logger,
      signal,
      fence: deps.fence,
      ...(deps.fenceNow ? { fenceNow: deps.fenceNow } : {}),
      quotaByTable,
      ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
      onResult: (r) => deps.metrics?.changeApplied(r.change.op, r.outcome),
    });
    results = rep.results;
    stopped = rep.stopped;
    for (const t of rep.quotaExceeded) memory.quotaExceeded.add(t);
  }

  // Release a VM's subnet only once its route is gone from every table (never a subnet with a live route).
  let released: string[] = [];
  if (releasing.length > 0 && !dry && stopped === undefined) {
    const own = { clusterCIDR: config.clusterCIDR, subnetLen: config.subnetLen, knownInstanceIds: knownIds };
    const okDeleted = new Set(
      results
        .filter((r) => r.change.op === 'delete' && (r.outcome === 'applied' || r.outcome === 'alreadyDone'))
        .map((r) => `${r.change.table}\u0000${r.change.destination}\u0000${r.change.providerId ?? ''}`),
    );
    const clear = releasing.filter((id) => {
      const a = allocations.find((x) => x.instanceId === id);
      if (!a) return false;
      return tables.every((t) => {
        const routes = actualByTable.get(t.id);
        if (!routes) return false;
        return routes
          .filter((r) => r.destination === a.subnet && classifyRoute(r, own) === 'ours')
          .every((r) => okDeleted.has(`${t.id}\u0000${r.destination}\u0000${r.providerId ?? ''}`));
      });
    });
    if (clear.length > 0) {
      await deps.fence();
      const rel = await store.release(clear, clock.now());
      released = rel.map((r) => r.instanceId);
      for (const r of rel)
        logger.info({ instanceId: r.instanceId, subnet: r.subnet }, 'subnet released (cool-down before reuse)');
      allocations = allocations.filter((a) => !released.includes(a.instanceId));
    }
    await deps.fence();
    await store.purgeReleased(clock.now() - config.reconcile.reuseAfter);
  }

  const pool = poolStats(poolOptions(config, clock.now()), { allocations, released: snapshot.released });
  const failed = results.filter((r) => r.outcome === 'failed' || r.outcome === 'skipped');
  const blocking = thePlan.findings.filter((f) => f.kind !== 'pending');
  const converged =
    errors.length === 0 &&
    failed.length === 0 &&
    blocking.length === 0 &&
    stopped === undefined &&
    !valve.held &&
    (!dry || thePlan.changes.length === 0);
  if (inv.ok && !valve.held) memory.baseline = inv.present.size;

  // Quota as it stands after this pass's writes, so metrics and warnings do not lag a pass behind: the
  // read was taken before applying. A project-wide quota (GCE) moves with the writes of every table.
  const entryDelta = new Map<string, number>();
  for (const res of results) {
    if (res.outcome !== 'applied') continue;
    const d = res.change.op === 'create' ? 1 : res.change.op === 'delete' ? -1 : 0;
    entryDelta.set(res.change.table, (entryDelta.get(res.change.table) ?? 0) + d);
  }
  const projectDelta = [...entryDelta.values()].reduce((a, b) => a + b, 0);
  const tableReports: TableReport[] = tables.map((t) => {
    const r = reads.find((x) => x.table.id === t.id);
    const states = thePlan.summary[t.id] ?? emptyCounts();
    if (!r || 'error' in r) return { id: t.id, readError: r && 'error' in r ? r.error : 'not read', states };
    const delta = r.quota.scope === 'project' ? projectDelta : (entryDelta.get(t.id) ?? 0);
    return { id: t.id, quota: { ...r.quota, used: Math.max(0, r.quota.used + delta) }, states };
  });

  const m = deps.metrics;
  if (m) {
    for (const t of tableReports) {
      m.setRouteStates(t.id, t.states);
      if (t.quota) m.setTableQuota(t.id, t.quota.used, t.quota.limit);
    }
    m.setPool(pool.size, pool.allocated, pool.free);
    if (inv.ok) m.setInstances(inv.byState);
    m.setSafetyValve(valve.held);
  }
  const qw = deps.quotaWatcher;
  if (qw) {
    const now = clock.now();
    for (const t of tableReports) {
      if (!t.quota) continue;
      qw.observeTable(t.id, t.quota.used, t.quota.limit);
      // Forecast from what this process has seen; `routesync status` forecasts from the store's history.
      qw.recordUsage(t.id, now, t.quota.used);
      m?.setTableForecastDays(t.id, qw.forecastDays(t.id, t.quota.limit, now));
    }
    qw.observePool(pool.allocated, pool.size);
    // Every read table is reported, zero included, so the watcher re-arms once a table is unblocked.
    const blockedBy = new Map<string, string[]>(tableReports.filter((t) => t.quota).map((t) => [t.id, []]));
    for (const f of thePlan.findings)
      if (f.kind === 'blocked:quota') blockedBy.set(f.table, [...(blockedBy.get(f.table) ?? []), f.destination]);
    for (const [t, dests] of blockedBy) qw.reportBlocked(t, dests.length, dests);
  }

  return {
    startedAt,
    finishedAt: clock.now(),
    dryRun: dry,
    inventory: {
      ok: inv.ok,
      ...(inv.error !== undefined ? { error: inv.error } : {}),
      total: inv.instances.length,
      byState: inv.byState,
    },
    valve,
    allocations,
    allocated,
    adopted,
    ...(poolError !== undefined ? { poolError } : {}),
    pool,
    released,
    tables: tableReports,
    plan: thePlan,
    results,
    errors,
    ...(stopped !== undefined ? { stopped } : {}),
    converged,
    store: { allocations, released: snapshot.released },
  };
}

/**
 * The listing with each route once, by provider id (or, where the cloud has none, the destination it keeps
 * unique per table): a route a listing repeats must not be planned twice.
 */
export function uniqueRoutes(routes: readonly Route[]): Route[] {
  const seen = new Set<string>();
  return routes.filter((r) => {
    const key = r.providerId ?? `\u0000${r.destination}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

type TableRead = { table: RouteTable; routes: Route[]; quota: Quota } | { table: RouteTable; error: string };

/** Every table's listing and quota; a table that cannot be read is reported, not taken as empty. */
async function readTables(
  provider: CloudProvider,
  logger: Logger,
  signal: AbortSignal,
  progress: (e: PassProgressEvent) => void,
): Promise<{ tables: RouteTable[]; reads: TableRead[] }> {
  progress({ type: 'read', item: 'route tables', phase: 'start' });
  let tables: RouteTable[];
  try {
    tables = await provider.routeTables(signal);
  } catch (e) {
    progress({ type: 'read', item: 'route tables', phase: 'failed' });
    throw e;
  }
  progress({ type: 'tables', ids: tables.map((t) => t.id) });
  const reads = await Promise.all(
    tables.map(async (t): Promise<TableRead> => {
      try {
        progress({ type: 'read', item: t.id, phase: 'start' });
        // The quota counts its use from this listing: one read of the table per pass, not two.
        const routes = await provider.listRoutes(t, signal);
        const quota = await provider.quota(t, signal, routes);
        progress({ type: 'read', item: t.id, phase: 'done' });
        return { table: t, routes, quota };
      } catch (e) {
        if (signal.aborted) throw e;
        progress({ type: 'read', item: t.id, phase: 'failed' });
        logger.error({ table: t.id, err: msg(e) }, 'route table read failed: no changes to this table this pass');
        return { table: t, error: msg(e) };
      }
    }),
  );
  return { tables, reads };
}
