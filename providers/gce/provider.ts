// GCE adapter on @google-cloud/compute: the "route table" is a VPC network, routes are project-wide and
// immutable resources addressed by name, every write is an operation to wait on, and the ROUTES quota is
// per project (shared by every network).
import { isCidr } from '../../src/lib/cidr.ts';
import { collectPages, DEFAULT_MAX_PAGES } from '../../src/lib/paging.ts';
import { forEachBounded } from '../../src/lib/pool.ts';
import {
  NOOP_OBSERVER,
  ProviderError,
  type Change,
  type ChangeResult,
  type ApplyOptions,
  type CloudAdapter,
  type Instance,
  type InstanceLookup,
  type ProviderContext,
  type Quota,
  type Route,
  type RouteTable,
} from '../types.ts';
import { resolveRetryPolicy, scaleMs, scaleRetryPolicy, timeScaleOf, type RetryPolicy } from '../retry.ts';
import { onTheWire } from '../wire-fence.ts';
import { systemClock, type Clock } from '../../src/lib/clock.ts';
import { RateBucket } from './bucket.ts';
import { GceCaller, Semaphore } from './call.ts';
import type { GceConfig } from './config.ts';
import { createGceClients, loadComputeSdk, type GceClients } from './clients.ts';
import { OperationPendingError, operationError, type OperationLike } from './errors.ts';
import { escapeRegex, isMarked, lastSegment, ownerMark, routeName } from './names.ts';

/** Knobs tests turn down; the defaults are the production ones. */
export interface GceInternalOptions {
  /** Wins over ProviderContext.retry. */
  retry?: Partial<RetryPolicy>;
  /**
   * Client-side pacing of `globalOperations.wait` (the `operation_read_requests` rate group) and of
   * `routes.insert`/`routes.delete` (the `default` group): burst and refill per cloud second. Defaults:
   * RATE_BURST and RATE_PER_SECOND.
   */
  operationReads?: { burst?: number; perSecond?: number };
  writeRate?: { burst?: number; perSecond?: number };
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
 * Compute's rate quota groups allow 1,500 requests per minute per project each (the emulator models that as
 * 1,500 burst + 25/s). A fresh cluster spends the burst at once; the cushion (100 requests, 1/s) is for the
 * project's other clients and for our requests arriving later than we counted them: a refused request is a
 * wasted call and a retry.
 */
export const RATE_BURST = 1400;
export const RATE_PER_SECOND = 24;

/** Compute's documented default; the emulator uses the same number. */
export const DEFAULT_ROUTE_QUOTA = 200;
const PRIORITY = 1000;

const STATE: Record<string, Instance['state']> = {
  PROVISIONING: 'pending',
  STAGING: 'pending',
  REPAIRING: 'pending',
  RUNNING: 'running',
  STOPPING: 'stopping',
  SUSPENDING: 'stopping',
  STOPPED: 'stopped',
  SUSPENDED: 'stopped',
  TERMINATED: 'stopped',
};

const BLACKHOLE_WARNINGS = new Set([
  'NEXT_HOP_INSTANCE_NOT_FOUND',
  'NEXT_HOP_NOT_RUNNING',
  'NEXT_HOP_INSTANCE_NOT_ON_NETWORK',
  'NEXT_HOP_CANNOT_IP_FORWARD',
  'NEXT_HOP_ADDRESS_NOT_ASSIGNED',
  'NEXT_HOP_INSTANCE_HAS_NO_IPV6_INTERFACE',
]);
/**
 * Warnings about the VM itself, not the route: the same route inserted again gets the same warning
 * (kubernetes#52398 is the delete/insert loop). Route.cannotForward carries them to the plan.
 */
const CANNOT_FORWARD_WARNINGS = new Set([
  'NEXT_HOP_CANNOT_IP_FORWARD',
  'NEXT_HOP_INSTANCE_NOT_ON_NETWORK',
  'NEXT_HOP_INSTANCE_HAS_NO_IPV6_INTERFACE',
]);

/* The SDK's response types are protobuf interfaces with every field optional/nullable; these are the
   fields we read, checked at runtime because a malformed answer must fail, not read as empty. */
interface RawRoute {
  name?: string | null;
  destRange?: string | null;
  network?: string | null;
  description?: string | null;
  nextHopInstance?: string | null;
  nextHopGateway?: string | null;
  nextHopIp?: string | null;
  nextHopNetwork?: string | null;
  nextHopPeering?: string | null;
  nextHopVpnTunnel?: string | null;
  nextHopIlb?: string | null;
  nextHopHub?: string | null;
  routeType?: string | null;
  warnings?: Array<{ code?: string | null }> | null;
}

interface RawInstance {
  name?: string | null;
  status?: string | null;
  zone?: string | null;
  selfLink?: string | null;
  labels?: Record<string, string> | null;
  networkInterfaces?: Array<{ network?: string | null; networkIP?: string | null }> | null;
}

interface RawOperation extends OperationLike {
  kind?: string | null;
  status?: string | null;
}

function invalidResponse(action: string, what: string): ProviderError {
  return new ProviderError('invalid', 'MalformedResponse', `${action}: malformed response (${what})`, { action });
}

function checkKind(action: string, raw: unknown, kind: string): void {
  const k = (raw as { kind?: unknown } | null | undefined)?.kind;
  // Every Compute response names its kind; anything else (an error body with 200, a proxy page) is not an answer.
  if (k !== kind) throw invalidResponse(action, `kind ${JSON.stringify(k)} instead of ${kind}`);
}

export function createGceProvider(
  config: GceConfig,
  ctx: ProviderContext,
  internal: GceInternalOptions = {},
): CloudAdapter {
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
  const polls = new RateBucket({
    burst: internal.operationReads?.burst ?? RATE_BURST,
    perSecond: internal.operationReads?.perSecond ?? RATE_PER_SECOND,
    timeScale,
    clock,
  });
  const writeTokens = new RateBucket({
    burst: internal.writeRate?.burst ?? RATE_BURST,
    perSecond: internal.writeRate?.perSecond ?? RATE_PER_SECOND,
    timeScale,
    clock,
  });
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
   * fresh cluster's burst needs as many long polls open at once (no more can be sent before the bucket
   * refills anyway), and 200 inserts in flight send the burst in ~2 s at 150-400 ms each.
   */
  const maxWaits = internal.maxOperationWaits ?? internal.operationReads?.burst ?? RATE_BURST;
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
  /** Instance name → selfLink, from the last listing (routes need the URL, changes carry the name). */
  const selfLinks = new Map<string, string>();
  /** Zones any listing showed a VM of the cluster in: where a lookup by id asks (instances.get needs a zone). */
  const zonesSeen = new Set<string>();
  const zoneOfLink = (link: string): string | undefined => /\/zones\/([^/]+)\//.exec(link)?.[1];

  function toInstance(r: RawInstance): Instance {
    const action = 'instances.aggregatedList';
    if (typeof r.name !== 'string' || r.name === '') throw invalidResponse(action, 'instance without name');
    if (typeof r.zone !== 'string' || typeof r.status !== 'string' || typeof r.selfLink !== 'string')
      throw invalidResponse(action, `instance ${r.name} without zone/status/selfLink`);
    const nics = r.networkInterfaces ?? [];
    const nic = nics.find((n) => typeof n.network === 'string' && lastSegment(n.network) === config.network) ?? nics[0];
    if (!nic || typeof nic.networkIP !== 'string' || !isCidr(`${nic.networkIP}/32`))
      throw invalidResponse(action, `instance ${r.name} without a private IP`);
    const state = STATE[r.status];
    if (!state) throw invalidResponse(action, `instance ${r.name} has unknown status ${r.status}`);
    selfLinks.set(r.name, r.selfLink);
    zonesSeen.add(lastSegment(r.zone));
    return {
      id: r.name,
      name: r.name,
      privateIp: nic.networkIP,
      zone: lastSegment(r.zone),
      state,
      selfLink: r.selfLink,
    };
  }

  /** Every page of instances.aggregatedList under `filterText`, each raw instance handed to `add` once. */
  async function aggregatedPages(
    filterText: string,
    add: (r: RawInstance) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const action = 'instances.aggregatedList';
    await collectPages(
      async (pageToken) => {
        const req = { project, filter: filterText, maxResults: instancePage, ...(pageToken ? { pageToken } : {}) };
        const res = await caller.call(
          action,
          async (o) => {
            const ic = sdk().instances;
            await ic.initialize();
            // aggregatedList has only an auto-paging iterator in the public surface; the inner call gives us
            // one page per request, so each page is observed, retried and checked on its own.
            const inner = (
              ic as unknown as { innerApiCalls: Record<string, (r: unknown, o: unknown) => Promise<unknown[]>> }
            ).innerApiCalls;
            const call = inner.aggregatedList;
            if (!call) throw invalidResponse(action, 'SDK has no aggregatedList');
            const r = await call(req, { ...o, autoPaginate: false });
            return (r[2] ?? r[0]) as {
              kind?: string;
              items?: Record<
                string,
                { instances?: RawInstance[] | null; warning?: { code?: string | null } | null }
              > | null;
              nextPageToken?: string | null;
              unreachables?: string[] | null;
            };
          },
          signal,
        );
        checkKind(action, res, 'compute#instanceAggregatedList');
        // Zones the answer could not reach hold VMs it does not show: a partial listing, never "those VMs are
        // gone" (DESIGN I3). Compute says so in `unreachables` and/or an UNREACHABLE warning on the scope.
        const down = new Set(Array.isArray(res.unreachables) ? res.unreachables.map(String) : []);
        for (const [scope, v] of Object.entries(res.items ?? {}))
          if (v?.warning?.code === 'UNREACHABLE') down.add(scope);
        if (down.size > 0)
          throw new ProviderError(
            'unavailable',
            'Unreachable',
            `${action}: partial listing, Compute could not reach ${[...down].sort().join(', ')}: no VM of those zones is known this pass`,
            { action },
          );
        const items: RawInstance[] = [];
        for (const scoped of Object.values(res.items ?? {})) {
          if (scoped?.instances && !Array.isArray(scoped.instances))
            throw invalidResponse(action, 'instances is not a list');
          items.push(...(scoped?.instances ?? []));
        }
        return { items, next: res.nextPageToken };
      },
      add,
      // An instance name is unique within its zone: zone + name is the instance's identity.
      {
        pageSize: instancePage,
        key: (r) => `${String(r.zone)}/${String(r.name)}`,
        maxPages,
        fail: (why) => invalidResponse(action, why),
        signal,
      },
    );
  }

  async function listInstances(signal?: AbortSignal): Promise<Instance[]> {
    const out: Instance[] = [];
    // The server filtered already; checking again costs nothing and guards against a filter it ignored.
    await aggregatedPages(
      `labels.${filter.key} = "${filter.value}"`,
      (r) => {
        if (r.labels?.[filter.key] === filter.value) out.push(toInstance(r));
      },
      signal,
    );
    return out;
  }

  /** Every instance of the project named `name` (one per zone at most), whatever its labels. */
  async function byName(name: string, signal?: AbortSignal): Promise<Instance[]> {
    const found: Instance[] = [];
    await aggregatedPages(
      `name = "${name}"`,
      (r) => {
        if (r.name === name) found.push(toInstance(r));
      },
      signal,
    );
    return found;
  }

  const LIVENESS: Instance['state'][] = ['running', 'pending', 'stopping', 'stopped', 'terminated'];
  const liveliest = (states: Instance['state'][]) =>
    [...states].sort((a, b) => LIVENESS.indexOf(a) - LIVENESS.indexOf(b))[0];

  /** instances.get in one zone: the VM's state, or null on the cloud's 404. */
  async function getIn(zone: string, name: string, signal?: AbortSignal): Promise<Instance['state'] | null> {
    const action = 'instances.get';
    try {
      const [r] = await caller.call(action, (o) => sdk().instances.get({ project, zone, instance: name }, o), signal);
      checkKind(action, r, 'compute#instance');
      const state = STATE[String((r as RawInstance).status)];
      if (!state)
        throw invalidResponse(action, `instance ${name} has unknown status ${String((r as RawInstance).status)}`);
      return state;
    } catch (e) {
      if (e instanceof ProviderError && e.kind === 'notFound') return null;
      throw e;
    }
  }

  async function lookupInstances(ids: readonly string[], signal?: AbortSignal): Promise<Map<string, InstanceLookup>> {
    // The store keeps no zone: instances.get is asked in every zone this process has seen the cluster in
    // (the VM's own first), where a 404 is the cloud's own "no such VM"; a VM in none of them is looked for
    // project-wide by name, guarded like every listing. Only a VM absent from both is not found.
    const out = new Map<string, InstanceLookup>();
    for (const id of ids) {
      const own = selfLinks.has(id) ? zoneOfLink(selfLinks.get(id) as string) : undefined;
      const zones = [...new Set([...(own ? [own] : []), ...zonesSeen])];
      const states: Instance['state'][] = [];
      for (const z of zones) {
        const st = await getIn(z, id, signal);
        if (st) states.push(st);
      }
      if (states.length === 0) states.push(...(await byName(id, signal)).map((i) => i.state));
      out.set(id, liveliest(states) ?? 'notFound');
    }
    return out;
  }

  async function instanceLink(name: string, signal?: AbortSignal): Promise<string | null> {
    const known = selfLinks.get(name);
    if (known) return known;
    const found = await byName(name, signal);
    return found[0]?.selfLink ?? null;
  }

  async function routeTables(signal?: AbortSignal): Promise<RouteTable[]> {
    if (config.routeTableIds && config.routeTableIds.length > 0)
      return config.routeTableIds.map((id) => ({ id, name: id }));
    const action = 'networks.get';
    const [net] = await caller.call(action, (o) => sdk().networks.get({ project, network: config.network }, o), signal);
    checkKind(action, net, 'compute#network');
    if (typeof net.name !== 'string') throw invalidResponse(action, 'network without name');
    return [{ id: net.name, name: net.name, ...(net.selfLink ? { vpcId: net.selfLink } : {}) }];
  }

  function toRoute(table: RouteTable, r: RawRoute): Route {
    const action = 'routes.list';
    if (typeof r.name !== 'string' || r.name === '' || typeof r.destRange !== 'string')
      throw invalidResponse(action, 'route without name/destRange');
    if (!isCidr(r.destRange))
      throw invalidResponse(action, `route ${r.name} has destRange ${JSON.stringify(r.destRange)}`);
    const target = r.nextHopInstance ? lastSegment(r.nextHopInstance) : null;
    const nextHop = r.nextHopInstance
      ? target!
      : r.nextHopGateway
        ? lastSegment(r.nextHopGateway)
        : r.nextHopIp
          ? r.nextHopIp
          : r.nextHopNetwork
            ? `network:${lastSegment(r.nextHopNetwork)}`
            : r.nextHopPeering
              ? `peering:${r.nextHopPeering}`
              : r.nextHopVpnTunnel
                ? `vpnTunnel:${lastSegment(r.nextHopVpnTunnel)}`
                : r.nextHopIlb
                  ? `ilb:${lastSegment(r.nextHopIlb)}`
                  : 'unknown';
    const codes = (r.warnings ?? []).map((w) => w.code).filter((c): c is string => typeof c === 'string');
    const blackhole = codes.some((c) => BLACKHOLE_WARNINGS.has(c));
    const cannotForward = target !== null ? codes.find((c) => CANNOT_FORWARD_WARNINGS.has(c)) : undefined;
    const system =
      (r.routeType !== undefined && r.routeType !== null && r.routeType !== 'STATIC') ||
      !!r.nextHopNetwork ||
      !!r.nextHopPeering ||
      (!!r.nextHopGateway && r.destRange === '0.0.0.0/0');
    return {
      table: table.id,
      destination: r.destRange,
      target,
      nextHop,
      state: blackhole ? 'blackhole' : 'active',
      marked: isMarked(ctx.cluster, r.name, r.description),
      system,
      providerId: r.name,
      ...(cannotForward ? { cannotForward } : {}),
    };
  }

  async function listRoutes(table: RouteTable, signal?: AbortSignal): Promise<Route[]> {
    const action = 'routes.list';
    const out: Route[] = [];
    await collectPages(
      async (pageToken) => {
        const req = {
          project,
          filter: `network eq .*/global/networks/${escapeRegex(table.id)}`,
          maxResults: routePage,
          ...(pageToken ? { pageToken } : {}),
        };
        const [items, , raw] = await caller.call(
          action,
          (o) => sdk().routes.list(req, { ...o, autoPaginate: false }),
          signal,
        );
        checkKind(action, raw, 'compute#routeList');
        if (!Array.isArray(items)) throw invalidResponse(action, 'items is not a list');
        return {
          items: items as RawRoute[],
          next: (raw as { nextPageToken?: string | null } | undefined)?.nextPageToken,
        };
      },
      (r) => {
        if (typeof r.network !== 'string') throw invalidResponse(action, `route ${String(r.name)} without network`);
        if (lastSegment(r.network) === table.id) out.push(toRoute(table, r));
      },
      // A route's name is its provider id, unique in the project.
      {
        pageSize: routePage,
        key: (r) => String(r.name),
        maxPages,
        fail: (why) => invalidResponse(action, why),
        signal,
      },
    );
    return out;
  }

  async function quota(table: RouteTable, signal?: AbortSignal): Promise<Quota> {
    const action = 'projects.get';
    try {
      const [p] = await caller.call(action, (o) => sdk().projects.get({ project }, o), signal);
      checkKind(action, p, 'compute#project');
      const q = (p.quotas ?? []).find((x) => x.metric === 'ROUTES');
      if (q && typeof q.limit === 'number' && typeof q.usage === 'number')
        return { limit: q.limit, used: q.usage, source: 'api', scope: 'project' };
      log.warn({ table: table.id }, 'projects.get has no ROUTES quota; falling back to config/default');
    } catch (e) {
      signal?.throwIfAborted();
      // Only a permission problem means "no quota API for us"; anything else must not be guessed around.
      if (!(e instanceof ProviderError && e.kind === 'auth')) throw e;
      log.warn({ err: e.message }, 'cannot read the project quota; falling back to config/default');
    }
    const used = (await listAllCustomRoutes(signal)).length;
    if (config.routeQuota !== undefined) return { limit: config.routeQuota, used, source: 'config', scope: 'project' };
    return { limit: DEFAULT_ROUTE_QUOTA, used, source: 'default', scope: 'project' };
  }

  async function listAllCustomRoutes(signal?: AbortSignal): Promise<string[]> {
    const names: string[] = [];
    let pageToken: string | undefined;
    do {
      const [items, , raw] = await caller.call(
        'routes.list',
        (o) =>
          sdk().routes.list(
            { project, maxResults: routePage, ...(pageToken ? { pageToken } : {}) },
            { ...o, autoPaginate: false },
          ),
        signal,
      );
      checkKind('routes.list', raw, 'compute#routeList');
      for (const r of items as RawRoute[])
        if (r.routeType === 'STATIC' && !(r.nextHopGateway && r.destRange === '0.0.0.0/0')) names.push(String(r.name));
      pageToken = (raw as { nextPageToken?: string | null } | undefined)?.nextPageToken || undefined;
    } while (pageToken);
    return names;
  }

  /** Waits for a global operation to be DONE (server-side wait, polls spaced provider-wide). */
  async function waitOperation(op: RawOperation, action: string, signal: AbortSignal): Promise<RawOperation> {
    checkKind(action, op, 'compute#operation');
    if (typeof op.name !== 'string') throw invalidResponse(action, 'operation without name');
    const deadline = clock.now() + opTimeoutMs;
    let cur = op;
    while (cur.status !== 'DONE') {
      if (clock.now() > deadline)
        throw new OperationPendingError(
          'busy',
          'OperationPending',
          `${action}: operation ${op.name} not DONE after ${opTimeoutMs * timeScale} ms; the next pass waits on it again`,
          { action, requestId: op.name },
        );
      const next = await waits.use(async () => {
        const [r] = await caller.retrying(
          'globalOperations.wait',
          async () => {
            await polls.take(signal);
            return caller.once(
              'globalOperations.wait',
              (o) => sdk().operations.wait({ project, operation: op.name as string }, o),
              signal,
              waitCallTimeoutMs,
            );
          },
          signal,
        );
        return r;
      }, signal);
      checkKind('globalOperations.wait', next, 'compute#operation');
      cur = next as RawOperation;
    }
    const err = operationError(cur, action);
    if (err) throw err;
    return cur;
  }

  /**
   * Waits on the operation of a write a previous pass sent (`key` in pendingOps): its outcome when it is
   * DONE, null when it failed (the write is to be made afresh). Still not DONE: OperationPendingError again.
   */
  async function awaitPending(key: string, action: string, signal: AbortSignal): Promise<Done | null> {
    const op = pendingOps.get(key);
    if (!op) return null;
    try {
      await waitOperation(op, action, signal);
      pendingOps.delete(key);
      return { outcome: 'applied', ...opId(op) };
    } catch (e) {
      if (e instanceof OperationPendingError) throw e;
      pendingOps.delete(key);
      signal.throwIfAborted();
      log.info({ action, operation: op.name, err: e instanceof Error ? e.message : String(e) }, 'earlier write failed');
      return null;
    }
  }

  /** Waits on a write's operation just sent, remembered until DONE so a pass that stops waiting does not resend. */
  async function awaitSent(key: string, op: RawOperation, action: string, signal: AbortSignal): Promise<void> {
    pendingOps.set(key, op);
    try {
      await waitOperation(op, action, signal);
      pendingOps.delete(key);
    } catch (e) {
      if (!(e instanceof OperationPendingError)) pendingOps.delete(key);
      throw e;
    }
  }

  async function getRoute(name: string, signal: AbortSignal): Promise<RawRoute | null> {
    try {
      const [r] = await caller.call('routes.get', (o) => sdk().routes.get({ project, route: name }, o), signal);
      checkKind('routes.get', r, 'compute#route');
      return r as RawRoute;
    } catch (e) {
      if (e instanceof ProviderError && e.kind === 'notFound') return null;
      throw e;
    }
  }

  /** Deletes a route by name and waits; a route already gone counts as done. The operation names the change. */
  async function deleteByName(
    name: string,
    signal: AbortSignal,
    fence: () => Promise<void>,
    fenceNow?: () => void,
  ): Promise<Done> {
    const key = `delete:${name}`;
    const earlier = await awaitPending(key, 'routes.delete', signal);
    if (earlier) return earlier;
    return caller.retrying(
      'routes.delete',
      async () => {
        let op: RawOperation;
        try {
          const [lro] = await writes.use(async () => {
            await writeTokens.take(signal);
            await fence();
            return onTheWire(fenceNow, () =>
              caller.once('routes.delete', (o) => sdk().routes.delete({ project, route: name }, o), signal),
            );
          }, signal);
          op = (lro as unknown as { latestResponse: RawOperation }).latestResponse;
        } catch (e) {
          if (e instanceof ProviderError && e.kind === 'notFound') return { outcome: 'alreadyDone' };
          throw e;
        }
        try {
          await awaitSent(key, op, 'routes.delete', signal);
        } catch (e) {
          if (e instanceof ProviderError && e.kind === 'notFound') return { outcome: 'alreadyDone', ...opId(op) };
          throw e;
        }
        return { outcome: 'applied', ...opId(op) };
      },
      signal,
    );
  }

  /** Inserts our route for `destination` → `target` and waits; 409 with the same next hop is success. */
  async function insert(
    table: RouteTable,
    destination: string,
    target: string,
    signal: AbortSignal,
    fence: () => Promise<void>,
    fenceNow?: () => void,
  ): Promise<Done> {
    const link = await instanceLink(target, signal);
    if (!link)
      throw new ProviderError(
        'notFound',
        'InstanceNotFound',
        `routes.insert: instance ${target} not found in project ${project}`,
        { action: 'routes.insert' },
      );
    const name = routeName(ctx.cluster, destination);
    const key = `insert:${name}`;
    const earlier = await awaitPending(key, 'routes.insert', signal);
    if (earlier) return earlier;
    const resource = {
      name,
      network: `projects/${project}/global/networks/${table.id}`,
      destRange: destination,
      nextHopInstance: link,
      priority: PRIORITY,
      description: ownerMark(ctx.cluster),
    };
    return caller.retrying(
      'routes.insert',
      async () => {
        let op: RawOperation;
        try {
          // Fenced once a write slot is ours: many lanes queue here, and the world may change while they do.
          const [lro] = await writes.use(async () => {
            await writeTokens.take(signal);
            await fence();
            return onTheWire(fenceNow, () =>
              caller.once('routes.insert', (o) => sdk().routes.insert({ project, routeResource: resource }, o), signal),
            );
          }, signal);
          op = (lro as unknown as { latestResponse: RawOperation }).latestResponse;
        } catch (e) {
          // The VM may have been recreated elsewhere since the listing: look it up afresh next time.
          if (e instanceof ProviderError && e.kind === 'notFound') selfLinks.delete(target);
          if (!(e instanceof ProviderError && e.kind === 'alreadyExists')) throw e;
          const existing = await getRoute(name, signal);
          // Held by an insert still in flight (a racing controller's, or ours from before a restart): looked at
          // again next pass, not re-sent in a loop of 409s now.
          if (!existing)
            throw new OperationPendingError(
              'busy',
              'RouteNotReady',
              `routes.insert: ${name} exists but is not readable yet (an insert is running)`,
              { action: 'routes.insert' },
            );
          if (
            existing.destRange === destination &&
            existing.nextHopInstance &&
            lastSegment(existing.nextHopInstance) === target
          )
            return { outcome: 'alreadyDone' };
          if (!isMarked(ctx.cluster, String(existing.name), existing.description)) throw e;
          // Ours, but pointing elsewhere: routes are immutable, so delete and insert again.
          log.info(
            { route: name, was: existing.nextHopInstance, want: target },
            'route exists with another next hop; recreating',
          );
          await deleteByName(name, signal, fence, fenceNow);
          throw new ProviderError('busy', 'Recreate', `routes.insert: ${name} recreated`, { action: 'routes.insert' });
        }
        await awaitSent(key, op, 'routes.insert', signal);
        return { outcome: 'applied', ...opId(op) };
      },
      signal,
    );
  }

  async function apply(table: RouteTable, changes: Change[], opts: ApplyOptions): Promise<ChangeResult[]> {
    const { signal } = opts;
    signal.throwIfAborted();
    const results: (ChangeResult | undefined)[] = new Array(changes.length);
    const emit = (i: number, r: ChangeResult) => {
      results[i] = r;
      opts.onProgress?.({ type: 'result', table: table.id, result: r });
    };
    opts.onProgress?.({ type: 'start', table: table.id, total: changes.length });
    let fenceError: ProviderError | undefined;
    const fence = async () => {
      if (fenceError) throw fenceError;
      try {
        await opts.fence?.();
      } catch (e) {
        fenceError = new ProviderError(
          'auth',
          'Fenced',
          `apply: leadership lost (${e instanceof Error ? e.message : String(e)})`,
          { action: 'apply', cause: e },
        );
        throw fenceError;
      }
    };

    // Quota first: creates beyond what the project has left are not attempted.
    let slots = Number.POSITIVE_INFINITY;
    let quotaError: ProviderError | undefined;
    let refusedByCloud: ProviderError | undefined;
    let quotaKnown = false;
    if (changes.some((c) => c.op === 'create')) {
      try {
        const q = opts.quota ?? (await quota(table, signal));
        slots = Math.max(0, q.limit - q.used);
        quotaKnown = q.source === 'api';
      } catch (e) {
        signal.throwIfAborted();
        log.warn(
          { err: e instanceof Error ? e.message : String(e) },
          'quota unknown before creates; relying on the cloud to refuse',
        );
      }
    }

    // Without the cloud's own quota figure (unreadable, or a configured/default guess) only the cloud can
    // say stop: creates then wait for their operations within `concurrency` lanes, so a full project costs
    // at most that many refused inserts.
    const blindCreates = quotaKnown ? undefined : new Semaphore(config.concurrency);

    const run = async (i: number): Promise<void> => {
      const c = changes[i] as Change;
      if (fenceError) return emit(i, { change: c, outcome: 'skipped', error: fenceError });
      try {
        if (c.table !== table.id)
          throw new ProviderError(
            'invalid',
            'WrongTable',
            `change for table ${c.table} given to apply on ${table.id}`,
            { action: 'apply' },
          );
        if (c.op === 'delete') {
          const name = c.providerId ?? routeName(ctx.cluster, c.destination);
          const done = await deleteByName(name, signal, fence, opts.fenceNow);
          slots++;
          return emit(i, { change: c, ...done });
        }
        if (c.target === null)
          throw new ProviderError('invalid', 'NoTarget', `${c.op} ${c.destination}: target is required`, {
            action: 'apply',
          });
        if (c.op === 'replace') {
          const old = c.providerId ?? routeName(ctx.cluster, c.destination);
          await deleteByName(old, signal, fence, opts.fenceNow);
          const done = await insert(table, c.destination, c.target, signal, fence, opts.fenceNow);
          // The insert's operation is the one that put the new route in place.
          return emit(i, { change: c, outcome: 'applied', ...(done.requestId ? { requestId: done.requestId } : {}) });
        }
        if (quotaError) return emit(i, { change: c, outcome: 'failed', error: quotaError });
        if (slots <= 0) {
          quotaError = new ProviderError(
            'quota',
            'QUOTA_EXCEEDED',
            `routes.insert: project ${project} has no ROUTES quota left`,
            { action: 'routes.insert' },
          );
          return emit(i, { change: c, outcome: 'failed', error: quotaError });
        }
        slots--;
        try {
          // The cloud's refusal met by another lane stops the creates still queued for a write slot.
          const createFence = async () => {
            await fence();
            if (refusedByCloud) throw refusedByCloud;
          };
          const target = c.target;
          const create = () =>
            insert(table, c.destination, target, signal, createFence, opts.fenceNow).catch((e: unknown) => {
              // Noted before the lane is handed on, so the next queued create sees it.
              if (e instanceof ProviderError && e.kind === 'quota') refusedByCloud ??= e;
              throw e;
            });
          const done = await (blindCreates ? blindCreates.use(create, signal) : create());
          if (done.outcome === 'alreadyDone') slots++;
          return emit(i, { change: c, ...done });
        } catch (e) {
          slots++;
          throw e;
        }
      } catch (e) {
        signal.throwIfAborted();
        const pe =
          e instanceof ProviderError
            ? e
            : new ProviderError('unavailable', 'Unexpected', String(e), { action: 'apply', cause: e });
        if (pe === fenceError) return emit(i, { change: c, outcome: 'skipped', error: pe });
        if (pe.kind === 'quota' && c.op === 'create') {
          quotaError ??= pe;
          refusedByCloud ??= pe;
        }
        log.warn({ op: c.op, destination: c.destination, kind: pe.kind, code: pe.code }, 'route change failed');
        return emit(i, {
          change: c,
          outcome: 'failed',
          error: pe,
          ...(pe.requestId ? { requestId: pe.requestId } : {}),
        });
      }
    };

    // Deletes first (they free quota), then replaces, then creates, each phase with bounded parallelism.
    const order = (op: Change['op']) => changes.map((c, i) => (c.op === op ? i : -1)).filter((i) => i >= 0);
    // The lanes only wait; `writes` and `waits` bound what they hold on the wire.
    const lanes = maxWrites + maxWaits;
    for (const phase of [order('delete'), order('replace'), order('create')])
      await forEachBounded(phase, lanes, run, signal);
    signal.throwIfAborted();
    return results.map((r, i) => r ?? { change: changes[i] as Change, outcome: 'skipped' });
  }

  return {
    kind: 'gce',
    listInstances,
    lookupInstances,
    routeTables,
    listRoutes,
    quota,
    apply,
    preflight: async () => sdk().checkAuth(),
    async close() {
      await clients?.close();
    },
  };
}

/** A write's outcome and the operation that carried it: GCE's request id for support and the audit log. */
interface Done {
  outcome: 'applied' | 'alreadyDone';
  requestId?: string;
}

function opId(op: RawOperation): { requestId?: string } {
  return typeof op.name === 'string' ? { requestId: op.name } : {};
}
