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

type BatchAnswer = { RequestId: string; FailedRouteEntries: S.FailedEntryWire[] };
const FENCED = Symbol('fenced');

export async function applyChanges(
  deps: ApplyDeps,
  table: RouteTable,
  changes: Change[],
  opts: ApplyOptions,
): Promise<ChangeResult[]> {
  opts.onProgress?.({ type: 'start', table: table.id, total: changes.length });
  opts.signal.throwIfAborted();
  const run = new AliyunApplyRun(deps, table, opts);
  const byOp = run.sort(changes);
  // Deletes first: they free quota for the creates.
  await run.deletes(byOp.delete);
  // Replaces: ModifyRouteEntry moves the next hop in place, so the subnet is never without a route.
  await run.replaces(byOp.replace);
  // Creates, in the order given (the plan puts the oldest allocations first): at a quota error, stop.
  await run.resolveDuplicates(await run.creates(byOp.create));
  return run.outcome(changes);
}

/** One apply on one table: the results so far, the fence's state, and one method per kind of change. */
class AliyunApplyRun {
  private readonly results = new Map<number, ChangeResult>();
  private fenced: FencedError | undefined;
  private readonly signal: AbortSignal;
  private readonly waitSettled: (dests: string[]) => Promise<void>;

  private readonly deps: ApplyDeps;
  private readonly table: RouteTable;
  private readonly opts: ApplyOptions;

  constructor(deps: ApplyDeps, table: RouteTable, opts: ApplyOptions) {
    this.deps = deps;
    this.table = table;
    this.opts = opts;
    this.signal = opts.signal;
    this.waitSettled = settler(deps, table, opts);
  }

  private record(i: number, r: ChangeResult): void {
    this.results.set(i, r);
    this.opts.onProgress?.({ type: 'result', table: this.table.id, result: r });
  }

  private fail(it: Item, error: ProviderError, requestId?: string): void {
    this.record(it.i, {
      change: it.change,
      outcome: 'failed',
      error,
      ...((requestId ?? error.requestId) ? { requestId: requestId ?? error.requestId } : {}),
    });
  }

  private rethrowAbort(): void {
    if (this.signal.aborted) throw this.signal.reason;
  }

  /** Checks each change against this table and sorts them by op; a bad one fails on its own. */
  sort(changes: Change[]): Record<Change['op'], Item[]> {
    const byOp: Record<Change['op'], Item[]> = { create: [], replace: [], delete: [] };
    const { table } = this;
    changes.forEach((change, i) => {
      const dest = normalise(change.destination);
      const bad = (msg: string) =>
        this.record(i, {
          change,
          outcome: 'failed',
          error: new ProviderError('invalid', 'InvalidChange', msg, { action: 'apply' }),
        });
      if (change.table !== table.id)
        return bad(`change.table: ${change.table} is not the table being applied (${table.id})`);
      if (dest === null)
        return bad(`change.destination: ${JSON.stringify(change.destination)} is not a valid IPv4 CIDR`);
      if (change.op !== 'delete' && !change.target)
        return bad(`change.target: a ${change.op} needs the instance id to route to`);
      byOp[change.op].push({ i, change, dest });
    });
    return byOp;
  }

  private async fenceOk(): Promise<boolean> {
    if (this.fenced) return false;
    try {
      await this.opts.fence?.();
      return true;
    } catch (e) {
      this.fenced = new FencedError(e);
      this.deps.logger.warn(
        { table: this.table.id, err: String(e) },
        'aliyun apply: fence refused, skipping the remaining changes',
      );
      return false;
    }
  }

  /**
   * One write through the VPC's gate. `write` hands `before` to AliyunApi.call, which runs it before every
   * attempt (retries included, after their backoff), so the fence is as close to each request as it can be
   * (I4). A refusal before the first attempt frees the gate at once; after one was sent the window holds.
   */
  private gated<T>(write: (before: () => Promise<void>) => Promise<T>): Promise<T | typeof FENCED> {
    return this.deps.gate.run<T | typeof FENCED>(async () => {
      let sent = false;
      const before = async () => {
        if (!(await this.fenceOk())) throw this.fenced;
        sent = true;
      };
      try {
        return { sent: true, value: await write(before) };
      } catch (e) {
        if (e instanceof FencedError) return { sent, value: FENCED };
        throw e;
      }
    }, this.signal);
  }

  /** A batch call through the gate, fenced; FENCED when the fence refused it. */
  private batch(
    action: string,
    params: Record<string, unknown>,
    schema: typeof S.CreateRouteEntries | typeof S.DeleteRouteEntries,
  ) {
    return this.gated((before) =>
      this.deps.api.call('vpc', action, params, schema, this.signal, before, this.opts.fenceNow),
    ) as Promise<BatchAnswer | typeof FENCED>;
  }

  /** Without an id or a next hop the batch API cannot name the entry: look the ids up once. */
  private async lookUpDeleteIds(deletes: Item[]): Promise<void> {
    if (!deletes.some((d) => !d.change.providerId && !d.change.target)) return;
    try {
      const routes = await this.deps.listRoutes(this.table, this.signal);
      const ids = new Map(routes.map((r) => [r.destination, r]));
      for (const d of deletes) {
        if (d.change.providerId || d.change.target) continue;
        const r = ids.get(d.dest);
        if (r?.providerId) d.change = { ...d.change, providerId: r.providerId };
        else this.record(d.i, { change: d.change, outcome: 'alreadyDone' });
      }
    } catch (e) {
      this.rethrowAbort();
      for (const d of deletes)
        if (!d.change.providerId && !d.change.target) this.fail(d, toProviderError(e, 'DescribeRouteEntryList'));
    }
  }

  async deletes(deletes: Item[]): Promise<void> {
    await this.lookUpDeleteIds(deletes);
    const { table } = this;
    for (const batch of chunks(
      deletes.filter((d) => !this.results.has(d.i)),
      this.deps.batchSize,
    )) {
      let res: BatchAnswer | typeof FENCED;
      try {
        res = await this.batch(
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
        );
      } catch (e) {
        this.rethrowAbort();
        for (const d of batch) this.fail(d, toProviderError(e, 'DeleteRouteEntries'));
        continue;
      }
      if (res === FENCED) break;
      const deleted: string[] = [];
      const failures = failuresByDest(res);
      for (const d of batch) {
        const f = failures.get(d.dest);
        if (!f) {
          this.record(d.i, { change: d.change, outcome: 'applied', requestId: res.RequestId });
          deleted.push(d.dest);
        } else if (f.FailedCode === NOT_EXIST)
          this.record(d.i, { change: d.change, outcome: 'alreadyDone', requestId: res.RequestId });
        else this.fail(d, entryFailure('DeleteRouteEntries', d.dest, f, res.RequestId));
      }
      await this.waitSettled(deleted);
    }
  }

  async replaces(replaces: Item[]): Promise<void> {
    const { table, deps } = this;
    for (const r of replaces) {
      try {
        const res = await this.gated((before) =>
          deps.api.call(
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
            this.signal,
            before,
            this.opts.fenceNow,
          ),
        );
        if (res === FENCED) break;
        this.record(r.i, { change: r.change, outcome: 'applied', requestId: res.RequestId });
        await this.waitSettled([r.dest]);
      } catch (e) {
        this.rethrowAbort();
        const pe = toProviderError(e, 'ModifyRouteEntry');
        if (pe.code === 'OperationDenied.NextHopNotChanged')
          this.record(r.i, {
            change: r.change,
            outcome: 'alreadyDone',
            ...(pe.requestId ? { requestId: pe.requestId } : {}),
          });
        else this.fail(r, pe);
      }
    }
  }

  /** Creates in batches; returns the entries the table already had (to be judged by resolveDuplicates). */
  async creates(creates: Item[]): Promise<Array<{ item: Item; requestId: string }>> {
    const { table, deps } = this;
    let quotaError: ProviderError | null = null;
    const duplicates: Array<{ item: Item; requestId: string }> = [];
    for (const batch of chunks(creates, deps.batchSize)) {
      if (quotaError) {
        for (const c of batch) this.fail(c, quotaError);
        continue;
      }
      let res: BatchAnswer | typeof FENCED;
      try {
        res = await this.batch(
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
        );
      } catch (e) {
        this.rethrowAbort();
        const pe = toProviderError(e, 'CreateRouteEntries');
        if (pe.kind === 'quota') quotaError = pe;
        for (const c of batch) this.fail(c, pe);
        continue;
      }
      if (res === FENCED) break;
      const failures = failuresByDest(res);
      const created: string[] = [];
      for (const c of batch) {
        const f = failures.get(c.dest);
        if (!f || f.FailedCode === MIDDLE_STATUS) {
          this.record(c.i, { change: c.change, outcome: 'applied', requestId: res.RequestId });
          created.push(c.dest);
        } else if (f.FailedCode === DUPLICATE) {
          duplicates.push({ item: c, requestId: res.RequestId });
        } else {
          const pe = entryFailure('CreateRouteEntries', c.dest, f, res.RequestId);
          if (pe.kind === 'quota') quotaError = pe;
          this.fail(c, pe);
        }
      }
      await this.waitSettled(created);
    }
    return duplicates;
  }

  /** A duplicate is success only if the existing entry already points where we want it. */
  async resolveDuplicates(duplicates: Array<{ item: Item; requestId: string }>): Promise<void> {
    if (duplicates.length === 0) return;
    try {
      const routes = new Map((await this.deps.listRoutes(this.table, this.signal)).map((r) => [r.destination, r]));
      for (const { item, requestId } of duplicates) {
        const r = routes.get(item.dest);
        if (r && r.target === item.change.target)
          this.record(item.i, { change: item.change, outcome: 'alreadyDone', requestId });
        else {
          const holder = r ? r.nextHop : 'an entry that is gone now';
          this.fail(
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
      this.rethrowAbort();
      for (const { item } of duplicates) this.fail(item, toProviderError(e, 'DescribeRouteEntryList'));
    }
  }

  /** One result per change, in order; what was never tried is skipped (with the fence's error if it refused). */
  outcome(changes: Change[]): ChangeResult[] {
    return changes.map((change, i) => {
      const done = this.results.get(i);
      if (done) return done;
      const r: ChangeResult = { change, outcome: 'skipped', ...(this.fenced ? { error: this.fenced } : {}) };
      this.opts.onProgress?.({ type: 'result', table: this.table.id, result: r });
      return r;
    });
  }
}

function failuresByDest(res: BatchAnswer): Map<string, S.FailedEntryWire> {
  return new Map(res.FailedRouteEntries.map((f) => [normalise(f.DstCidrBlock) ?? f.DstCidrBlock, f]));
}

function entryFailure(action: string, dest: string, f: S.FailedEntryWire, requestId: string): ProviderError {
  return new ProviderError(
    kindOfEntryFailure(f.FailedCode, f.FailedMessage),
    f.FailedCode,
    `${action} ${dest}: ${f.FailedCode}: ${f.FailedMessage}`,
    { action, requestId },
  );
}
