import { chunks } from '../../src/lib/chunks.ts';
import {
  FencedError,
  ProviderError,
  type ApplyOptions,
  type Change,
  type ChangeResult,
  type Route,
  type RouteTable,
} from '../types.ts';
import type { AliyunApi } from './client.ts';
import { kindOfEntryFailure, toProviderError } from './errors.ts';
import { entryName, markDescription } from './mark.ts';
import * as S from './schemas.ts';
import { normalise, settler, type SettleDeps } from './settle.ts';
import type { TaskGate } from './vpc-gate.ts';

export type { SettlePolicy } from './settle.ts';

export interface ApplyDeps extends SettleDeps {
  api: AliyunApi;
  cluster: string;
  batchSize: number;
  listRoutes(table: RouteTable, signal: AbortSignal): Promise<Route[]>;
  gate: TaskGate;
}

interface Item {
  i: number;
  change: Change;
  dest: string;
}

const DUPLICATE = 'VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE';
const NOT_EXIST = 'VPC_ROUTER_ENTRY_NOT_EXIST';
/** "Created but in a middle status": the entry is there, it just has not settled yet. */
const MIDDLE_STATUS = 'VPC_ROUTE_ENTRY_STATUS_ERROR';

export async function applyChanges(
  deps: ApplyDeps,
  table: RouteTable,
  changes: Change[],
  opts: ApplyOptions,
): Promise<ChangeResult[]> {
  const { api, logger, signal } = { ...deps, signal: opts.signal };
  const results = new Map<number, ChangeResult>();
  const record = (i: number, r: ChangeResult) => {
    results.set(i, r);
    opts.onProgress?.({ type: 'result', table: table.id, result: r });
  };
  const fail = (it: Item, error: ProviderError, requestId?: string) =>
    record(it.i, {
      change: it.change,
      outcome: 'failed',
      error,
      ...((requestId ?? error.requestId) ? { requestId: requestId ?? error.requestId } : {}),
    });
  opts.onProgress?.({ type: 'start', table: table.id, total: changes.length });
  signal.throwIfAborted();

  const byOp: Record<Change['op'], Item[]> = { create: [], replace: [], delete: [] };
  changes.forEach((change, i) => {
    const dest = normalise(change.destination);
    const bad = (msg: string) =>
      record(i, {
        change,
        outcome: 'failed',
        error: new ProviderError('invalid', 'InvalidChange', msg, { action: 'apply' }),
      });
    if (change.table !== table.id)
      return bad(`change.table: ${change.table} is not the table being applied (${table.id})`);
    if (dest === null) return bad(`change.destination: ${JSON.stringify(change.destination)} is not a valid IPv4 CIDR`);
    if (change.op !== 'delete' && !change.target)
      return bad(`change.target: a ${change.op} needs the instance id to route to`);
    byOp[change.op].push({ i, change, dest });
  });

  let fenced: FencedError | undefined;
  const fenceOk = async (): Promise<boolean> => {
    if (fenced) return false;
    try {
      await opts.fence?.();
      return true;
    } catch (e) {
      fenced = new FencedError(e);
      logger.warn({ table: table.id, err: String(e) }, 'aliyun apply: fence refused, skipping the remaining changes');
      return false;
    }
  };
  const rethrowAbort = () => {
    if (signal.aborted) throw signal.reason;
  };

  const waitSettled = settler(deps, table, opts);

  /**
   * One write through the VPC's gate. `write` hands `before` to AliyunApi.call, which runs it before every
   * attempt (retries included, after their backoff), so the fence is as close to each request as it can be
   * (I4). A refusal before the first attempt frees the gate at once; after one was sent the window holds.
   */
  const FENCED = Symbol('fenced');
  const gated = <T>(write: (before: () => Promise<void>) => Promise<T>): Promise<T | typeof FENCED> =>
    deps.gate.run<T | typeof FENCED>(async () => {
      let sent = false;
      const before = async () => {
        if (!(await fenceOk())) throw fenced;
        sent = true;
      };
      try {
        return { sent: true, value: await write(before) };
      } catch (e) {
        if (e instanceof FencedError) return { sent, value: FENCED };
        throw e;
      }
    }, signal);

  // Deletes first: they free quota for the creates.
  const deletes = byOp.delete;
  if (deletes.some((d) => !d.change.providerId && !d.change.target)) {
    // Without an id or a next hop the batch API cannot name the entry: look the ids up once.
    try {
      const routes = await deps.listRoutes(table, signal);
      const ids = new Map(routes.map((r) => [r.destination, r]));
      for (const d of deletes) {
        if (d.change.providerId || d.change.target) continue;
        const r = ids.get(d.dest);
        if (r?.providerId) d.change = { ...d.change, providerId: r.providerId };
        else record(d.i, { change: d.change, outcome: 'alreadyDone' });
      }
    } catch (e) {
      rethrowAbort();
      for (const d of deletes)
        if (!d.change.providerId && !d.change.target) fail(d, toProviderError(e, 'DescribeRouteEntryList'));
    }
  }
  for (const batch of chunks(
    deletes.filter((d) => !results.has(d.i)),
    deps.batchSize,
  )) {
    let res: { RequestId: string; FailedRouteEntries: S.FailedEntryWire[] } | typeof FENCED;
    try {
      res = await gated((before) =>
        api.call(
          'vpc',
          'DeleteRouteEntries',
          {
            RouteEntries: batch.map((d) => ({
              RouteTableId: table.id,
              DstCidrBlock: d.dest,
              ...(d.change.providerId ? { RouteEntryId: d.change.providerId } : {}),
              ...(d.change.target ? { NextHop: d.change.target } : {}),
            })),
          },
          S.DeleteRouteEntries,
          signal,
          before,
          opts.fenceNow,
        ),
      );
    } catch (e) {
      rethrowAbort();
      for (const d of batch) fail(d, toProviderError(e, 'DeleteRouteEntries'));
      continue;
    }
    if (res === FENCED) break;
    const deleted: string[] = [];
    const failures = new Map(res.FailedRouteEntries.map((f) => [normalise(f.DstCidrBlock) ?? f.DstCidrBlock, f]));
    for (const d of batch) {
      const f = failures.get(d.dest);
      if (!f) {
        record(d.i, { change: d.change, outcome: 'applied', requestId: res.RequestId });
        deleted.push(d.dest);
      } else if (f.FailedCode === NOT_EXIST)
        record(d.i, { change: d.change, outcome: 'alreadyDone', requestId: res.RequestId });
      else
        fail(
          d,
          new ProviderError(
            kindOfEntryFailure(f.FailedCode, f.FailedMessage),
            f.FailedCode,
            `DeleteRouteEntries ${d.dest}: ${f.FailedCode}: ${f.FailedMessage}`,
            { action: 'DeleteRouteEntries', requestId: res.RequestId },
          ),
        );
    }
    await waitSettled(deleted);
  }

  // Replaces: ModifyRouteEntry moves the next hop in place, so the subnet is never without a route.
  for (const r of byOp.replace) {
    try {
      const res = await gated((before) =>
        api.call(
          'vpc',
          'ModifyRouteEntry',
          {
            ...(r.change.providerId
              ? { RouteEntryId: r.change.providerId }
              : { RouteTableId: table.id, DestinationCidrBlock: r.dest }),
            NewNextHopType: 'Instance',
            NewNextHopId: r.change.target,
            RouteEntryName: entryName(deps.cluster, r.dest),
            Description: markDescription(deps.cluster),
          },
          S.RequestOnly,
          signal,
          before,
          opts.fenceNow,
        ),
      );
      if (res === FENCED) break;
      record(r.i, { change: r.change, outcome: 'applied', requestId: res.RequestId });
      await waitSettled([r.dest]);
    } catch (e) {
      rethrowAbort();
      const pe = toProviderError(e, 'ModifyRouteEntry');
      if (pe.code === 'OperationDenied.NextHopNotChanged')
        record(r.i, { change: r.change, outcome: 'alreadyDone', ...(pe.requestId ? { requestId: pe.requestId } : {}) });
      else fail(r, pe);
    }
  }

  // Creates, in the order given (the plan puts the oldest allocations first): at a quota error, stop.
  let quotaError: ProviderError | null = null;
  const duplicates: Array<{ item: Item; requestId: string }> = [];
  for (const batch of chunks(byOp.create, deps.batchSize)) {
    if (quotaError) {
      for (const c of batch) fail(c, quotaError);
      continue;
    }
    let res: { RequestId: string; FailedRouteEntries: S.FailedEntryWire[] } | typeof FENCED;
    try {
      res = await gated((before) =>
        api.call(
          'vpc',
          'CreateRouteEntries',
          {
            RouteEntries: batch.map((c) => ({
              RouteTableId: table.id,
              DstCidrBlock: c.dest,
              NextHop: c.change.target,
              NextHopType: 'Instance',
              Name: entryName(deps.cluster, c.dest),
              Description: markDescription(deps.cluster),
            })),
          },
          S.CreateRouteEntries,
          signal,
          before,
          opts.fenceNow,
        ),
      );
    } catch (e) {
      rethrowAbort();
      const pe = toProviderError(e, 'CreateRouteEntries');
      if (pe.kind === 'quota') quotaError = pe;
      for (const c of batch) fail(c, pe);
      continue;
    }
    if (res === FENCED) break;
    const failures = new Map(res.FailedRouteEntries.map((f) => [normalise(f.DstCidrBlock) ?? f.DstCidrBlock, f]));
    const created: string[] = [];
    for (const c of batch) {
      const f = failures.get(c.dest);
      if (!f || f.FailedCode === MIDDLE_STATUS) {
        record(c.i, { change: c.change, outcome: 'applied', requestId: res.RequestId });
        created.push(c.dest);
      } else if (f.FailedCode === DUPLICATE) {
        duplicates.push({ item: c, requestId: res.RequestId });
      } else {
        const pe = new ProviderError(
          kindOfEntryFailure(f.FailedCode, f.FailedMessage),
          f.FailedCode,
          `CreateRouteEntries ${c.dest}: ${f.FailedCode}: ${f.FailedMessage}`,
          { action: 'CreateRouteEntries', requestId: res.RequestId },
        );
        if (pe.kind === 'quota') quotaError = pe;
        fail(c, pe);
      }
    }
    await waitSettled(created);
  }

  // A duplicate is success only if the existing entry already points where we want it.
  if (duplicates.length > 0) {
    try {
      const routes = new Map((await deps.listRoutes(table, signal)).map((r) => [r.destination, r]));
      for (const { item, requestId } of duplicates) {
        const r = routes.get(item.dest);
        if (r && r.target === item.change.target)
          record(item.i, { change: item.change, outcome: 'alreadyDone', requestId });
        else {
          const holder = r ? r.nextHop : 'an entry that is gone now';
          fail(
            item,
            new ProviderError(
              'alreadyExists',
              DUPLICATE,
              `CreateRouteEntries ${item.dest}: the table already routes it to ${holder}`,
              { action: 'CreateRouteEntries', requestId },
            ),
            requestId,
          );
        }
      }
    } catch (e) {
      rethrowAbort();
      for (const { item } of duplicates) fail(item, toProviderError(e, 'DescribeRouteEntryList'));
    }
  }

  const out: ChangeResult[] = [];
  changes.forEach((change, i) => {
    let r = results.get(i);
    if (!r) {
      r = { change, outcome: 'skipped', ...(fenced ? { error: fenced } : {}) };
      opts.onProgress?.({ type: 'result', table: table.id, result: r });
    }
    out.push(r);
  });
  return out;
}
