// Applying one table's changes on AWS: bounded parallel writes, each paced under its action's EC2 bucket and
// fenced before every attempt; creates held to the table's room; a wrong target fixed by ReplaceRoute (no gap).
// Every route goes to the target instance's primary ENI (device index 0) by NetworkInterfaceId, and the
// source/dest check is turned off on that ENI: EC2 refuses both by InstanceId for an instance with several
// ENIs (InvalidInstanceID, kubernetes/kubernetes#70924).
import {
  CreateRouteCommand,
  DeleteRouteCommand,
  ModifyNetworkInterfaceAttributeCommand,
  ReplaceRouteCommand,
} from '@aws-sdk/client-ec2';
import { forEachBounded } from '../../src/lib/pool.ts';
import {
  type ApplyOptions,
  type Change,
  type ChangeResult,
  FencedError,
  ProviderError,
  type Quota,
  type Route,
  type RouteTable,
} from '../types.ts';
import { learnPrimaryEnis } from './eni-lookups.ts';
import type { AwsSession, WriteFence } from './session.ts';

// Disabling source/dest check is idempotent and per ENI: once per process is enough.
const sourceDestDone = new Map<string, Promise<void>>();

interface Reads {
  quota(table: RouteTable, signal?: AbortSignal): Promise<Quota>;
  findRoute(tableId: string, destination: string, signal: AbortSignal): Promise<Route | undefined>;
}

export function awsApply(s: AwsSession, reads: Reads) {
  const { config, log, ec2, call, cacheScope } = s;
  const { quota, findRoute } = reads;

  async function ensureSourceDestOff(eni: string, signal: AbortSignal, fence: WriteFence): Promise<void> {
    const key = `${cacheScope}|${eni}`;
    let p = sourceDestDone.get(key);
    if (!p) {
      p = (async () => {
        await call(
          'ModifyNetworkInterfaceAttribute',
          signal,
          () =>
            ec2.send(
              new ModifyNetworkInterfaceAttributeCommand({
                NetworkInterfaceId: eni,
                SourceDestCheck: { Value: false },
              }),
              { abortSignal: signal },
            ),
          fence,
        );
      })();
      sourceDestDone.set(key, p);
      p.catch(() => sourceDestDone.delete(key));
    }
    await p;
  }

  /** Free route slots in the table; unknown (a failed read) means no parallelism limit, not zero. */
  async function roomIn(table: RouteTable, signal: AbortSignal): Promise<number> {
    try {
      const q = await quota(table, signal);
      return q.limit - q.used;
    } catch (e) {
      if (signal.aborted) throw signal.reason;
      log.warn(
        { table: table.id, code: e instanceof ProviderError ? e.code : String(e) },
        'could not read the route quota before applying',
      );
      return Infinity;
    }
  }

  async function apply(table: RouteTable, changes: Change[], opts: ApplyOptions): Promise<ChangeResult[]> {
    const { signal } = opts;
    if (signal.aborted) throw signal.reason;
    const results: ChangeResult[] = new Array(changes.length);
    // Creates never run more in parallel than the table has room for: near the limit they go one at a
    // time, so a full table costs one refused call, not one per lane. The room is an estimate (another
    // writer may share the table), hence one probe is always allowed.
    const headroom = !changes.some((c) => c.op !== 'delete')
      ? Infinity
      : opts.quota
        ? opts.quota.limit - opts.quota.used
        : await roomIn(table, signal);
    // Each target's primary ENI before any write: a failed lookup fails those changes, it does not throw.
    let lookupError: ProviderError | undefined;
    try {
      const targets = changes.flatMap((c) => (c.op !== 'delete' && c.target !== null ? [c.target] : []));
      await learnPrimaryEnis(s, targets, signal);
    } catch (e) {
      if (signal.aborted) throw signal.reason;
      if (!(e instanceof ProviderError)) throw e;
      lookupError = e;
    }
    const run = new ApplyRun({ s, ensureSourceDestOff, findRoute, lookupError }, table, opts, headroom);
    opts.onProgress?.({ type: 'start', table: table.id, total: changes.length });
    await forEachBounded(
      changes.map((_, i) => i),
      config.concurrency,
      async (i) => {
        const r = await run.one(changes[i] as Change);
        results[i] = r;
        if (r.outcome === 'failed')
          log.warn(
            {
              table: table.id,
              op: r.change.op,
              destination: r.change.destination,
              code: r.error?.code,
              requestId: r.error?.requestId,
            },
            'route change failed',
          );
        opts.onProgress?.({ type: 'result', table: table.id, result: r });
      },
      signal,
    );
    if (signal.aborted) throw signal.reason;
    return results;
  }

  return apply;
}

interface RunDeps {
  s: AwsSession;
  ensureSourceDestOff(eni: string, signal: AbortSignal, fence: WriteFence): Promise<void>;
  findRoute: Reads['findRoute'];
  /** Why the targets' ENIs could not be looked up, if they could not. */
  lookupError: ProviderError | undefined;
}

const rid = (out: { $metadata: { requestId?: string } }) =>
  out.$metadata.requestId ? { requestId: out.$metadata.requestId } : {};

/** One apply on one table: what its lanes learn (fence refused, quota gone, room used) the others see. */
class ApplyRun {
  private fencedError: FencedError | undefined;
  private quotaError: ProviderError | undefined;
  private creating = 0;
  private wake: Array<() => void> = [];
  private readonly signal: AbortSignal;
  private readonly writeFence: WriteFence;
  private readonly deps: RunDeps;
  private readonly table: RouteTable;
  private readonly opts: ApplyOptions;
  /** Free slots in the table, as far as this apply knows. */
  private headroom: number;

  constructor(deps: RunDeps, table: RouteTable, opts: ApplyOptions, headroom: number) {
    this.deps = deps;
    this.table = table;
    this.opts = opts;
    this.headroom = headroom;
    this.signal = opts.signal;
    this.writeFence = { before: () => this.fence(), ...(opts.fenceNow ? { now: opts.fenceNow } : {}) };
  }

  /** The caller's fence, once refused always refused: every later write of this apply sees the same error. */
  private async fence(): Promise<void> {
    if (this.fencedError) throw this.fencedError;
    try {
      await this.opts.fence?.();
    } catch (e) {
      this.fencedError ??= new FencedError(e);
      throw this.fencedError;
    }
  }

  private write<T>(action: string, fn: () => Promise<T>): Promise<T> {
    return this.deps.s.call(action, this.signal, fn, this.writeFence);
  }

  private async admit(): Promise<boolean> {
    while (this.creating > 0 && this.creating >= Math.max(1, this.headroom))
      await new Promise<void>((r) => this.wake.push(r));
    if (this.quotaError) return false;
    this.creating++;
    return true;
  }

  private release(created: boolean): void {
    this.creating--;
    if (created) this.headroom--;
    const w = this.wake;
    this.wake = [];
    for (const r of w) r();
  }

  private async create(c: Change, target: string, eni: string): Promise<ChangeResult> {
    const { ec2 } = this.deps.s;
    const { table, signal } = this;
    if (this.quotaError || !(await this.admit()))
      return { change: c, outcome: 'failed', error: this.quotaError as ProviderError };
    let created = false;
    try {
      await this.deps.ensureSourceDestOff(eni, signal, this.writeFence);
      const out = await this.write('CreateRoute', () =>
        ec2.send(
          new CreateRouteCommand({
            RouteTableId: table.id,
            DestinationCidrBlock: c.destination,
            NetworkInterfaceId: eni,
          }),
          { abortSignal: signal },
        ),
      );
      created = true;
      return { change: c, outcome: 'applied', ...rid(out) };
    } catch (e) {
      // Lost leadership is not this change's failure: the caller skips it and everything after it.
      if (!(e instanceof ProviderError) || e instanceof FencedError) throw e;
      if (e.kind === 'quota') {
        this.quotaError ??= e;
        return { change: c, outcome: 'failed', error: e };
      }
      if (e.kind === 'alreadyExists') {
        // Also what a retried create whose first answer was lost sees: success only if it is really ours.
        const existing = await this.deps.findRoute(table.id, c.destination, signal);
        if (existing && existing.target === target && existing.state === 'active')
          return { change: c, outcome: 'alreadyDone' };
      }
      return { change: c, outcome: 'failed', error: e };
    } finally {
      this.release(created);
    }
  }

  async one(c: Change): Promise<ChangeResult> {
    const { table, signal } = this;
    if (this.fencedError) return { change: c, outcome: 'skipped', error: this.fencedError };
    if (c.table !== table.id) {
      return {
        change: c,
        outcome: 'failed',
        error: new ProviderError('invalid', 'WrongTable', `change for ${c.table} given to apply on ${table.id}`, {
          action: c.op,
        }),
      };
    }
    try {
      if (c.op === 'delete') return await this.delete(c);
      const target = c.target;
      if (target === null) {
        return {
          change: c,
          outcome: 'failed',
          error: new ProviderError('invalid', 'NoTarget', `${c.op} ${c.destination}: no target instance`, {
            action: c.op,
          }),
        };
      }
      const eni = this.deps.s.enis.primaryOf(target);
      if (eni === undefined) {
        return {
          change: c,
          outcome: 'failed',
          error:
            this.deps.lookupError ??
            new ProviderError(
              'notFound',
              'NoPrimaryInterface',
              `${c.op} ${c.destination}: instance ${target} has no primary network interface (device index 0); is it terminated?`,
              { action: c.op },
            ),
        };
      }
      if (c.op === 'create') return await this.create(c, target, eni);
      return await this.replace(c, target, eni);
    } catch (e) {
      if (signal.aborted) throw signal.reason;
      if (e instanceof FencedError) return { change: c, outcome: 'skipped', error: e };
      if (e instanceof ProviderError) return { change: c, outcome: 'failed', error: e };
      throw e;
    }
  }

  private async delete(c: Change): Promise<ChangeResult> {
    const { ec2 } = this.deps.s;
    const { table, signal } = this;
    try {
      const out = await this.write('DeleteRoute', () =>
        ec2.send(new DeleteRouteCommand({ RouteTableId: table.id, DestinationCidrBlock: c.destination }), {
          abortSignal: signal,
        }),
      );
      this.headroom++;
      return { change: c, outcome: 'applied', ...rid(out) };
    } catch (e) {
      if (e instanceof ProviderError && e.kind === 'notFound') return { change: c, outcome: 'alreadyDone' };
      throw e;
    }
  }

  /** ReplaceRoute moves the target in place: the subnet is never without a route. */
  private async replace(c: Change, target: string, eni: string): Promise<ChangeResult> {
    const { ec2 } = this.deps.s;
    const { table, signal } = this;
    await this.deps.ensureSourceDestOff(eni, signal, this.writeFence);
    try {
      const out = await this.write('ReplaceRoute', () =>
        ec2.send(
          new ReplaceRouteCommand({
            RouteTableId: table.id,
            DestinationCidrBlock: c.destination,
            NetworkInterfaceId: eni,
          }),
          { abortSignal: signal },
        ),
      );
      return { change: c, outcome: 'applied', ...rid(out) };
    } catch (e) {
      // The route vanished since the plan was made: creating it is the same end state.
      if (
        e instanceof ProviderError &&
        (e.code === 'InvalidParameterValue' || e.code === 'InvalidRoute.NotFound') &&
        e.kind === 'notFound'
      ) {
        return await this.create(c, target, eni);
      }
      throw e;
    }
  }
}
