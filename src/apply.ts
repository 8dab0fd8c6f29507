// Runs a plan through the provider, every table at once. The provider batches, retries and paces within a
// table (and across tables where its cloud needs it: Aliyun's VPC-wide task window, AWS's shared pacer);
// this file owns what spans tables: fencing (I4), abort, and one log line per outcome.
import type { Logger } from 'pino';
import type { Change, ChangeResult, CloudProvider, ProgressEvent, Quota, RouteTable } from '../providers/types.ts';
import { ProviderError } from '../providers/types.ts';

export interface ApplyDeps {
  provider: CloudProvider;
  logger: Logger;
  signal: AbortSignal;
  /** Throws when this process no longer leads. Checked before each table starts and passed down to the provider. */
  fence: () => Promise<void> | void;
  /** The fence's synchronous local part, handed to the provider for the moment each write goes on the wire. */
  fenceNow?: () => void;
  onProgress?: (e: ProgressEvent) => void;
  onResult?: (r: ChangeResult) => void;
  /** Each table's quota as this pass read it, handed to the provider so it need not read it again. */
  quotaByTable?: Readonly<Record<string, Quota>>;
}

export interface ApplyReport {
  /** Grouped by table in plan order (a table's results in the provider's order), whatever order tables finished in. */
  results: ChangeResult[];
  /** Tables where a create hit the cloud's quota: no more creates there until a full pass sees room. */
  quotaExceeded: Set<string>;
  /** Why the apply stopped early (leadership lost, abort, provider bug), if it did. */
  stopped?: string;
}

function skipped(change: Change, why: string): ChangeResult {
  return { change, outcome: 'skipped', error: new ProviderError('unavailable', 'Skipped', why, { action: change.op }) };
}

export async function applyPlan(
  tables: readonly RouteTable[],
  changes: readonly Change[],
  deps: ApplyDeps,
): Promise<ApplyReport> {
  const report: ApplyReport = { results: [], quotaExceeded: new Set() };
  const byId = new Map(tables.map((t) => [t.id, t]));
  const order: string[] = [];
  const perTable = new Map<string, Change[]>();
  for (const c of changes) {
    if (!perTable.has(c.table)) {
      perTable.set(c.table, []);
      order.push(c.table);
    }
    perTable.get(c.table)?.push(c);
  }
  const resultsByTable = new Map<string, ChangeResult[]>(order.map((id) => [id, []]));

  // Logged as each table finishes, so a table's lines stay together and appear when its work is done.
  const record = (r: ChangeResult) => {
    resultsByTable.get(r.change.table)?.push(r);
    const c = r.change;
    const fields = {
      table: c.table,
      op: c.op,
      destination: c.destination,
      target: c.target,
      outcome: r.outcome,
      requestId: r.requestId,
      reason: c.reason,
    };
    if (r.outcome === 'failed')
      deps.logger.error(
        { ...fields, err: r.error?.message, code: r.error?.code, kind: r.error?.kind },
        `route ${c.op} failed`,
      );
    else if (r.outcome === 'skipped') deps.logger.warn({ ...fields, err: r.error?.message }, `route ${c.op} skipped`);
    else deps.logger.info(fields, `route ${c.op} ${r.outcome === 'applied' ? 'applied' : 'already done'}`);
    if (r.outcome === 'failed' && r.error?.kind === 'quota' && c.op !== 'delete') report.quotaExceeded.add(c.table);
    deps.onResult?.(r);
  };

  const runTable = async (tableId: string, batch: Change[]): Promise<void> => {
    const table = byId.get(tableId) ?? { id: tableId };
    let results: ChangeResult[];
    try {
      const quota = deps.quotaByTable?.[tableId];
      results = await deps.provider.apply(table, batch, {
        ...(quota ? { quota } : {}),
        signal: deps.signal,
        fence: deps.fence,
        ...(deps.fenceNow ? { fenceNow: deps.fenceNow } : {}),
        ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
      });
    } catch (e) {
      // Providers throw only on abort; anything else is a provider bug, but the changes still need an outcome.
      const why = deps.signal.aborted
        ? `aborted: ${String(deps.signal.reason ?? 'signal')}`
        : `provider error: ${(e as Error).message}`;
      report.stopped ??= why;
      for (const c of batch) record(skipped(c, why));
      return;
    }
    const seen = new Set<Change>();
    for (const r of results) {
      seen.add(r.change);
      record(r);
    }
    // A change the provider did not answer for is not silently "done".
    for (const c of batch)
      if (!seen.has(c) && !results.some((r) => sameChange(r.change, c))) record(skipped(c, 'no result from provider'));
  };

  // Tables start in plan order, each behind its own fence check, without waiting for the one before: the
  // clouds let different tables' changes run side by side. Once a check fails (or the apply is aborted), no
  // later table starts; tables already running stop at their provider's own fence before each write.
  const running: Promise<void>[] = [];
  for (const tableId of order) {
    const batch = perTable.get(tableId) as Change[];
    if (report.stopped === undefined && deps.signal.aborted)
      report.stopped = `aborted: ${String(deps.signal.reason ?? 'signal')}`;
    if (report.stopped === undefined) {
      try {
        await deps.fence();
      } catch (e) {
        report.stopped = `leadership lost: ${(e as Error).message}`;
        deps.logger.warn({ table: tableId }, `apply stopped before table ${tableId}: ${report.stopped}`);
      }
    }
    if (report.stopped !== undefined) {
      for (const c of batch) record(skipped(c, report.stopped));
      continue;
    }
    running.push(runTable(tableId, batch));
  }
  await Promise.all(running);
  for (const id of order) report.results.push(...(resultsByTable.get(id) ?? []));
  return report;
}

function sameChange(a: Change, b: Change): boolean {
  return a.op === b.op && a.table === b.table && a.destination === b.destination && a.target === b.target;
}
