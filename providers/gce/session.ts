// What every part of the GCE adapter shares for one provider instance: the clients (created on first use),
// the caller (observation, retries), the client-side rate windows and in-flight caps, and what the last
// listing learnt of the VMs (their URLs and zones).
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../src/lib/clock.ts';
import { DEFAULT_MAX_PAGES } from '../../src/lib/paging.ts';
import type { InstanceFilter } from '../plugin.ts';
import { resolveRetryPolicy, scaleMs, scaleRetryPolicy, timeScaleOf, type RetryPolicy } from '../retry.ts';
import { NOOP_OBSERVER, type ProviderContext } from '../types.ts';
import { RateWindow } from './rate-window.ts';
import { GceCaller, Semaphore } from './call.ts';
import { createGceClients, loadComputeSdk, type GceClients } from './clients.ts';
import type { GceConfig } from './config.ts';
import type { RawOperation } from './wire.ts';

/** Knobs tests turn down; the defaults are the production ones. */
export interface GceInternalOptions {
  /** Wins over ProviderContext.retry. */
  retry?: Partial<RetryPolicy>;
  /**
   * Client-side pacing of `globalOperations.wait` (the `operation_read_requests` rate group) and of
   * `routes.insert`/`routes.delete` (the `default` group): requests in any 60 cloud seconds. Default
   * RATE_PER_MINUTE.
   */
  operationReadsPerMinute?: number;
  writesPerMinute?: number;
  /** Give up waiting on one operation after this long (cloud ms). */
  operationTimeoutMs?: number;
  /** Operation waits in flight at once across the provider (each holds one long-poll request). */
  maxOperationWaits?: number;
  /** Insert/delete requests in flight at once while the project quota is known (each holds a socket). */
  maxWritesInFlight?: number;
  clock?: Clock;
  instancePageSize?: number;
  routePageSize?: number;
  /** Page budget of a listing (Compute reports no totals; default: src/lib/paging.ts DEFAULT_MAX_PAGES). */
  maxPages?: number;
  env?: NodeJS.ProcessEnv;
}

/*
 * Compute's rate quota groups allow 1,500 requests per clock minute per project each. A fresh cluster sends
 * a minute's worth at once; the cushion (100 a minute) is for the project's other clients and for our
 * requests arriving later than we sent them: a refused request is a wasted call and a retry.
 */
export const RATE_PER_MINUTE = 1400;

export interface GceSession {
  config: GceConfig;
  project: string;
  network: string;
  cluster: string;
  log: Logger;
  caller: GceCaller;
  sdk(): GceClients;
  clock: Clock;
  timeScale: number;
  /** `globalOperations.wait` pacing (the `operation_read_requests` rate group). */
  polls: RateWindow;
  /** `routes.insert` / `routes.delete` pacing (the `default` rate group). */
  writeTokens: RateWindow;
  waits: Semaphore;
  writes: Semaphore;
  maxWaits: number;
  maxWrites: number;
  opTimeoutMs: number;
  /** Writes whose operation a pass stopped waiting for, by `insert:<route>` / `delete:<route>`. */
  pendingOps: Map<string, RawOperation>;
  waitCallTimeoutMs: number;
  instancePage: number;
  routePage: number;
  maxPages: number;
  filter: InstanceFilter;
  /** Instance id (`<zone>/<name>`) → selfLink, from the last listing (routes need the URL, changes carry the id). */
  selfLinks: Map<string, string>;
  /** Zones any listing showed a VM of the cluster in: where a lookup by id asks (instances.get needs a zone). */
  zonesSeen: Set<string>;
  close(): Promise<void>;
}

export function openGceSession(config: GceConfig, ctx: ProviderContext, internal: GceInternalOptions): GceSession {
  const project = config.project;
  const log = ctx.logger.child({ provider: 'gce', project });
  const observer = ctx.observer ?? NOOP_OBSERVER;
  const timeScale = timeScaleOf(ctx);
  const caller = new GceCaller(
    observer,
    scaleRetryPolicy(resolveRetryPolicy(ctx.retry, internal.retry), timeScale),
    60_000,
    log,
  );
  const clock = internal.clock ?? systemClock;
  const readsPerMinute = internal.operationReadsPerMinute ?? config.gce?.operationReadsPerMinute ?? RATE_PER_MINUTE;
  const writesPerMinute = internal.writesPerMinute ?? config.gce?.writesPerMinute ?? RATE_PER_MINUTE;
  const polls = new RateWindow({ perMinute: readsPerMinute, timeScale, clock });
  const writeTokens = new RateWindow({ perMinute: writesPerMinute, timeScale, clock });
  const opTimeoutMs = scaleMs(internal.operationTimeoutMs ?? 15 * 60_000, timeScale);
  /*
   * Our writes whose operation a pass stopped waiting for (`insert:<route>` / `delete:<route>`): the next
   * pass waits on the same operation instead of writing again. Operations at scale can take half an hour
   * (kubernetes PR#38619); re-sending is a 409 per pass or, retried, a 409 loop (#21561).
   */
  const pendingOps = new Map<string, RawOperation>();
  // Compute's wait answers within about two minutes; the request deadline leaves room on top of that.
  const waitCallTimeoutMs = Math.max(scaleMs(150_000, timeScale), 10_000);
  /*
   * Every operation costs one insert and (normally) one wait, each paced by its rate group above; these caps
   * only bound what is held on the wire. An operation takes 5-20 s, so routes in flight ≈ rate × 20 s: a
   * fresh cluster's first minute needs as many long polls open at once (no more can be sent before the
   * minute has passed anyway), and 200 inserts in flight send the burst in ~2 s at 150-400 ms each.
   */
  const maxWaits = internal.maxOperationWaits ?? readsPerMinute;
  const waits = new Semaphore(maxWaits);
  const maxWrites = internal.maxWritesInFlight ?? 200;
  const writes = new Semaphore(maxWrites);
  // Compute's largest page (maxResults ≤ 500) for both listings: fewer round trips per pass.
  const instancePage = internal.instancePageSize ?? 500;
  const routePage = internal.routePageSize ?? 500;
  const maxPages = internal.maxPages ?? DEFAULT_MAX_PAGES;
  const filter = config.instanceFilter;
  // The SDK's modules load with the provider (as a static import would), not inside the first pass.
  loadComputeSdk();
  let clients: GceClients | undefined;
  const sdk = (): GceClients => (clients ??= createGceClients(config.endpoint, internal.env ?? process.env));
  const selfLinks = new Map<string, string>();
  const zonesSeen = new Set<string>();
  return {
    config,
    project,
    network: config.network,
    cluster: ctx.cluster,
    log,
    caller,
    sdk,
    clock,
    timeScale,
    polls,
    writeTokens,
    waits,
    writes,
    maxWaits,
    maxWrites,
    opTimeoutMs,
    pendingOps,
    waitCallTimeoutMs,
    instancePage,
    routePage,
    maxPages,
    filter,
    selfLinks,
    zonesSeen,
    async close() {
      await clients?.close();
    },
  };
}
