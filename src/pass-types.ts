// The shapes of one reconcile pass (src/reconcile.ts): what it needs, what it keeps between passes, and
// the report it returns.
import type { Logger } from 'pino';
import type { ChangeResult, CloudProvider, Quota } from '../providers/types.ts';
import type { Adoption } from './adopt.ts';
import type { PoolStats } from './allocator.ts';
import type { ApprovedPlan } from './approval.ts';
import type { Config } from './config.ts';
import type { InventorySource } from './inventory/source.ts';
import type { Valve } from './inventory/view.ts';
import type { Clock } from './lib/clock.ts';
import type { PassProgressEvent } from './pass-read.ts';
import type { Plan, RouteStateCount } from './plan.ts';
import type { VmRoute } from './pass-vm-routes.ts';
import type { RecurringWarnings } from './recurring.ts';
import type { Allocation, AllocationRequest, IdMove, Store, StoreSnapshot } from './store/types.ts';

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
  /** Each change's outcome as the apply learns it (the controller counts them in its metrics). */
  onResult?: (r: ChangeResult) => void;
  /** The controller's, kept across passes: a finding that holds pass after pass is warned about once. */
  warnings?: RecurringWarnings;
}

/** What the controller carries from one pass to the next. */
export interface PassMemory {
  /** Present-VM count of the last pass whose inventory was trusted. */
  baseline?: number;
  /** Tables whose creates hit a quota error: no creates there until a full pass reads room. */
  quotaExceeded: Set<string>;
  /** VMs whose route was active in every table at a pass of this process, still allocated (src/pass-vm-routes.ts). */
  routed?: Set<string>;
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
  /** As read at the start of the pass (src/pass-report.ts's afterWrites counts the pass's writes in). */
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
  /** Records of an older version moved to their VMs' current ids (src/migrate-ids.ts; shown, not written, on a dry run). */
  migrated?: IdMove[];
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
  /** Per VM holding a subnet: its route active in every table, pending, lost, blocked or unknown. */
  vms?: VmRoute[];
}
