// Human output of `reconcile`: the plan the way `terraform plan` shows one, then the results.
import type { ChangeResult } from '../providers/types.ts';
import type { Plan } from './plan.ts';
import { totals } from './plan.ts';
import type { PassReport } from './reconcile.ts';
import { compareCidr } from './lib/cidr.ts';
import type { Finding } from './plan.ts';

const MARK = { create: '+', replace: '~', delete: '-' } as const;
// A table's lines: grouped by what they are (in the order the plan applies them), each group by address.
const OP_ORDER = { delete: 0, replace: 1, create: 2 } as const;
const FINDING_ORDER: Record<Finding['kind'], number> = {
  conflict: 0,
  orphan: 1,
  'blocked:quota': 2,
  'held:safety-valve': 3,
  pending: 4,
  'cannot-forward': 5,
};

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function summaryLine(p: Pick<Plan, 'changes' | 'findings'>): string {
  const t = totals(p);
  const extra = [
    plural(t.conflict, 'conflict'),
    ...(t.orphan > 0 ? [`${t.orphan} orphaned (routes of ours the store does not account for)`] : []),
    `${t.blocked} blocked by quota`,
    ...(t.held > 0 ? [`${t.held} held by the safety valve`] : []),
    ...(t.pending > 0 ? [`${t.pending} pending`] : []),
    ...(t.cannotForward > 0 ? [`${t.cannotForward} whose VM cannot forward`] : []),
  ];
  return `Plan: ${t.create} to create, ${t.replace} to replace, ${t.delete} to delete; ${extra.join(', ')}.`;
}

export function renderPlan(
  report: Pick<PassReport, 'plan' | 'tables' | 'valve' | 'inventory' | 'allocated' | 'dryRun' | 'poolError'> &
    Partial<Pick<PassReport, 'adopted' | 'migrated'>>,
): string {
  const lines: string[] = [];
  const { plan } = report;
  if (!report.inventory.ok) lines.push(`! inventory read failed: ${report.inventory.error ?? ''}`);
  if (report.valve.held) lines.push(`! safety valve held: ${report.valve.reason ?? ''} (no deletes, no releases)`);
  if (report.poolError) lines.push(`! ${report.poolError}`);
  for (const a of [...(report.adopted ?? [])].sort((x, y) => compareCidr(x.request.subnet, y.request.subnet))) {
    const vm = a.request.name && a.request.name !== a.request.instanceId ? ` (${a.request.name})` : '';
    const why = a.missing
      ? 'VM not in the inventory: adopted as missing, released after releaseAfter'
      : 'the store held no allocation for it';
    lines.push(
      `= adopt ${a.request.subnet} → ${a.request.instanceId}${vm}  (route of ours in ${a.tables.join(', ')}; ${why})${report.dryRun ? ' (not written: dry run)' : ''}`,
    );
  }
  for (const m of [...(report.migrated ?? [])].sort((x, y) => compareCidr(x.subnet, y.subnet)))
    lines.push(
      `* migrate ${m.subnet}: ${m.from} → ${m.to}  (store record of an older version; same VM by name and private IP ${m.privateIp})${report.dryRun ? ' (not written: dry run)' : ''}`,
    );
  for (const a of [...report.allocated].sort((x, y) => compareCidr(x.subnet, y.subnet)))
    lines.push(
      `+ allocate ${a.subnet} → ${a.instanceId}${a.name && a.name !== a.instanceId ? ` (${a.name})` : ''}${report.dryRun ? ' (tentative)' : ''}`,
    );
  for (const t of report.tables) {
    const q = t.quota
      ? `quota ${t.quota.used}/${t.quota.limit} (${t.quota.source}${t.quota.scope === 'project' ? ', project-wide' : ''})`
      : 'quota unknown';
    lines.push('');
    lines.push(t.readError ? `Table ${t.id}: NOT READ (${t.readError}) — no changes to it` : `Table ${t.id}: ${q}`);
    const changes = plan.changes
      .filter((x) => x.table === t.id)
      .sort((a, b) => OP_ORDER[a.op] - OP_ORDER[b.op] || compareCidr(a.destination, b.destination));
    for (const c of changes) {
      const arrow = c.op === 'delete' ? '' : ` → ${c.target}`;
      const was =
        c.op !== 'create' && c.previousTarget !== undefined ? `was ${c.previousTarget ?? 'non-instance hop'}; ` : '';
      lines.push(`  ${MARK[c.op]} ${c.op.padEnd(8)}${c.destination}${arrow}  (${was}${c.reason})`);
    }
    const findings = plan.findings
      .filter((x) => x.table === t.id)
      .sort((a, b) => FINDING_ORDER[a.kind] - FINDING_ORDER[b.kind] || compareCidr(a.destination, b.destination));
    for (const f of findings) {
      const to = f.target ? ` → ${f.target}` : '';
      if (f.kind === 'conflict') lines.push(`  ! conflict ${f.destination}${to}  (${f.detail})`);
      else if (f.kind === 'orphan') lines.push(`  ? orphan ${f.destination}${to}  (${f.detail})`);
      else if (f.kind === 'blocked:quota') lines.push(`  ⊘ blocked:quota ${f.destination}${to}  (${f.detail})`);
      else if (f.kind === 'pending') lines.push(`  … pending ${f.destination}${to}`);
      else if (f.kind === 'cannot-forward') lines.push(`  ✗ cannot-forward ${f.destination}${to}  (${f.detail})`);
      else lines.push(`  ‖ held ${f.destination}${to}  (${f.detail})`);
    }
    if (!t.readError && !plan.changes.some((c) => c.table === t.id) && !plan.findings.some((f) => f.table === t.id))
      lines.push('  (no changes)');
  }
  lines.push('');
  lines.push(summaryLine(plan));
  return `${lines.join('\n')}\n`;
}

export function renderResult(r: ChangeResult): string {
  const c = r.change;
  const to = c.op === 'delete' ? '' : ` → ${c.target}`;
  const ok = r.outcome === 'applied' || r.outcome === 'alreadyDone';
  const detail = ok
    ? r.outcome === 'alreadyDone'
      ? ' (already done)'
      : ''
    : `: ${r.error?.code ?? r.outcome} ${r.error?.message ?? ''}`.trimEnd();
  return `${ok ? '✓' : '✗'} ${c.table} ${c.op} ${c.destination}${to}${detail}${r.requestId ? ` [${r.requestId}]` : ''}`;
}

/** `shown`: how many changes the plan printed before applying had; those not applied had become done. */
export function renderOutcome(report: PassReport, shown?: number): string {
  const by = (o: string) => report.results.filter((r) => r.outcome === o).length;
  const parts = [
    `${by('applied')} applied`,
    `${by('alreadyDone')} already done`,
    `${by('failed')} failed`,
    `${by('skipped')} skipped`,
  ];
  const meanwhile = shown !== undefined ? shown - report.plan.changes.length : 0;
  if (meanwhile > 0) parts.push(`${meanwhile} done meanwhile`);
  const released = report.released.length > 0 ? `; released ${report.released.length} subnet(s)` : '';
  const state = report.converged ? 'tables match the desired state' : 'NOT converged (see above)';
  return `Apply: ${parts.join(', ')}${released}. ${state}.\n`;
}

function clockTime(at: number): string {
  const d = new Date(at);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/**
 * One line for one controller pass (the demo's output): what changed, what is still in the way, the
 * quota of each table after the pass, how long it took.
 */
export function renderPassLine(r: PassReport, ms: number, at: number): string {
  const done = (op: string) => r.results.filter((x) => x.change.op === op && x.outcome === 'applied').length;
  const failed = r.results.filter((x) => x.outcome === 'failed').length;
  const changed = [
    ...(done('create') > 0 ? [`${done('create')} created`] : []),
    ...(done('replace') > 0 ? [`${done('replace')} replaced`] : []),
    ...(done('delete') > 0 ? [`${done('delete')} deleted`] : []),
    ...(failed > 0 ? [`${failed} failed`] : []),
  ];
  const gone = r.allocations.filter((a) => a.missingSince !== undefined).length;
  const subnets = [
    ...(r.allocated.length > 0 ? [`${plural(r.allocated.length, 'subnet')} allocated`] : []),
    ...(r.released.length > 0 ? [`${r.released.length} released`] : []),
    ...(gone > 0 ? [`${gone} kept for gone VMs until releaseAfter`] : []),
  ];
  const t = totals(r.plan);
  const open = [
    ...(t.conflict > 0 ? [plural(t.conflict, 'conflict')] : []),
    ...(t.blocked > 0 ? [`${t.blocked} blocked by quota`] : []),
    ...(t.held > 0 ? [`${t.held} held`] : []),
    ...(t.pending > 0 ? [`${t.pending} pending`] : []),
    ...(r.errors.length > 0 ? [plural(r.errors.length, 'error')] : []),
  ];
  // A project-wide quota (GCE) is one number however many networks' tables share it.
  const project = r.tables.find((x) => x.quota?.scope === 'project')?.quota;
  const quota = project
    ? [`${project.used}/${project.limit} (project)`]
    : r.tables.map(
        (x) => `${x.id} ${x.quota ? `${x.quota.used}/${x.quota.limit}` : x.readError ? 'not read' : 'unknown'}`,
      );
  const routes = changed.length > 0 ? `routes: ${changed.join(', ')}` : 'routes: no changes';
  const parts = [
    routes,
    ...(subnets.length > 0 ? [`subnets: ${subnets.join(', ')}`] : []),
    ...(open.length > 0 ? [open.join(', ')] : []),
    `quota ${quota.join(', ')}`,
  ];
  return `[${clockTime(at)}] pass ${(ms / 1000).toFixed(1)} s: ${parts.join('; ')}${r.converged ? '' : ' — not converged'}\n`;
}
