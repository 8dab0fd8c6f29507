// AWS adapter on the official SDK (@aws-sdk/client-ec2, client-service-quotas). The SDK's own retries are
// off (maxAttempts 1) so the shared retry policy (providers/retry.ts) alone decides; writes run in bounded
// parallel; a wrong target is fixed with ReplaceRoute (no window without a route).
import {
  CreateRouteCommand,
  DeleteRouteCommand,
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  ReplaceRouteCommand,
  type Filter,
  type RouteTable as Ec2Table,
} from '@aws-sdk/client-ec2';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import {
  FencedError,
  NOOP_OBSERVER,
  ProviderError,
  type ApplyOptions,
  type Change,
  type ChangeResult,
  type CloudAdapter,
  type Instance,
  type InstanceLookup,
  type ProviderContext,
  type Quota,
  type Route,
  type RouteTable,
} from '../types.ts';
import { resolveRetryPolicy, retrying, scaleRetryPolicy, timeScaleOf, type RetryPolicy } from '../retry.ts';
import { collectPages, DEFAULT_MAX_PAGES } from '../../src/lib/paging.ts';
import { forEachBounded } from '../../src/lib/pool.ts';
import type { AwsConfig } from './config.ts';
import { awsCredentials, checkAwsCredentials } from './credentials.ts';
import { malformed, mapAwsError } from './errors.ts';
import { checkTables, isInUse, parseInstancesPage, toRoute } from './parse.ts';
import { onTheWire } from '../wire-fence.ts';
import { EC2_MUTATING_LIMIT, paced, WritePacer, type PaceOutcome, type PaceTicket } from './pacing.ts';

/** EC2's documented default for "Routes per route table" (raised to 500 for new accounts in June 2025). */
export const AWS_DEFAULT_ROUTE_QUOTA = 50;
const ROUTES_QUOTA_CODE = 'L-93826ACB';

/** Knobs tests turn; production uses the defaults. */
export interface AwsInternalOptions {
  /** Wins over ProviderContext.retry. */
  retry?: Partial<RetryPolicy>;
  /** DescribeInstances / DescribeRouteTables page size. */
  pageSize?: number;
  /** Page budget of a listing (EC2 reports no totals; default: src/lib/paging.ts DEFAULT_MAX_PAGES). */
  maxPages?: number;
  requestTimeoutMs?: number;
}

// Disabling source/dest check is idempotent and per instance: once per process is enough.
const sourceDestDone = new Map<string, Promise<void>>();

/** A write's fences: `before` each attempt (async), `now` as its request goes on the wire (sync). */
interface WriteFence {
  before?: () => Promise<void>;
  now?: () => void;
}

export function createAwsProvider(
  config: AwsConfig,
  ctx: ProviderContext,
  internal: AwsInternalOptions = {},
): CloudAdapter {
  const region = config.region;
  const vpcId = config.vpcId;
  const log = ctx.logger.child({ provider: 'aws' });
  const observer = ctx.observer ?? NOOP_OBSERVER;
  const policy = scaleRetryPolicy(resolveRetryPolicy(ctx.retry, internal.retry), timeScaleOf(ctx));
  // Pages of 100 keep each DescribeInstances answer small and cheap against the 100-token describe bucket.
  const pageSize = internal.pageSize ?? 100;
  const maxPages = internal.maxPages ?? DEFAULT_MAX_PAGES;
  const credentials = awsCredentials(config.endpoint);
  const common = {
    region,
    maxAttempts: 1,
    requestHandler: { requestTimeout: internal.requestTimeoutMs ?? 30_000, connectionTimeout: 5_000 },
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  };
  const ec2 = new EC2Client(common);
  const sq = new ServiceQuotasClient(common);
  const cacheScope = config.endpoint ?? region;
  const timeScale = timeScaleOf(ctx);

  // EC2 meters each mutating action with its own bucket per account: one client bucket per action, shared by
  // every apply of this provider, keeps parallel lanes (and parallel tables) inside it from the first call.
  const writeLimit = config.aws?.writeRateLimit ?? EC2_MUTATING_LIMIT;
  const pacers = new Map<string, WritePacer>();
  const pacerFor = (action: string): WritePacer => {
    let p = pacers.get(action);
    if (!p) {
      p = new WritePacer({ now: () => performance.now() * timeScale, limit: writeLimit });
      pacers.set(action, p);
    }
    return p;
  };

  /**
   * One SDK call with observation, error mapping and bounded retries of retryable kinds. Writes wait for a
   * token of their action's pacer before each attempt; `before` (the fence) then runs before every attempt,
   * retries included, after the backoff and the pacing wait: a process paused past its lease wakes up into
   * its retry timers, and each of them must find out before it sends (I4).
   */
  async function call<T>(
    action: string,
    signal: AbortSignal | undefined,
    fn: () => Promise<T>,
    write?: WriteFence,
  ): Promise<T> {
    const pacer = write ? pacerFor(action) : undefined;
    return retrying(
      action,
      async () => {
        let ticket: PaceTicket | undefined;
        if (pacer) {
          ticket = await paced(pacer, timeScale, signal);
          if (write?.before) await write.before();
        }
        const done = (outcome: PaceOutcome) => {
          if (pacer && ticket !== undefined) pacer.release(ticket, outcome);
        };
        const t0 = performance.now();
        try {
          const out = await (write ? onTheWire(write.now, fn) : fn());
          done('ok');
          observer.request(action, 'ok', (performance.now() - t0) / 1000);
          return out;
        } catch (e) {
          if (signal?.aborted) throw signal.reason;
          const pe = mapAwsError(e, action);
          done(pe.kind === 'throttled' ? 'throttled' : 'error');
          observer.request(action, pe.code, (performance.now() - t0) / 1000);
          throw pe;
        }
      },
      { policy, observer, signal, logger: log },
    );
  }

  async function describeTables(
    signal: AbortSignal | undefined,
    input: { RouteTableIds?: string[]; Filters?: Filter[] },
  ) {
    const all: Ec2Table[] = [];
    const paged = input.RouteTableIds === undefined;
    const size = Math.min(100, Math.max(5, pageSize));
    await collectPages(
      async (token) => {
        const out = await call('DescribeRouteTables', signal, () =>
          ec2.send(
            new DescribeRouteTablesCommand({
              ...input,
              ...(paged ? { MaxResults: size } : {}),
              ...(token ? { NextToken: token } : {}),
            }),
            { abortSignal: signal },
          ),
        );
        return {
          items: checkTables(out.RouteTables, 'DescribeRouteTables', out.$metadata.requestId),
          next: out.NextToken,
        };
      },
      (t) => all.push(t),
      {
        pageSize: size,
        key: (t) => t.RouteTableId as string,
        maxPages,
        fail: (why) => malformed('DescribeRouteTables', why),
        signal,
      },
    );
    return all;
  }

  async function listRoutes(table: RouteTable, signal?: AbortSignal): Promise<Route[]> {
    const tables = await describeTables(signal, { RouteTableIds: [table.id] });
    const t = tables.find((x) => x.RouteTableId === table.id);
    if (!t || tables.length !== 1)
      throw malformed(
        'DescribeRouteTables',
        `asked for ${table.id}, got ${tables.map((x) => x.RouteTableId).join(',') || 'nothing'}`,
      );
    // A destination is unique within an EC2 table, so it is the route's identity: the same route listed twice
    // is one route, two different routes for one destination are a broken answer.
    const byDest = new Map<string, Route>();
    for (const raw of t.Routes ?? []) {
      const r = toRoute(table.id, raw);
      const seen = byDest.get(r.destination);
      if (seen && (seen.nextHop !== r.nextHop || seen.state !== r.state))
        throw malformed(
          'DescribeRouteTables',
          `route table ${table.id} lists ${r.destination} twice, to ${seen.nextHop} and ${r.nextHop}`,
        );
      byDest.set(r.destination, seen ?? r);
    }
    const routes = [...byDest.values()];
    // Every VPC route table carries its local route: a table without one is a broken answer, not an empty table.
    if (!routes.some((r) => r.nextHop === 'local'))
      throw malformed('DescribeRouteTables', `route table ${table.id} has no local route`);
    return routes;
  }

  async function ensureSourceDestOff(instanceId: string, signal: AbortSignal, fence: WriteFence): Promise<void> {
    const key = `${cacheScope}|${instanceId}`;
    let p = sourceDestDone.get(key);
    if (!p) {
      p = (async () => {
        await call(
          'ModifyInstanceAttribute',
          signal,
          () =>
            ec2.send(
              new ModifyInstanceAttributeCommand({ InstanceId: instanceId, SourceDestCheck: { Value: false } }),
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

  async function findRoute(tableId: string, destination: string, signal: AbortSignal): Promise<Route | undefined> {
    const routes = await listRoutes({ id: tableId }, signal);
    return routes.find((r) => r.destination === destination);
  }

  async function quota(table: RouteTable, signal?: AbortSignal, listed?: readonly Route[]): Promise<Quota> {
    const routes = listed ?? (await listRoutes(table, signal));
    const used = routes.filter((r) => r.nextHop !== 'local').length;
    try {
      const out = await call('GetServiceQuota', signal, () =>
        sq.send(new GetServiceQuotaCommand({ ServiceCode: 'vpc', QuotaCode: ROUTES_QUOTA_CODE }), {
          abortSignal: signal,
        }),
      );
      const v = out.Quota?.Value;
      if (typeof v === 'number' && Number.isFinite(v) && v > 0)
        return { limit: Math.floor(v), used, source: 'api', scope: 'table' };
      log.warn(
        { requestId: out.$metadata.requestId },
        'Service Quotas answered without a value for Routes per route table',
      );
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      // No servicequotas:GetServiceQuota permission is common; the configured or documented value stands in.
      log.warn(
        { code: e instanceof ProviderError ? e.code : String(e) },
        'Service Quotas lookup failed; using the configured or default route quota',
      );
    }
    if (config.routeQuota !== undefined) return { limit: config.routeQuota, used, source: 'config', scope: 'table' };
    return { limit: AWS_DEFAULT_ROUTE_QUOTA, used, source: 'default', scope: 'table' };
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
    let fencedError: FencedError | undefined;
    let quotaError: ProviderError | undefined;
    const fence = async () => {
      if (fencedError) throw fencedError;
      try {
        await opts.fence?.();
      } catch (e) {
        fencedError ??= new FencedError(e);
        throw fencedError;
      }
    };
    const writeFence: WriteFence = { before: fence, ...(opts.fenceNow ? { now: opts.fenceNow } : {}) };
    const write = <T>(action: string, fn: () => Promise<T>) => call(action, signal, fn, writeFence);
    const rid = (out: { $metadata: { requestId?: string } }) =>
      out.$metadata.requestId ? { requestId: out.$metadata.requestId } : {};

    // Creates never run more in parallel than the table has room for: near the limit they go one at a
    // time, so a full table costs one refused call, not one per lane. The room is an estimate (another
    // writer may share the table), hence one probe is always allowed.
    let headroom = !changes.some((c) => c.op !== 'delete')
      ? Infinity
      : opts.quota
        ? opts.quota.limit - opts.quota.used
        : await roomIn(table, signal);
    let creating = 0;
    let wake: Array<() => void> = [];
    const admit = async (): Promise<boolean> => {
      while (creating > 0 && creating >= Math.max(1, headroom)) await new Promise<void>((r) => wake.push(r));
      if (quotaError) return false;
      creating++;
      return true;
    };
    const release = (created: boolean) => {
      creating--;
      if (created) headroom--;
      const w = wake;
      wake = [];
      for (const r of w) r();
    };

    async function create(c: Change, target: string): Promise<ChangeResult> {
      if (quotaError || !(await admit())) return { change: c, outcome: 'failed', error: quotaError as ProviderError };
      let created = false;
      try {
        await ensureSourceDestOff(target, signal, writeFence);
        const out = await write('CreateRoute', () =>
          ec2.send(
            new CreateRouteCommand({ RouteTableId: table.id, DestinationCidrBlock: c.destination, InstanceId: target }),
            { abortSignal: signal },
          ),
        );
        created = true;
        return { change: c, outcome: 'applied', ...rid(out) };
      } catch (e) {
        // Lost leadership is not this change's failure: the caller skips it and everything after it.
        if (!(e instanceof ProviderError) || e instanceof FencedError) throw e;
        if (e.kind === 'quota') {
          quotaError ??= e;
          return { change: c, outcome: 'failed', error: e };
        }
        if (e.kind === 'alreadyExists') {
          // Also what a retried create whose first answer was lost sees: success only if it is really ours.
          const existing = await findRoute(table.id, c.destination, signal);
          if (existing && existing.target === target && existing.state === 'active')
            return { change: c, outcome: 'alreadyDone' };
        }
        return { change: c, outcome: 'failed', error: e };
      } finally {
        release(created);
      }
    }

    async function one(c: Change): Promise<ChangeResult> {
      if (fencedError) return { change: c, outcome: 'skipped', error: fencedError };
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
        if (c.op === 'delete') {
          try {
            const out = await write('DeleteRoute', () =>
              ec2.send(new DeleteRouteCommand({ RouteTableId: table.id, DestinationCidrBlock: c.destination }), {
                abortSignal: signal,
              }),
            );
            headroom++;
            return { change: c, outcome: 'applied', ...rid(out) };
          } catch (e) {
            if (e instanceof ProviderError && e.kind === 'notFound') return { change: c, outcome: 'alreadyDone' };
            throw e;
          }
        }
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
        if (c.op === 'create') return await create(c, target);
        await ensureSourceDestOff(target, signal, writeFence);
        try {
          const out = await write('ReplaceRoute', () =>
            ec2.send(
              new ReplaceRouteCommand({
                RouteTableId: table.id,
                DestinationCidrBlock: c.destination,
                InstanceId: target,
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
            return await create(c, target);
          }
          throw e;
        }
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        if (e instanceof FencedError) return { change: c, outcome: 'skipped', error: e };
        if (e instanceof ProviderError) return { change: c, outcome: 'failed', error: e };
        throw e;
      }
    }

    opts.onProgress?.({ type: 'start', table: table.id, total: changes.length });
    await forEachBounded(
      changes.map((_, i) => i),
      config.concurrency,
      async (i) => {
        const r = await one(changes[i] as Change);
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

  return {
    kind: 'aws',

    async listInstances(signal) {
      const { key, value } = config.instanceFilter;
      const out: Instance[] = [];
      const size = Math.min(1000, Math.max(5, pageSize));
      await collectPages(
        async (token) => {
          const page = await call('DescribeInstances', signal, async () =>
            parseInstancesPage(
              await ec2.send(
                new DescribeInstancesCommand({
                  Filters: [{ Name: `tag:${key}`, Values: [value] }],
                  MaxResults: size,
                  ...(token ? { NextToken: token } : {}),
                }),
                {
                  abortSignal: signal,
                },
              ),
            ),
          );
          return { items: page.instances, next: page.nextToken };
        },
        (i) => {
          // Terminated instances have left the VPC (no vpcId); they stay listed so their routes are explained.
          if (i.vpcId !== undefined && i.vpcId !== vpcId) return;
          const { vpcId: _v, ...inst } = i;
          out.push(inst);
        },
        { pageSize: size, key: (i) => i.id, maxPages, fail: (why) => malformed('DescribeInstances', why), signal },
      );
      return out;
    },

    async lookupInstances(ids, signal) {
      const out = new Map<string, InstanceLookup>();
      // By InstanceIds, without filters: EC2 answers every id it knows (terminated ones for about an hour)
      // and refuses the whole call with InvalidInstanceID.NotFound if one id is unknown, so a refused batch
      // is asked again id by id to learn which. A failed call is never read as "not found".
      async function ask(batch: readonly string[]): Promise<void> {
        let page;
        try {
          page = await call('DescribeInstances', signal, async () =>
            parseInstancesPage(
              await ec2.send(new DescribeInstancesCommand({ InstanceIds: [...batch] }), { abortSignal: signal }),
            ),
          );
        } catch (e) {
          if (!(e instanceof ProviderError && e.code === 'InvalidInstanceID.NotFound')) throw e;
          if (batch.length === 1) {
            out.set(batch[0] as string, 'notFound');
            return;
          }
          for (const id of batch) await ask([id]);
          return;
        }
        if (page.nextToken)
          throw malformed('DescribeInstances', `a lookup of ${batch.length} id(s) answered with a further page`);
        for (const i of page.instances) if (batch.includes(i.id)) out.set(i.id, i.state);
        const unanswered = batch.filter((id) => !out.has(id));
        // EC2 either lists an id asked for or refuses the call: silence about one is a broken answer.
        if (unanswered.length > 0)
          throw malformed('DescribeInstances', `a lookup by id left out ${unanswered.join(', ')}`);
      }
      for (let i = 0; i < ids.length; i += 100) await ask(ids.slice(i, i + 100));
      return out;
    },

    async routeTables(signal) {
      if (config.routeTableIds && config.routeTableIds.length > 0) {
        const ids = config.routeTableIds;
        const tables = await describeTables(signal, { RouteTableIds: ids });
        return ids.map((id) => {
          const t = tables.find((x) => x.RouteTableId === id);
          if (!t) throw malformed('DescribeRouteTables', `configured table ${id} missing from the answer`);
          if (t.VpcId !== vpcId) {
            throw new ProviderError(
              'invalid',
              'WrongVpc',
              `provider.routeTableIds: ${id} belongs to ${String(t.VpcId)}, not provider.vpcId ${vpcId}`,
              {
                action: 'DescribeRouteTables',
              },
            );
          }
          return { id, vpcId };
        });
      }
      const tables = (await describeTables(signal, { Filters: [{ Name: 'vpc-id', Values: [vpcId] }] })).filter(isInUse);
      // Every VPC has a main table: finding none means the VPC id is wrong, not that there is nothing to do.
      if (tables.length === 0)
        throw new ProviderError('notFound', 'NoRouteTables', `no route tables in vpc ${vpcId} (check provider.vpcId)`, {
          action: 'DescribeRouteTables',
        });
      return tables.map((t) => ({ id: t.RouteTableId as string, vpcId }));
    },

    listRoutes,

    quota,

    apply,

    preflight: () => checkAwsCredentials(() => ec2.config.credentials()),

    async close() {
      ec2.destroy();
      sq.destroy();
    },
  };
}
