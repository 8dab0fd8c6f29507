// One pass: read (inventory, store, tables) → plan (adopt, allocate, plan the routes) → write (store,
// cloud, releases) → its report. Used by `routesync run` (every interval and on change signals) and by the
// one-off `routesync reconcile`; the controller turns the report into metrics and quota warnings.
import type { ChangeResult, Quota, Route, RouteTable } from '../providers/types.ts';
import { type Adoption, type AdoptPlan, planAdoption } from './adopt.ts';
import { PoolExhaustedError, planAllocations, poolOptions, poolStats, releasePlan } from './allocator.ts';
import { applyPlan } from './apply.ts';
import { PlanChangedError, planDifference } from './approval.ts';
import { confirmGone, logHeld } from './confirm-gone.ts';
import { type InventoryView, safetyValve, type Valve } from './inventory/view.ts';
import type { IdMigration } from './migrate-ids.ts';
import { migrateRecords } from './pass-migrate.ts';
import { readInventory, readTables, type TableRead, tableState } from './pass-read.ts';
import type { PassDeps, PassMemory, PassOptions, PassReport, TableReport } from './pass-types.ts';
import { stillRouted, vmRoutes } from './pass-vm-routes.ts';
import { warnFindings } from './pass-warnings.ts';
import {
  clearedForRelease,
  persistAdoptions,
  persistMigration,
  persistMissing,
  persistRequests,
  releaseSubnets,
} from './pass-write.ts';
import { type DesiredRoute, emptyCounts, type Plan, plan } from './plan.ts';
import type { Allocation, AllocationRequest, IdMove, StoreSnapshot } from './store/types.ts';

export { type PassProgressEvent, uniqueRoutes } from './pass-read.ts';
export type { PassDeps, PassMemory, PassOptions, PassReport, TableReport } from './pass-types.ts';

/** What the reads gave: the store, the inventory and its valve, the release countdown, the tables. */
interface PassRead {
  startedAt: number;
  errors: string[];
  /** The store as loaded, with this pass's id migrations applied (they are written with the other store writes). */
  snapshot: StoreSnapshot;
  migration: IdMigration;
  inv: InventoryView;
  valve: Valve;
  /** The store's allocations with this pass's missing marks. */
  allocations: Allocation[];
  setMissing: ReturnType<typeof releasePlan>['setMissing'];
  /** VMs due for release and confirmed gone by the cloud. */
  releasing: string[];
  tables: RouteTable[];
  reads: TableRead[];
  actualByTable: Map<string, Route[]>;
  quotaByTable: Record<string, Quota>;
}

/** What the planning gave: adoptions, new VMs' subnets, and the plan for them (planFor replans after races). */
interface PassPlan {
  adoption: AdoptPlan | undefined;
  allocations: Allocation[];
  requests: AllocationRequest[];
  poolError?: string;
  planFor: (all: Allocation[]) => Plan;
  plan: Plan;
}

export async function reconcileOnce(deps: PassDeps, memory: PassMemory, opts: PassOptions): Promise<PassReport> {
  const read = await readPass(deps, memory, opts);
  const planned = planPass(deps, read, opts);
  return writePass(deps, memory, read, planned);
}

async function readPass(deps: PassDeps, memory: PassMemory, opts: PassOptions): Promise<PassRead> {
  const { config, logger, signal } = deps;
  const dry = deps.dryRun === true;
  const startedAt = deps.clock.now();
  const errors: string[] = [];
  // The tables' reads do not depend on the inventory: started with it, the first write waits for the slower
  // of the two instead of both in turn. The catch only parks a rejection until it is awaited below.
  const progress = deps.onProgress ?? (() => undefined);
  const tableReads = readTables(deps.provider, logger, signal, progress);
  tableReads.catch(() => undefined);
  const loaded = await deps.store.load();
  const inv = await readInventory(deps.inventory, { logger, signal, progress, dry, errors });
  const { snapshot, migration } = migrateRecords(deps, loaded, inv, errors);
  const valve = safetyValve({
    inventory: inv,
    allocations: snapshot.allocations,
    ...(memory.baseline !== undefined ? { baseline: memory.baseline } : {}),
    maxDeleteFraction: config.reconcile.maxDeleteFraction,
    ...(deps.inventory.emptyHint ? { emptyHint: deps.inventory.emptyHint } : {}),
  });
  // A real pass reports it with the other findings, once while it lasts. A dry pass holds nothing (it
  // deletes nothing): it says what a real pass would do.
  if (valve.held && dry)
    logger.warn({ reason: valve.reason }, 'safety valve: a real pass would hold deletes and releases');

  // Missing VMs: only a trusted inventory may start (or stop) a VM's release countdown. Every store write
  // waits until the plan is made: a confirmed plan that turned stale stops the pass before it wrote anything.
  let releasing: string[] = [];
  let setMissing: PassRead['setMissing'] = [];
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
    const check = await confirmGone(deps.provider, releasing, signal);
    logHeld(logger, check);
    if (check.error !== undefined) errors.push(`instance lookup before release failed: ${check.error}`);
    releasing = check.gone;
  }
  const { tables, reads } = await tableReads;
  const { actualByTable, quotaByTable } = tableState(reads, memory.quotaExceeded, opts.full, errors);
  return {
    startedAt,
    errors,
    snapshot,
    migration,
    inv,
    valve,
    allocations,
    setMissing,
    releasing,
    tables,
    reads,
    actualByTable,
    quotaByTable,
  };
}

function planPass(deps: PassDeps, read: PassRead, opts: PassOptions): PassPlan {
  const { config } = deps;
  const { inv, snapshot, startedAt, actualByTable } = read;
  // Allocation waits for the tables: a route of ours the store does not hold is an allocation the store
  // lost, adopted before any subnet is handed out, so a new VM never gets a subnet that still routes to
  // another. Only a trusted inventory can tell a present VM from a gone one; without it nothing is adopted,
  // and the plan leaves every route of ours the store does not hold alone.
  // kubernetes.podCIDR read: the Nodes' IPAM hands out the subnets and the store reads them off the Nodes
  // (store.type kubernetes, the only store read mode accepts); routesync adopts and allocates nothing.
  const readMode = config.kubernetes?.podCIDR === 'read';
  const adoption =
    inv.ok && !readMode
      ? planAdoption({
          allocations: read.allocations,
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
  const allocations = [
    ...read.allocations,
    ...(adoption?.adoptions ?? []).map((a) =>
      a.missing ? { ...a.request, missingSince: startedAt } : { ...a.request },
    ),
  ];

  // New VMs get subnets (a failed inventory knows of no new VMs).
  let requests: AllocationRequest[] = [];
  let poolError: string | undefined;
  if (inv.ok && !readMode) {
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
      read.errors.push(e.message);
      deps.logger.error({ unallocated: e.unallocated.length }, e.message);
    }
  }
  const planFor = (all: Allocation[]): Plan => routePlan(deps, read, adoption, all, opts.maxDeletes);
  // Planned with the new VMs' subnets as requested; a real pass then persists them.
  const thePlan = planFor([...allocations, ...requests]);
  if (opts.approved && deps.dryRun !== true) {
    const diff = planDifference(opts.approved, { allocated: requests, changes: thePlan.changes });
    if (diff !== undefined) throw new PlanChangedError(diff);
  }
  return { adoption, allocations, requests, ...(poolError !== undefined ? { poolError } : {}), planFor, plan: thePlan };
}

/** The route plan for a set of allocations (the releasing VMs' subnets are the ones to free). */
function routePlan(
  deps: PassDeps,
  read: PassRead,
  adoption: AdoptPlan | undefined,
  all: Allocation[],
  maxDeletes: number | undefined,
): Plan {
  const { inv } = read;
  const releasingSet = new Set(read.releasing);
  const desired: DesiredRoute[] = all
    .filter((a) => !releasingSet.has(a.instanceId))
    .map((a) => ({
      destination: a.subnet,
      target: a.instanceId,
      allocatedAt: a.allocatedAt,
      // Only a running VM gets a new route; a stopped or missing one keeps an existing route until released.
      create: inv.ok ? inv.running.has(a.instanceId) : a.missingSince === undefined,
      ...(a.missingSince !== undefined ? { releasing: true } : {}),
    }));
  const holders = new Set(all.map((a) => a.instanceId));
  return plan({
    desired,
    actualByTable: read.actualByTable,
    quotaByTable: read.quotaByTable,
    clusterCIDR: deps.config.clusterCIDR,
    subnetLen: deps.config.subnetLen,
    inventoryIds: new Set<string>([...inv.byId.keys(), ...holders]),
    // Deletes of routes of ours need the store's word that the subnet was given up: released now or before.
    releasable: new Set([
      ...read.allocations.filter((a) => releasingSet.has(a.instanceId)).map((a) => a.subnet),
      ...read.snapshot.released.map((r) => r.subnet),
    ]),
    unallocated: new Set([...inv.present].filter((id) => !holders.has(id))),
    ...(adoption ? { orphanReasons: adoption.refused } : {}),
    adopt: deps.config.adopt,
    deletesAllowed: !read.valve.held,
    ...(maxDeletes !== undefined ? { maxDeletes } : {}),
  });
}

async function writePass(deps: PassDeps, memory: PassMemory, read: PassRead, planned: PassPlan): Promise<PassReport> {
  const { logger, config } = deps;
  const dry = deps.dryRun === true;
  const { inv, valve, snapshot, startedAt } = read;
  let { allocations, plan: thePlan } = planned;
  let adopted: Adoption[] = planned.adoption?.adoptions ?? [];
  let allocated: AllocationRequest[] = planned.requests;
  let moved: IdMove[] = read.migration.moves;
  if (!dry) {
    moved = await persistMigration(deps, read.migration.moves);
    if (moved.length < read.migration.moves.length)
      read.errors.push(
        `${read.migration.moves.length - moved.length} store record(s) of an older version changed meanwhile: migrated next pass`,
      );
    const won = await persistAdoptions(deps, adopted, startedAt);
    if (won.length < adopted.length) {
      // Another writer holds those subnets or VMs now: plan without them (their routes become orphans).
      const gone = new Set(adopted.filter((a) => !won.includes(a)).map((a) => a.request.instanceId));
      allocations = allocations.filter(
        (a) => !gone.has(a.instanceId) || snapshot.allocations.some((x) => x.instanceId === a.instanceId),
      );
      thePlan = planned.planFor([...allocations, ...planned.requests]);
    }
    adopted = won;
    await persistMissing(deps, read.setMissing);
    const r = await persistRequests(deps, planned.requests);
    allocated = r.committed;
    // A request that lost its race gets no route this pass: plan again with what was committed (only ever
    // fewer creates than the plan checked against the approval).
    if (r.conflicts > 0) thePlan = planned.planFor([...allocations, ...allocated]);
    for (const a of adopted) {
      logger.warn(
        {
          instanceId: a.request.instanceId,
          subnet: a.request.subnet,
          tables: a.tables,
          missing: a.missing,
          dryRun: dry,
        },
        a.missing
          ? 'route of ours the store did not hold: adopted for a VM missing from the inventory (released after releaseAfter)'
          : 'route of ours the store did not hold: adopted as an allocation',
      );
    }
    // A dry run prints its findings in the plan; logging them too would say everything twice.
    warnFindings(logger, deps.warnings, valve, thePlan, new Set(read.actualByTable.keys()));
  }
  allocations = [...allocations, ...allocated];

  let results: ChangeResult[] = [];
  let stopped: string | undefined;
  if (!dry && thePlan.changes.length > 0) {
    deps.onProgress?.({ type: 'apply', total: thePlan.changes.length });
    const rep = await applyPlan(read.tables, thePlan.changes, {
      provider: deps.provider,
      logger,
      signal: deps.signal,
      fence: deps.fence,
      ...(deps.fenceNow ? { fenceNow: deps.fenceNow } : {}),
      quotaByTable: read.quotaByTable,
      ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
      ...(deps.onResult ? { onResult: deps.onResult } : {}),
    });
    results = rep.results;
    stopped = rep.stopped;
    for (const t of rep.quotaExceeded) memory.quotaExceeded.add(t);
  }

  // Release a VM's subnet only once the plan's deletes cleared it in every table.
  let released: string[] = [];
  if (read.releasing.length > 0 && !dry && stopped === undefined) {
    const readIds = new Set(read.actualByTable.keys());
    const clear = clearedForRelease(read.releasing, allocations, thePlan, read.tables, readIds, results);
    released = await releaseSubnets(deps, clear, () => deps.clock.now(), config.reconcile.reuseAfter);
    allocations = allocations.filter((a) => !released.includes(a.instanceId));
  }
  // A store that reads its allocations off the Nodes records what it found there (adopted podCIDRs, a
  // Node's old subnet to release), so the next pass can delete an old subnet's route.
  if (!dry && stopped === undefined) await deps.store.settle?.(deps.fence);
  if (inv.ok && !valve.held) memory.baseline = inv.present.size;
  const vms = vmRoutes({
    allocations,
    tables: read.tables.map((t) => t.id),
    actualByTable: read.actualByTable,
    plan: thePlan,
    results,
    ...(memory.routed ? { wasActive: memory.routed } : {}),
  });
  if (!dry) memory.routed = stillRouted(vms, memory.routed);
  return report(
    deps,
    read,
    { ...planned, plan: thePlan, allocations },
    { adopted, allocated, released, results, stopped, vms, moved },
  );
}

function report(
  deps: PassDeps,
  read: PassRead,
  planned: PassPlan,
  done: {
    adopted: Adoption[];
    allocated: AllocationRequest[];
    released: string[];
    results: ChangeResult[];
    stopped: string | undefined;
    vms: PassReport['vms'];
    moved: IdMove[];
  },
): PassReport {
  const { inv, valve, errors } = read;
  const { plan: thePlan, allocations } = planned;
  const dry = deps.dryRun === true;
  const failed = done.results.filter((r) => r.outcome === 'failed' || r.outcome === 'skipped');
  const converged =
    errors.length === 0 &&
    failed.length === 0 &&
    thePlan.findings.every((f) => f.kind === 'pending') &&
    done.stopped === undefined &&
    !valve.held &&
    (!dry || thePlan.changes.length === 0);
  const tables: TableReport[] = read.tables.map((t) => {
    const r = read.reads.find((x) => x.table.id === t.id);
    const states = thePlan.summary[t.id] ?? emptyCounts();
    if (!r || 'error' in r) return { id: t.id, readError: r && 'error' in r ? r.error : 'not read', states };
    return { id: t.id, quota: r.quota, states };
  });
  return {
    startedAt: read.startedAt,
    finishedAt: deps.clock.now(),
    dryRun: dry,
    inventory: {
      ok: inv.ok,
      ...(inv.error !== undefined ? { error: inv.error } : {}),
      total: inv.instances.length,
      byState: inv.byState,
    },
    valve,
    allocations,
    allocated: done.allocated,
    adopted: done.adopted,
    ...(done.moved.length > 0 ? { migrated: done.moved } : {}),
    ...(planned.poolError !== undefined ? { poolError: planned.poolError } : {}),
    pool: poolStats(poolOptions(deps.config, deps.clock.now()), { allocations, released: read.snapshot.released }),
    released: done.released,
    tables,
    plan: thePlan,
    results: done.results,
    errors,
    ...(done.stopped !== undefined ? { stopped: done.stopped } : {}),
    converged,
    store: { allocations, released: read.snapshot.released },
    ...(done.vms ? { vms: done.vms } : {}),
  };
}
