// Human output of `reconcile`: the plan the way `terraform plan` shows one, then the results.
import type { ChangeResult } from '../providers/types.ts';
import type { Plan } from './plan.ts';
import { totals } from './plan.ts';
import type { PassReport } from './reconcile.ts';

const MARK = { create: '+', replace: '~', delete: '-' } as const;

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function summaryLine(p: Pick<Plan, 'changes' | 'findings'>): string {
  const t = totals(p);
  const extra = [
    plural(t.conflict, 'conflict'),
    `${t.blocked} blocked by quota`,
    ...(t.held > 0 ? [`${t.held} held by the safety valve`] : []),
    ...(t.pending > 0 ? [`${t.pending} pending`] : []),
  ];
  return `Plan: ${t.create} to create, ${t.replace} to replace, ${t.delete} to delete; ${extra.join(', ')}.`;
}

export function renderPlan(report: Pick<PassReport, 'plan' | 'tables' | 'valve' | 'inventory' | 'allocated' | 'dryRun' | 'poolError'>): string {
  const lines: string[] = [];
  const { plan } = report;
  if (!report.inventory.ok) lines.push(`! inventory read failed: ${report.inventory.error ?? ''}`);
  if (report.valve.held) lines.push(`! safety valve held: ${report.valve.reason ?? ''} (no deletes, no releases)`);
  if (report.poolError) lines.push(`! ${report.poolError}`);
  for (const a of report.allocated) lines.push(`+ allocate ${a.subnet} → ${a.instanceId}${a.name && a.name !== a.instanceId ? ` (${a.name})` : ''}${report.dryRun ? ' (tentative)' : ''}`);
  for (const t of report.tables) {
    const q = t.quota ? `quota ${t.quota.used}/${t.quota.limit} (${t.quota.source}${t.quota.scope === 'project' ? ', project-wide' : ''})` : 'quota unknown';
    lines.push('');
    lines.push(t.readError ? `Table ${t.id}: NOT READ (${t.readError}) — no changes to it` : `Table ${t.id}: ${q}`);
    for (const c of plan.changes.filter((x) => x.table === t.id)) {
      const arrow = c.op === 'delete' ? '' : ` → ${c.target}`;
      const was = c.op !== 'create' && c.previousTarget !== undefined ? `was ${c.previousTarget ?? 'non-instance hop'}; ` : '';
      lines.push(`  ${MARK[c.op]} ${c.op.padEnd(8)}${c.destination}${arrow}  (${was}${c.reason})`);
    }
    for (const f of plan.findings.filter((x) => x.table === t.id)) {
      const to = f.target ? ` → ${f.target}` : '';
      if (f.kind === 'conflict') lines.push(`  ! conflict ${f.destination}${to}  (${f.detail})`);
      else if (f.kind === 'blocked:quota') lines.push(`  ⊘ blocked:quota ${f.destination}${to}  (${f.detail})`);
      else if (f.kind === 'pending') lines.push(`  … pending ${f.destination}${to}`);
      else lines.push(`  ‖ held ${f.destination}${to}  (${f.detail})`);
    }
    if (!t.readError && !plan.changes.some((c) => c.table === t.id) && !plan.findings.some((f) => f.table === t.id)) lines.push('  (no changes)');
  }
  lines.push('');
  lines.push(summaryLine(plan));
  return `${lines.join('\n')}\n`;
}

export function renderResult(r: ChangeResult): string {
  const c = r.change;
  const to = c.op === 'delete' ? '' : ` → ${c.target}`;
  const ok = r.outcome === 'applied' || r.outcome === 'alreadyDone';
  const detail = ok ? (r.outcome === 'alreadyDone' ? ' (already done)' : '') : `: ${r.error?.code ?? r.outcome} ${r.error?.message ?? ''}`.trimEnd();
  return `${ok ? '✓' : '✗'} ${c.table} ${c.op} ${c.destination}${to}${detail}${r.requestId ? ` [${r.requestId}]` : ''}`;
}

export function renderOutcome(report: PassReport): string {
  const by = (o: string) => report.results.filter((r) => r.outcome === o).length;
  const parts = [`${by('applied')} applied`, `${by('alreadyDone')} already done`, `${by('failed')} failed`, `${by('skipped')} skipped`];
  const released = report.released.length > 0 ? `; released ${report.released.length} subnet(s)` : '';
  const state = report.converged ? 'tables match the desired state' : 'NOT converged (see above)';
  return `Apply: ${parts.join(', ')}${released}. ${state}.\n`;
}
