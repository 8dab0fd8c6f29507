// The reads of one reconcile pass (src/reconcile.ts): the inventory source and every route table with its
// quota. A read that fails is reported as failed, never taken as empty (I3).
import type { Logger } from 'pino';
import type { CloudProvider, ProgressEvent, Quota, Route, RouteTable } from '../providers/types.ts';
import type { InventorySource } from './inventory/source.ts';
import { type InventoryView, inventoryFrom } from './inventory/view.ts';

/** What a pass reports beyond the provider's apply events: its reads, and how many changes it will apply. */
export type PassProgressEvent =
  | ProgressEvent
  /** `item`: `inventory`, `route tables` (finding which tables to manage) or a table id. */
  | { type: 'read'; item: string; phase: 'start' | 'done' | 'failed' }
  /** The tables to read are known (the `route tables` read is done): from here on the read total is fixed. */
  | { type: 'tables'; ids: string[] }
  /** Sent once before applying: the total of every table's changes, so the count never jumps. */
  | { type: 'apply'; total: number };

export type TableRead = { table: RouteTable; routes: Route[]; quota: Quota } | { table: RouteTable; error: string };

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
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

/** The inventory as a view; a failed read is a failed view (and a pass error), its deletes held. */
export async function readInventory(
  source: InventorySource,
  o: {
    logger: Logger;
    signal: AbortSignal;
    progress: (e: PassProgressEvent) => void;
    dry: boolean;
    errors: string[];
  },
): Promise<InventoryView> {
  try {
    o.progress({ type: 'read', item: 'inventory', phase: 'start' });
    const inv = inventoryFrom({ instances: await source.list(o.signal) });
    o.progress({ type: 'read', item: 'inventory', phase: 'done' });
    return inv;
  } catch (e) {
    if (o.signal.aborted) throw e;
    o.progress({ type: 'read', item: 'inventory', phase: 'failed' });
    // A pass that could not read the inventory is a failed pass (alerts, readiness, backoff), even though
    // its creates for known VMs still go ahead.
    o.errors.push(`inventory read failed: ${msg(e)}`);
    // A dry run (reconcile --dry-run, status) deletes nothing anyway: "held" would be news of nothing.
    o.logger.error(
      { err: msg(e) },
      o.dry ? 'inventory read failed' : 'inventory read failed: deletes and releases are held this pass',
    );
    return inventoryFrom({ error: e });
  }
}

/** Every table's listing and quota; a table that cannot be read is reported, not taken as empty. */
export async function readTables(
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

/**
 * What the plan gets from the reads: each read table's routes (once each), and its quota; a table whose
 * creates hit a quota error has no room on a signal pass (no retry storm), until a full pass reads it again.
 */
export function tableState(
  reads: readonly TableRead[],
  quotaExceeded: Set<string>,
  full: boolean,
  errors: string[],
): { actualByTable: Map<string, Route[]>; quotaByTable: Record<string, Quota> } {
  const actualByTable = new Map<string, Route[]>();
  const quotaByTable: Record<string, Quota> = {};
  for (const r of reads) {
    if ('error' in r) {
      errors.push(`table ${r.table.id}: ${r.error}`);
      continue;
    }
    actualByTable.set(r.table.id, uniqueRoutes(r.routes));
    const blocked = quotaExceeded.has(r.table.id) && !full;
    quotaByTable[r.table.id] = blocked ? { ...r.quota, limit: Math.min(r.quota.limit, r.quota.used) } : r.quota;
    if (full) quotaExceeded.delete(r.table.id);
  }
  return { actualByTable, quotaByTable };
}
