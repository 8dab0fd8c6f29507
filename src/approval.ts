// `routesync reconcile` shows a plan from a read-only pass, asks, then plans again to apply. What it applies
// must be what was shown, or less (what has become done in between): anything else stops the apply before
// its first write, like terraform's "saved plan is stale".
import type { Change } from '../providers/types.ts';
import type { AllocationRequest } from './store/types.ts';

/** What was shown and confirmed. */
export interface ApprovedPlan {
  allocated: ReadonlyArray<Pick<AllocationRequest, 'instanceId' | 'subnet'>>;
  changes: readonly Change[];
}

export class PlanChangedError extends Error {
  readonly difference: string;
  constructor(difference: string) {
    super(
      `the plan changed since it was shown (${difference}): nothing was applied; run reconcile again to see the new plan`,
    );
    this.name = 'PlanChangedError';
    this.difference = difference;
  }
}

function changeKey(c: Change): string {
  // A delete's target and a replace's previous target are part of it: the same destination pointing
  // elsewhere now is not the change that was confirmed.
  return [c.op, c.table, c.destination, c.target ?? '', c.previousTarget ?? '', c.providerId ?? ''].join('\u0000');
}

function describe(c: Change): string {
  return `${c.op} ${c.destination}${c.op === 'delete' ? '' : ` → ${c.target}`} in ${c.table}`;
}

/** The first thing about to be done that was not shown, or undefined when `now` is within `approved`. */
export function planDifference(approved: ApprovedPlan, now: ApprovedPlan): string | undefined {
  const shownAlloc = new Set(approved.allocated.map((a) => `${a.instanceId}\u0000${a.subnet}`));
  for (const a of now.allocated)
    if (!shownAlloc.has(`${a.instanceId}\u0000${a.subnet}`))
      return `allocate ${a.subnet} → ${a.instanceId} was not shown`;
  const shown = new Set(approved.changes.map(changeKey));
  for (const c of now.changes) if (!shown.has(changeKey(c))) return `${describe(c)} was not shown`;
  return undefined;
}
