// CloudProvider for Alibaba Cloud on the official @alicloud/pop-core RPC client: ECS DescribeInstances for
// the inventory, VPC route tables and entries, Quota Center for the per-table entry quota.
import type { Logger } from 'pino';
import { sleep } from '../../src/lib/clock.ts';
import { collectPages, DEFAULT_MAX_PAGES } from '../../src/lib/paging.ts';
import {
  ProviderError,
  type ApplyOptions,
  type Change,
  type ChangeResult,
  type CloudAdapter,
  type ProviderContext,
  type Quota,
  type Route,
  type RouteTable,
} from '../types.ts';
import { applyChanges, type SettlePolicy } from './apply.ts';
import { DEFAULT_SETTLE } from './settle.ts';
import { createSettlePacer } from './settle-pacer.ts';
import { createTaskGate } from './vpc-gate.ts';
import { resolveRetryPolicy, scaleMs, scaleRetryPolicy, timeScaleOf, type RetryPolicy } from '../retry.ts';
import { AliyunApi } from './client.ts';
import { aliyunEntries } from './entries.ts';
import { aliyunInventory } from './inventory.ts';
import { settleReadsPerMinute, type AliyunConfig } from './config.ts';
import { malformed, toProviderError } from './errors.ts';
import * as S from './schemas.ts';

/** Alibaba's documented default: 200 custom entries per route table. */
export const DEFAULT_ROUTE_QUOTA = 200;
/** CreateRouteEntries / DeleteRouteEntries take at most 50 entries per call. */
export const MAX_BATCH = 50;
const QUOTA_ACTION = 'vpc_quota_route_entrys_num';
const _PAGE = 100;

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

/** DescribeInstances answers a key without the permission with an empty list, not an error. */
export const EMPTY_LISTING_HINT =
  'ECS answers an empty list, not an error, when the access key lacks it: check that its RAM policy allows ecs:DescribeInstances';

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
  const cloudSettle = { ...DEFAULT_SETTLE, readsPerMinute: settleReadsPerMinute(config), ...internal.settle };
  const settle: SettlePolicy = {
    firstPollMs: scaleMs(cloudSettle.firstPollMs, timeScale),
    pollMs: scaleMs(cloudSettle.pollMs, timeScale),
    concurrency: cloudSettle.concurrency,
    maxWaitMs: scaleMs(cloudSettle.maxWaitMs, timeScale),
    wholeTablePages: cloudSettle.wholeTablePages,
    listPollMs: scaleMs(cloudSettle.listPollMs, timeScale),
    readsPerMinute: cloudSettle.readsPerMinute,
  };
  const doSleep = internal.sleep ?? sleep;
  /** Every table of this provider is in config.vpcId: one gate for all their writes. */
  const gate = createTaskGate(scaleMs(internal.taskWindowMs ?? DEFAULT_TASK_WINDOW_MS, timeScale), doSleep);
  /** One for all the tables: the account's allowance is per API, not per table. */
  const pacer = createSettlePacer(settle.readsPerMinute, scaleMs(60_000, timeScale), settle.pollMs, doSleep);
  const filter = config.instanceFilter;
  /** One route task at a time per table: concurrent apply() calls on a table queue up here. */
  const locks = new Map<string, Promise<unknown>>();
  const never = new AbortController().signal;
  const maxPages = internal.maxPages ?? DEFAULT_MAX_PAGES;

  const { paged, entriesWithin, listEntries, listRoutes } = aliyunEntries({
    api,
    maxPages,
    never,
    cluster: ctx.cluster,
  });

  const tableDeps: TableDeps = { api, config, logger, maxPages, listEntries };
  const { listInstances, lookupInstances } = aliyunInventory({ api, vpcId, filter, never, paged });
  return {
    kind: 'aliyun',
    emptyListingHint: EMPTY_LISTING_HINT,

    listInstances,
    lookupInstances,

    routeTables: (signal = never) => listRouteTables(tableDeps, signal),

    listRoutes,

    quota: (table, signal = never, listed?: readonly Route[]) => readQuota(tableDeps, table, signal, listed),

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
              pacer,
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

/** What listing the tables and reading their quota need of the provider. */
interface TableDeps {
  api: AliyunApi;
  config: AliyunConfig;
  logger: Logger;
  maxPages: number;
  listEntries: ReturnType<typeof aliyunEntries>['listEntries'];
}

async function listRouteTables(d: TableDeps, signal: AbortSignal): Promise<RouteTable[]> {
  const { api, config, maxPages } = d;
  const { region, vpcId } = config;
  if (config.routeTableIds && config.routeTableIds.length > 0) return config.routeTableIds.map((id) => ({ id, vpcId }));
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
}

async function readQuota(
  d: TableDeps,
  table: RouteTable,
  signal: AbortSignal,
  listed?: readonly Route[],
): Promise<Quota> {
  const { api, config, logger, listEntries } = d;
  const region = config.region;
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
}
