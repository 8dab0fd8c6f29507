// CloudProvider for Alibaba Cloud on the official @alicloud/pop-core RPC client: ECS DescribeInstances for
// the inventory, VPC route tables and entries, Quota Center for the per-table entry quota.
import { sleep } from '../../src/lib/clock.ts';
import { isCidr } from '../../src/lib/cidr.ts';
import { collectPages, DEFAULT_MAX_PAGES } from '../../src/lib/paging.ts';
import {
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
import { applyChanges, type SettlePolicy } from './apply.ts';
import { DEFAULT_SETTLE } from './settle.ts';
import { createTaskGate } from './vpc-gate.ts';
import { resolveRetryPolicy, scaleMs, scaleRetryPolicy, timeScaleOf, type RetryPolicy } from '../retry.ts';
import { AliyunApi } from './client.ts';
import type { AliyunConfig } from './config.ts';
import { malformed, toProviderError } from './errors.ts';
import { toRoute } from './mark.ts';
import * as S from './schemas.ts';

/** Alibaba's documented default: 200 custom entries per route table. */
export const DEFAULT_ROUTE_QUOTA = 200;
/** CreateRouteEntries / DeleteRouteEntries take at most 50 entries per call. */
export const MAX_BATCH = 50;
const QUOTA_ACTION = 'vpc_quota_route_entrys_num';
const PAGE = 100;

/** Knobs tests turn down; the defaults are the production ones. */
export interface AliyunInternalOptions {
  /** Wins over ProviderContext.retry. */
  retry?: Partial<RetryPolicy>;
  requestTimeoutMs?: number;
  /** Cloud milliseconds, like the defaults: divided by ProviderContext.timeScale. */
  settle?: Partial<SettlePolicy>;
  /** Cloud milliseconds a VPC refuses other tables' batches after a write (its task window): writes wait it out. */
  taskWindowMs?: number;
  batchSize?: number;
  /** Page budget of a listing whose API reports no total (default: src/lib/paging.ts DEFAULT_MAX_PAGES). */
  maxPages?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** A route task keeps the VPC busy for about a second after the write is answered. */
const DEFAULT_TASK_WINDOW_MS = 1000;

const STATES: Record<string, Instance['state']> = {
  Pending: 'pending',
  Starting: 'pending',
  Running: 'running',
  Stopping: 'stopping',
  Stopped: 'stopped',
};

/**
 * An entry's destination is an IPv4 CIDR, an IPv6 CIDR or a prefix list id (`pl-…`); anything else is a
 * broken answer, never a route to plan with.
 */
function checkDestination(dest: string, tableId: string, requestId: string): void {
  if (isCidr(dest) || dest.includes(':') || /^pl-[a-z0-9]+$/.test(dest)) return;
  throw malformed(
    'DescribeRouteEntryList',
    `an entry of ${tableId} has destination ${JSON.stringify(dest)}, not a CIDR`,
    requestId,
  );
}

export function createAliyunProvider(
  config: AliyunConfig,
  ctx: ProviderContext,
  internal: AliyunInternalOptions = {},
): CloudAdapter {
  const region = config.region;
  const vpcId = config.vpcId;
  const logger = ctx.logger.child({ provider: 'aliyun' });
  const timeScale = timeScaleOf(ctx);
  const api = new AliyunApi({
    region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    retry: scaleRetryPolicy(resolveRetryPolicy(ctx.retry, internal.retry), timeScale),
    requestTimeoutMs: internal.requestTimeoutMs ?? 10_000,
    ...(ctx.observer ? { observer: ctx.observer } : {}),
    logger,
  });
  const batchSize = Math.min(internal.batchSize ?? MAX_BATCH, MAX_BATCH);
  const cloudSettle = { ...DEFAULT_SETTLE, ...internal.settle };
  const settle: SettlePolicy = {
    firstPollMs: scaleMs(cloudSettle.firstPollMs, timeScale),
    pollMs: scaleMs(cloudSettle.pollMs, timeScale),
    concurrency: cloudSettle.concurrency,
    maxWaitMs: scaleMs(cloudSettle.maxWaitMs, timeScale),
    wholeTablePages: cloudSettle.wholeTablePages,
    listPollMs: scaleMs(cloudSettle.listPollMs, timeScale),
  };
  const doSleep = internal.sleep ?? sleep;
  /** Every table of this provider is in config.vpcId: one gate for all their writes. */
  const gate = createTaskGate(scaleMs(internal.taskWindowMs ?? DEFAULT_TASK_WINDOW_MS, timeScale), doSleep);
  const filter = config.instanceFilter;
  /** One route task at a time per table: concurrent apply() calls on a table queue up here. */
  const locks = new Map<string, Promise<unknown>>();
  const never = new AbortController().signal;
  const maxPages = internal.maxPages ?? DEFAULT_MAX_PAGES;

  // Each page is turned into what the caller keeps before the next one is fetched: the parsed wire objects
  // of a 5,000-VM listing (and the response bodies their strings slice) die page by page, not at the end.
  async function paged<W, T>(
    action: string,
    key: (w: W) => string,
    as: (w: W) => T,
    fetchPage: (
      token: string | undefined,
    ) => Promise<{ items: W[]; next: string | undefined; total?: number | undefined }>,
  ): Promise<T[]> {
    const all: T[] = [];
    await collectPages(fetchPage, (w) => all.push(as(w)), {
      pageSize: PAGE,
      key,
      maxPages,
      fail: (why) => malformed(action, why),
    });
    return all;
  }

  async function entryPage(
    table: RouteTable,
    token: string | undefined,
    extra: Record<string, string>,
    signal: AbortSignal,
  ): Promise<{ items: S.RouteEntryWire[]; next: string | undefined }> {
    const r = await api.call(
      'vpc',
      'DescribeRouteEntryList',
      { RouteTableId: table.id, MaxResult: PAGE, ...extra, ...(token ? { NextToken: token } : {}) },
      S.DescribeRouteEntryList,
      signal,
    );
    for (const e of r.RouteEntrys.RouteEntry) checkDestination(e.DestinationCidrBlock, table.id, r.RequestId);
    return { items: r.RouteEntrys.RouteEntry, next: r.NextToken || undefined };
  }

  function listEntriesAs<T>(
    table: RouteTable,
    signal: AbortSignal,
    extra: Record<string, string>,
    as: (e: S.RouteEntryWire) => T,
  ): Promise<T[]> {
    // RouteEntryId is the entry's provider id: an entry listed twice (overlapping pages) is one entry.
    return paged(
      'DescribeRouteEntryList',
      (e: S.RouteEntryWire) => e.RouteEntryId,
      as,
      (token) => entryPage(table, token, extra, signal),
    );
  }

  /** The whole table if it fits in `pages` pages; undefined as soon as a further page would be needed. */
  async function entriesWithin(
    table: RouteTable,
    pages: number,
    signal: AbortSignal,
  ): Promise<S.RouteEntryWire[] | undefined> {
    const out: S.RouteEntryWire[] = [];
    const tooBig = new Error('more pages than wanted');
    try {
      await collectPages(
        (token) => entryPage(table, token, {}, signal),
        (e) => out.push(e),
        {
          pageSize: PAGE,
          key: (e) => e.RouteEntryId,
          maxPages: pages,
          // Over this small budget the table is just too big for a whole-table look; anything else is a broken answer.
          fail: (why, kind) => (kind === 'budget' ? tooBig : malformed('DescribeRouteEntryList', why)),
        },
      );
    } catch (e) {
      if (e === tooBig) return undefined;
      throw e;
    }
    return out;
  }

  function listEntries(
    table: RouteTable,
    signal: AbortSignal,
    extra: Record<string, string> = {},
  ): Promise<S.RouteEntryWire[]> {
    return listEntriesAs(table, signal, extra, (e) => e);
  }

  function listRoutes(table: RouteTable, signal: AbortSignal = never): Promise<Route[]> {
    return listEntriesAs(table, signal, {}, (e) => toRoute(e, table.id, ctx.cluster));
  }

  function toInstance(i: S.InstanceWire): Instance {
    const state = STATES[i.Status] ?? 'terminated';
    const ip = i.VpcAttributes.PrivateIpAddress.IpAddress[0] ?? '';
    if (ip === '' && state === 'running')
      throw malformed('DescribeInstances', `running instance ${i.InstanceId} has no private IP`);
    return { id: i.InstanceId, name: i.InstanceName || i.InstanceId, privateIp: ip, zone: i.ZoneId, state };
  }

  return {
    kind: 'aliyun',

    async listInstances(signal = never): Promise<Instance[]> {
      return paged(
        'DescribeInstances',
        (i: S.InstanceWire) => i.InstanceId,
        toInstance,
        async (token) => {
          const r = await api.call(
            'ecs',
            'DescribeInstances',
            {
              VpcId: vpcId,
              Tag: [{ Key: filter.key, Value: filter.value }],
              MaxResults: PAGE,
              ...(token ? { NextToken: token } : {}),
            },
            S.DescribeInstances,
            signal,
          );
          // TotalCount is cross-checked by the paging loop: a listing short of it is a failed read.
          return { items: r.Instances.Instance, next: r.NextToken || undefined, total: r.TotalCount };
        },
      );
    },

    async lookupInstances(ids: readonly string[], signal = never): Promise<Map<string, InstanceLookup>> {
      const out = new Map<string, InstanceLookup>();
      // By id, without the tag or VPC filter: the question is whether the VM exists at all. ECS takes up to
      // 100 ids per call and answers the ones that exist; an id it leaves out does not exist (released).
      for (let i = 0; i < ids.length; i += PAGE) {
        const batch = ids.slice(i, i + PAGE);
        const r = await api.call(
          'ecs',
          'DescribeInstances',
          { InstanceIds: JSON.stringify(batch), MaxResults: PAGE },
          S.DescribeInstances,
          signal,
        );
        const found = r.Instances.Instance;
        if (r.NextToken)
          throw malformed(
            'DescribeInstances',
            `a lookup of ${batch.length} id(s) answered with a further page`,
            r.RequestId,
          );
        if (r.TotalCount === undefined || r.TotalCount !== found.length) {
          throw malformed(
            'DescribeInstances',
            `a lookup by id lists ${found.length} instance(s) but reports TotalCount ${String(r.TotalCount)}`,
            r.RequestId,
          );
        }
        const asked = new Set(batch);
        for (const f of found) {
          if (!asked.has(f.InstanceId))
            throw malformed(
              'DescribeInstances',
              `a lookup by id answered ${f.InstanceId}, which was not asked for`,
              r.RequestId,
            );
          out.set(f.InstanceId, STATES[f.Status] ?? 'terminated');
        }
        for (const id of batch) if (!out.has(id)) out.set(id, 'notFound');
      }
      return out;
    },

    async routeTables(signal = never): Promise<RouteTable[]> {
      if (config.routeTableIds && config.routeTableIds.length > 0)
        return config.routeTableIds.map((id) => ({ id, vpcId }));
      const tables: RouteTable[] = [];
      // Numbered pages: the "token" is the next page number, and TotalCount bounds and checks the listing.
      const TABLE_PAGE = 50;
      await collectPages(
        async (token) => {
          const page = token === undefined ? 1 : Number(token);
          const r = await api.call(
            'vpc',
            'DescribeRouteTableList',
            { VpcId: vpcId, RouterType: 'VRouter', PageNumber: page, PageSize: TABLE_PAGE },
            S.DescribeRouteTableList,
            signal,
          );
          const items = r.RouterTableList.RouterTableListType;
          const more = items.length > 0 && (page - 1) * TABLE_PAGE + items.length < r.TotalCount;
          return { items, next: more ? String(page + 1) : undefined, total: r.TotalCount };
        },
        (t) => tables.push({ id: t.RouteTableId, vpcId, ...(t.RouteTableName ? { name: t.RouteTableName } : {}) }),
        {
          pageSize: TABLE_PAGE,
          key: (t) => t.RouteTableId,
          maxPages,
          fail: (why) => malformed('DescribeRouteTableList', why),
        },
      );
      if (tables.length === 0) {
        throw new ProviderError(
          'notFound',
          'NoRouteTables',
          `aliyun: VPC ${vpcId} in ${region} has no vRouter route tables (check provider.vpcId and provider.region)`,
          { action: 'DescribeRouteTableList' },
        );
      }
      return tables;
    },

    listRoutes,

    async quota(table, signal = never, listed?: readonly Route[]): Promise<Quota> {
      let limit: number;
      let source: Quota['source'];
      try {
        const r = await api.call(
          'quotas',
          'GetProductQuota',
          {
            ProductCode: 'vpc',
            QuotaActionCode: QUOTA_ACTION,
            Dimensions: [
              { Key: 'regionId', Value: region },
              { Key: 'routeTableId', Value: table.id },
            ],
          },
          S.GetProductQuota,
          signal,
        );
        limit = r.Quota.TotalQuota;
        source = 'api';
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        const pe = toProviderError(e, 'GetProductQuota');
        logger.warn(
          { code: pe.code, kind: pe.kind },
          'aliyun: Quota Center unreadable; using the configured or documented route quota',
        );
        limit = config.routeQuota ?? DEFAULT_ROUTE_QUOTA;
        source = config.routeQuota !== undefined ? 'config' : 'default';
      }
      // Quota Center's usage is account-wide for some dimensions: count the table's custom entries ourselves.
      const used = listed
        ? listed.filter((r) => !r.system).length
        : (await listEntries(table, signal, { RouteEntryType: 'Custom' })).length;
      return { limit, used, source, scope: 'table' };
    },

    async apply(table: RouteTable, changes: Change[], opts: ApplyOptions): Promise<ChangeResult[]> {
      const prev = locks.get(table.id) ?? Promise.resolve();
      const run = prev
        .catch(() => undefined)
        .then(() =>
          applyChanges(
            {
              api,
              cluster: ctx.cluster,
              logger,
              batchSize,
              settle,
              sleep: doSleep,
              listRoutes,
              entriesAt: (t, dest, s) => listEntries(t, s, { DestinationCidrBlock: dest }),
              entriesWithin,
              gate,
            },
            table,
            changes,
            opts,
          ),
        );
      locks.set(table.id, run);
      try {
        return await run;
      } finally {
        if (locks.get(table.id) === run) locks.delete(table.id);
      }
    },

    async close(): Promise<void> {
      api.close();
    },
  };
}
