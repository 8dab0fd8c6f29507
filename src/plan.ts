// The pure plan (DESIGN step 3): desired routes + each table's actual routes + quota → changes and findings.
// No I/O, no clock: the same input always gives the same plan, which is what `reconcile --dry-run` prints.
import type { Change, Quota, Route } from '../providers/types.ts';
import { compareCidr, parseCidr } from './lib/cidr.ts';
import type { OwnershipContext } from './ownership.ts';
import { planTable } from './plan-table.ts';
import type { DesiredRoute, Finding, Plan, PlanInput, ReleaseGate, RouteStateCount } from './plan-types.ts';

export {
  type DesiredRoute,
  emptyCounts,
  type Finding,
  type FindingKind,
  type Plan,
  type PlanInput,
  type ReleaseGate,
  ROUTE_STATES,
  type RouteStateCount,
} from './plan-types.ts';

function entries(m: PlanInput['actualByTable']): Array<[string, Route[]]> {
  return m instanceof Map ? [...m.entries()] : Object.entries(m);
}

function byAge(a: DesiredRoute, b: DesiredRoute): number {
  return a.allocatedAt - b.allocatedAt || compareCidr(a.destination, b.destination);
}

function byId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function plan(input: PlanInput): Plan {
  const own: OwnershipContext = {
    clusterCIDR: parseCidr(input.clusterCIDR),
    subnetLen: input.subnetLen,
    knownInstanceIds: input.inventoryIds,
  };
  const tables = entries(input.actualByTable).sort(([a], [b]) => byId(a, b));
  const desired = [...input.desired].sort(byAge);
  const desiredDest = new Set(desired.map((d) => d.destination));
  const shared = {
    own,
    desired,
    desiredDest,
    releasable: input.releasable,
    unallocated: input.unallocated ?? new Set<string>(),
    adopt: input.adopt,
    orphanDetail: (r: Route, why: string) => input.orphanReasons?.get(r.destination) ?? why,
  };

  const findings: Finding[] = [];
  const summary: Record<string, RouteStateCount> = {};
  const deletes: Change[] = [];
  const replaces: Change[] = [];
  const kept: string[] = [];
  // Creates are decided oldest-first across every table so a shared (project) quota goes to the oldest VMs.
  const wantCreate: Array<{ table: string; d: DesiredRoute }> = [];
  for (const [table, routes] of tables) {
    const t = planTable({ ...shared, table }, routes);
    summary[table] = t.counts;
    findings.push(...t.findings);
    deletes.push(...t.deletes);
    replaces.push(...t.replaces);
    kept.push(...t.keptReleasable);
    wantCreate.push(...t.wantCreate.map((d) => ({ table, d })));
    if (!input.deletesAllowed)
      for (const c of [...t.deletes, ...t.replaces])
        findings.push(
          held(c, `${c.op} held: the safety valve is closed (inventory read failed or shrank suspiciously)`),
        );
  }

  const creates = grantCreates(wantCreate, input.quotaByTable, summary, findings);
  let allowedDeletes: Change[] = [];
  let allowedReplaces: Change[] = [];
  if (input.deletesAllowed) {
    allowedReplaces = replaces;
    const max = input.maxDeletes ?? Number.POSITIVE_INFINITY;
    allowedDeletes = deletes.slice(0, Math.max(0, max));
    for (const c of deletes.slice(allowedDeletes.length)) {
      const { target: _none, ...finding } = held(c, `delete held: more than ${max} deletes in one pass`);
      findings.push(finding);
    }
  }

  const changes: Change[] = [];
  for (const [table] of tables) {
    // Deletes first frees quota and clears the way; replaces next; creates last.
    changes.push(...allowedDeletes.filter((c) => c.table === table));
    changes.push(...allowedReplaces.filter((c) => c.table === table));
    changes.push(...creates.filter((c) => c.table === table));
  }
  const releases = releaseGates(deletes, new Set(allowedDeletes), kept, input.releasable, desiredDest);
  return { changes, findings, summary, tables: tables.map(([t]) => t), releases };
}

function held(change: Change, detail: string): Finding {
  return {
    kind: 'held:safety-valve',
    table: change.table,
    destination: change.destination,
    detail,
    ...(change.target ? { target: change.target } : {}),
  };
}

/** The creates the quota has room for, oldest allocation first; the rest are `blocked:quota` findings. */
function grantCreates(
  wanted: Array<{ table: string; d: DesiredRoute }>,
  quotaByTable: Readonly<Record<string, Quota>>,
  summary: Record<string, RouteStateCount>,
  findings: Finding[],
): Change[] {
  // One pool per table, or one for the project when the quota is project-wide (GCE).
  const pools = new Map<string, { remaining: number; known: boolean }>();
  const poolOf = (table: string) => {
    const q = quotaByTable[table];
    const key = q?.scope === 'project' ? '\u0000project' : table;
    let p = pools.get(key);
    if (!p) {
      p = q ? { remaining: Math.max(0, q.limit - q.used), known: true } : { remaining: 0, known: false };
      pools.set(key, p);
    }
    return p;
  };
  const creates: Change[] = [];
  const sorted = [...wanted].sort((a, b) => byAge(a.d, b.d) || byId(a.table, b.table));
  for (const { table, d } of sorted) {
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
  return creates;
}

/** Each releasable subnet's deletes, and how many of its routes of ours stay (held, capped or orphaned). */
function releaseGates(
  deletes: readonly Change[],
  allowed: ReadonlySet<Change>,
  kept: readonly string[],
  releasable: ReadonlySet<string>,
  desiredDest: ReadonlySet<string>,
): Record<string, ReleaseGate> {
  const gates: Record<string, ReleaseGate> = {};
  const gate = (subnet: string): ReleaseGate => {
    gates[subnet] ??= { deletes: [], kept: 0 };
    return gates[subnet];
  };
  for (const c of deletes) {
    if (!releasable.has(c.destination) || desiredDest.has(c.destination)) continue;
    if (allowed.has(c)) gate(c.destination).deletes.push(c);
    else gate(c.destination).kept++;
  }
  for (const subnet of kept) gate(subnet).kept++;
  return gates;
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
  cannotForward: number;
}

export function totals(p: Pick<Plan, 'changes' | 'findings'>): PlanTotals {
  const t: PlanTotals = {
    create: 0,
    replace: 0,
    delete: 0,
    conflict: 0,
    orphan: 0,
    blocked: 0,
    held: 0,
    pending: 0,
    cannotForward: 0,
  };
  for (const c of p.changes) t[c.op]++;
  for (const f of p.findings) {
    if (f.kind === 'conflict') t.conflict++;
    else if (f.kind === 'orphan') t.orphan++;
    else if (f.kind === 'blocked:quota') t.blocked++;
    else if (f.kind === 'held:safety-valve') t.held++;
    else if (f.kind === 'cannot-forward') t.cannotForward++;
    else t.pending++;
  }
  return t;
}
