// A pass's lasting findings, logged when they start and when they end (not every pass while they last).
import type { Logger } from 'pino';
import type { Valve } from './inventory/view.ts';
import type { Plan } from './plan.ts';
import { type Occurrence, RecurringWarnings } from './recurring.ts';

/**
 * Conflicts, orphans, held changes and the valve, warned about when they start and when they end. Per-route
 * quota blocks are debug: the QuotaWatcher logs one error per table when the blocked count changes, so a
 * full table does not produce a thousand error lines every pass.
 */
export function warnFindings(
  logger: Logger,
  warnings: RecurringWarnings | undefined,
  valve: Valve,
  plan: Plan,
  readTables: ReadonlySet<string>,
): void {
  const recurring: Occurrence[] = [];
  if (valve.held)
    recurring.push({
      key: 'valve',
      kind: 'safety-valve',
      fields: { reason: valve.reason },
      msg: 'safety valve held: no deletes, no releases',
    });
  for (const f of plan.findings) {
    const fields = { table: f.table, destination: f.destination, target: f.target, detail: f.detail };
    const key = `${f.kind}\u0000${f.table}\u0000${f.destination}\u0000${f.target ?? ''}`;
    const at = { key, table: f.table, fields };
    if (f.kind === 'conflict')
      recurring.push({ ...at, kind: 'conflict', msg: 'conflict: a foreign route holds one of our subnets' });
    else if (f.kind === 'orphan')
      recurring.push({
        ...at,
        kind: 'orphan',
        msg: 'orphan: a route of ours the store does not account for (left alone)',
      });
    else if (f.kind === 'held:safety-valve')
      recurring.push({ ...at, kind: 'held', msg: 'change held by the safety valve' });
    else if (f.kind === 'cannot-forward')
      recurring.push({
        ...at,
        kind: 'cannot-forward',
        msg: 'cannot-forward: the VM cannot forward its route (left alone)',
      });
    else if (f.kind === 'blocked:quota') logger.debug(fields, 'route blocked by quota');
    else logger.debug(fields, 'route pending');
  }
  (warnings ?? new RecurringWarnings(logger)).observe(recurring, (t) => !readTables.has(t));
}
