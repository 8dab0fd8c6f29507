// AWS adapter on the official SDK (@aws-sdk/client-ec2, client-service-quotas). The SDK's own retries are
// off (maxAttempts 1) so the shared retry policy (providers/retry.ts) alone decides; writes run in bounded
// parallel; a wrong target is fixed with ReplaceRoute (no window without a route).
import { DescribeRouteTablesCommand, EC2Client, type Filter, type RouteTable as Ec2Table } from '@aws-sdk/client-ec2';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import {
  NOOP_OBSERVER,
  ProviderError,
  type CloudAdapter,
  type ProviderContext,
  type Quota,
  type Route,
  type RouteTable,
} from '../types.ts';
import { resolveRetryPolicy, retrying, scaleRetryPolicy, timeScaleOf, type RetryPolicy } from '../retry.ts';
import { collectPages, DEFAULT_MAX_PAGES } from '../../src/lib/paging.ts';
import type { AwsConfig } from './config.ts';
import { awsApply, type AwsSession, type WriteFence } from './apply.ts';
import { awsInventory } from './inventory.ts';
import { awsCredentials, checkAwsCredentials } from './credentials.ts';
import { malformed, mapAwsError } from './errors.ts';
import { checkTables, isInUse, toRoute } from './parse.ts';
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

  const session: AwsSession = { config, log, ec2, call, pageSize, maxPages, cacheScope };
  const { listInstances, lookupInstances } = awsInventory(session);
  const apply = awsApply(session, { quota, findRoute });
  return {
    kind: 'aws',
    listInstances,
    lookupInstances,

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
