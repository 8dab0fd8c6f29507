// Per VM, where its route stands after a pass: active in every managed table, pending (not there yet, or
// the cloud still creating it), lost (it was active, and now a table lacks it or holds a blackhole),
// blocked (the plan will not write it: quota, a foreign route, a VM that cannot forward, …) or unknown (a
// table could not be read: a failed read is never "not there"). Pure: the pass's allocations, table reads,
// plan and write results in, one line per VM out. The Kubernetes Node conditions are made from it
// (src/kubernetes/node-reporter.ts); a route a write of this pass created counts as active (the cloud
// answered the create: AWS at once, Aliyun once the entry left Pending, GCE once its operation was DONE),
// and the next pass's read corrects it if the cloud says otherwise.
import type { ChangeResult, Route } from '../providers/types.ts';
import type { FindingKind, Plan } from './plan-types.ts';

export type VmRouteState = 'active' | 'pending' | 'lost' | 'blocked' | 'unknown';

/** One table's word on one VM's route. */
export type TableRouteState = 'active' | 'pending' | 'missing' | 'blocked' | 'unknown';

export interface VmRouteBlock {
  kind: FindingKind;
  table: string;
  detail: string;
}

export interface VmRoute {
  instanceId: string;
  name: string;
  subnet: string;
  state: VmRouteState;
  /** Each managed table's state of this VM's route, by table id. */
  tables: Record<string, TableRouteState>;
  /** Why it is blocked, per table that blocks it (state `blocked`). */
  blocked?: VmRouteBlock[];
}

export interface VmRoutesInput {
  allocations: ReadonlyArray<{ instanceId: string; name: string; subnet: string }>;
  /** Every managed table of the pass, read or not. */
  tables: readonly string[];
  /** The routes of the tables read; a table absent here failed its read. */
  actualByTable: ReadonlyMap<string, readonly Route[]>;
  plan: Pick<Plan, 'changes' | 'findings'>;
  results: readonly ChangeResult[];
  /** VMs whose route was active in every table before (the controller's memory across passes). */
  wasActive?: ReadonlySet<string>;
}

/** Findings that stand between a VM and its route until someone acts (not `pending`: the cloud is on it). */
const BLOCKING: ReadonlySet<FindingKind> = new Set<FindingKind>([
  'blocked:quota',
  'conflict',
  'cannot-forward',
  'orphan',
  'held:safety-valve',
]);

const key = (table: string, destination: string) => `${table}\u0000${destination}`;

export function vmRoutes(input: VmRoutesInput): VmRoute[] {
  const blocks = new Map<string, VmRouteBlock[]>();
  for (const f of input.plan.findings) {
    if (!BLOCKING.has(f.kind)) continue;
    const k = key(f.table, f.destination);
    blocks.set(k, [...(blocks.get(k) ?? []), { kind: f.kind, table: f.table, detail: f.detail }]);
  }
  // The writes of this pass that point a VM's subnet at it: create or replace, and how they ended.
  const writes = new Map<string, { target: string | null; ok: boolean }>();
  for (const c of input.plan.changes) {
    if (c.op === 'delete') continue;
    writes.set(key(c.table, c.destination), { target: c.target, ok: false });
  }
  for (const r of input.results) {
    if (r.change.op === 'delete') continue;
    const w = writes.get(key(r.change.table, r.change.destination));
    if (w && w.target === r.change.target && (r.outcome === 'applied' || r.outcome === 'alreadyDone')) w.ok = true;
  }
  const tables = [...input.tables].sort();
  return input.allocations.map((a) => {
    const per: Record<string, TableRouteState> = {};
    const blocked: VmRouteBlock[] = [];
    for (const t of tables) {
      const routes = input.actualByTable.get(t);
      if (routes === undefined) {
        per[t] = 'unknown';
        continue;
      }
      const k = key(t, a.subnet);
      const b = blocks.get(k) ?? [];
      const w = writes.get(k);
      if (w && w.target === a.instanceId) {
        per[t] = w.ok ? 'active' : 'missing';
        continue;
      }
      if (b.length > 0) {
        per[t] = 'blocked';
        blocked.push(...b);
        continue;
      }
      const mine = routes.filter((r) => r.destination === a.subnet && r.target === a.instanceId);
      if (mine.some((r) => r.state === 'active' && r.cannotForward === undefined)) per[t] = 'active';
      else if (mine.some((r) => r.state === 'pending')) per[t] = 'pending';
      else per[t] = 'missing';
    }
    const states = Object.values(per);
    let state: VmRouteState;
    if (tables.length === 0) state = 'unknown';
    else if (blocked.length > 0) state = 'blocked';
    else if (states.includes('unknown')) state = 'unknown';
    else if (states.every((s) => s === 'active')) state = 'active';
    else if (input.wasActive?.has(a.instanceId)) state = 'lost';
    else state = 'pending';
    return {
      instanceId: a.instanceId,
      name: a.name,
      subnet: a.subnet,
      state,
      tables: per,
      ...(blocked.length > 0 ? { blocked } : {}),
    };
  });
}

/**
 * The next pass's `wasActive`: the VMs active now, and those active before that still hold their subnet
 * (lost until restored; a VM whose subnet was released leaves the set).
 */
export function stillRouted(routes: readonly VmRoute[], before: ReadonlySet<string> = new Set()): Set<string> {
  return new Set(routes.filter((r) => r.state === 'active' || before.has(r.instanceId)).map((r) => r.instanceId));
}
