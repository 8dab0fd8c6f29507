// Wire-level emulator of the Compute Engine v1 REST subset routesync uses: routes (list/get/insert/delete),
// global operations (get/wait), projects.get (quotas), instances (list/get/aggregatedList) and networks.
// The official @google-cloud/compute client (REST fallback) and gcloud talk to it unchanged. Requests are
// read by request.ts and resources rendered by render.ts; the admin API is admin.ts.
import { hostileGce } from './hostile.ts';
import { isCidr } from '../../src/lib/cidr.ts';
import { EmuInventory, type EmuInstance } from '../shared/inventory.ts';
import { paginate } from '../shared/paging.ts';
import { drawMs, pickProfile } from '../shared/profile.ts';
import { MinuteWindow } from './rate-window.ts';
import type { CloudEmulator, EmulatorContext, EmulatorFactory, EmuRequest, EmuResponse } from '../shared/types.ts';
import { compileFilter, FilterError, type FieldGetter } from './filter.ts';
import { GceState, type EmuOperation, type EmuRoute, type RouteHop } from './state.ts';
import {
  alreadyExists,
  apiError,
  invalid,
  notFound,
  ok,
  parseInstanceRef,
  parseNetworkRef,
  rateLimited,
  RFC1035,
  rfc3339,
  Urls,
} from './wire.ts';
import { gceAdmin } from './admin.ts';
import { gceMetadata } from './metadata.ts';
import { gceRenderers } from './render.ts';
import { bearer, parsePath, rateGroup } from './request.ts';
import { type OperationTiming, PROFILES, RATE_GROUPS, type RateGroup } from './profile.ts';

const TOPO = { project: 'routesync-emu', network: 'cluster-net', region: 'us-central1' } as const;

/** The fixed ids a config needs. The "table" of GCE is the network; a second network shares the project's ROUTES quota. */
export const EMULATOR_TOPOLOGY: {
  region?: string;
  vpcId?: string;
  project?: string;
  network?: string;
  tables: string[];
} = {
  ...TOPO,
  tables: [TOPO.network],
};

export const SECOND_NETWORK = 'shared-net';
export const ZONES = ['us-central1-a', 'us-central1-b', 'us-central1-c'] as const;
const MAX_RESULTS = 500;

export type { RateGroup } from './profile.ts';

export interface GceEmulator extends CloudEmulator {
  /** Test knob: requests per minute of one rate quota group (a fresh window from now to the minute's turn). */
  setRateLimit(group: RateGroup, perMinute: number): void;
  /** Test knob: while held, new operations stay PENDING; releasing starts their clocks from now. */
  holdOperations(hold: boolean): void;
  /**
   * Test knob: zones Compute cannot reach (a zonal outage). aggregatedList then answers without their VMs,
   * the scope carrying an UNREACHABLE warning and the zone in `unreachables`; zonal calls there answer 503.
   */
  setUnreachableZones(zones: readonly string[]): void;
  /** Test knob: operation clocks from now on (SLOW_OPERATIONS: minutes at scale); the profile's by default. */
  setOperationTiming(t: OperationTiming): void;
}

export const createGceEmulator: EmulatorFactory = (ctx: EmulatorContext): GceEmulator => {
  const { clock, rng, options } = ctx;
  const profile = pickProfile(PROFILES, options.profile);
  const project = TOPO.project;
  const defaultTags = { [options.instanceTag?.key ?? 'routesync-cluster']: options.instanceTag?.value ?? 'demo' };
  const state = new GceState(clock, rng, options.routeQuota ?? profile.defaultRouteQuota);
  state.addNetwork(TOPO.network, {
    name: `${TOPO.network}-${TOPO.region}`,
    region: TOPO.region,
    range: '10.128.0.0/16',
  });
  state.addNetwork(SECOND_NETWORK, {
    name: `${SECOND_NETWORK}-${TOPO.region}`,
    region: TOPO.region,
    range: '10.200.0.0/16',
  });
  // Instance names are unique per zone: a VM is known by `<zone>/<name>`, so one name may live in two zones.
  const inventory = new EmuInventory(
    { idFor: (n) => `node-${n}`, zones: ZONES, ipPrefix: '10.128', idOf: (name, zone) => `${zone}/${name}` },
    () => clock.now(),
  );
  const numericIds = new Map<string, string>();
  let unreachable = new Set<string>();
  /** VMs created with canIpForward false (settable only at creation on GCE): routes to them carry a warning. */
  const noForward = new Set<string>();
  const origin = clock.now();
  const perMinuteWindow = (perMinute: number) => new MinuteWindow(perMinute, clock, origin);
  const buckets = new Map<RateGroup, MinuteWindow>(
    RATE_GROUPS.map((g) => [g, perMinuteWindow(profile.rateQuotaPerMinute[g])]),
  );

  const numbered = (list: EmuInstance[]) => {
    for (const i of list) if (!numericIds.has(i.id)) numericIds.set(i.id, state.nextId());
    return list;
  };
  if (options.instances) numbered(inventory.add(options.instances, defaultTags));

  let timing: OperationTiming = profile;
  // Start before done: the order the seeded rng has always been drawn in.
  const opTiming = () => {
    const startMs = drawMs(timing.operationStart, rng);
    return { startMs, doneMs: drawMs(timing.operationDone, rng) };
  };
  let heldOps: EmuOperation[] | null = null;
  const track = (op: EmuOperation): EmuOperation => {
    if (heldOps) {
      op.startAt = Number.POSITIVE_INFINITY;
      op.doneAt = Number.POSITIVE_INFINITY;
      heldOps.push(op);
    }
    return op;
  };

  const { visibleInstance, hopWarnings, renderRoute, renderOp, renderInstance } = gceRenderers({
    state,
    inventory,
    noForward,
    numericIds,
    network: TOPO.network,
    region: TOPO.region,
  });

  function pageParams(req: EmuRequest): { max: number; token: string | null } | EmuResponse {
    const raw = req.url.searchParams.get('maxResults');
    const max = raw === null ? MAX_RESULTS : Number(raw);
    if (!Number.isInteger(max) || max < 0 || max > MAX_RESULTS)
      return invalid(`Invalid value for field 'maxResults': '${raw}'. Must be less than or equal to 500`);
    return { max: max === 0 ? MAX_RESULTS : max, token: req.url.searchParams.get('pageToken') };
  }

  function listPage<T>(
    all: T[],
    req: EmuRequest,
    render: (items: T[], next: string | undefined) => Record<string, unknown>,
  ): EmuResponse {
    const p = pageParams(req);
    if ('status' in p) return p;
    const page = paginate(all, p.token, p.max, req.paging);
    if (!page) return invalid(`Invalid value for field 'pageToken': '${p.token}'. Supplied page token is not valid.`);
    return ok(render(page.items, page.nextToken));
  }

  function filterOf(req: EmuRequest, known: (f: string) => boolean): ((g: FieldGetter) => boolean) | EmuResponse {
    try {
      return compileFilter(req.url.searchParams.get('filter'), known);
    } catch (e) {
      if (e instanceof FilterError) return invalid(e.message);
      throw e;
    }
  }

  const ROUTE_FIELDS = new Set([
    'name',
    'network',
    'description',
    'destRange',
    'priority',
    'nextHopInstance',
    'nextHopGateway',
    'nextHopIp',
    'routeType',
    'id',
  ]);

  function listRoutes(req: EmuRequest, u: Urls): EmuResponse {
    const match = filterOf(req, (f) => ROUTE_FIELDS.has(f));
    if ('status' in match) return match;
    const rendered = [...state.routes.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((r) => renderRoute(r, u));
    const all = rendered.filter((r) => match((f) => (r[f] === undefined ? null : String(r[f]))));
    return listPage(all, req, (items, next) => ({
      kind: 'compute#routeList',
      id: `projects/${project}/global/routes`,
      ...(items.length ? { items } : {}),
      ...(next ? { nextPageToken: next } : {}),
      selfLink: `${u.projectUrl()}/global/routes`,
    }));
  }

  function parseHop(body: Record<string, unknown>): RouteHop | EmuResponse {
    const hops = [
      'nextHopInstance',
      'nextHopGateway',
      'nextHopIp',
      'nextHopNetwork',
      'nextHopVpnTunnel',
      'nextHopIlb',
    ].filter((k) => body[k] !== undefined && body[k] !== '');
    if (hops.length !== 1)
      return invalid(
        `Invalid value for field 'resource': exactly one next hop must be specified (got ${hops.length ? hops.join(', ') : 'none'}).`,
      );
    const key = hops[0] as string;
    const v = body[key];
    if (typeof v !== 'string') return invalid(`Invalid value for field 'resource.${key}': '${String(v)}'.`);
    if (key === 'nextHopInstance') {
      const ref = parseInstanceRef(v);
      if (!ref) return invalid(`Invalid value for field 'resource.nextHopInstance': '${v}'. The URL is malformed.`);
      if ((ref.project ?? project) !== project)
        return notFound(`projects/${ref.project}/zones/${ref.zone}/instances/${ref.name}`);
      const inst = visibleInstance(ref.zone, ref.name);
      if (!inst) return notFound(`projects/${project}/zones/${ref.zone}/instances/${ref.name}`);
      return { kind: 'instance', zone: ref.zone, name: ref.name };
    }
    if (key === 'nextHopGateway') {
      const name = v.split('/').pop() as string;
      if (name !== 'default-internet-gateway')
        return invalid(`Invalid value for field 'resource.nextHopGateway': '${v}'.`);
      return { kind: 'gateway', name };
    }
    if (key === 'nextHopIp') {
      if (!isCidr(`${v}/32`))
        return invalid(`Invalid value for field 'resource.nextHopIp': '${v}'. Invalid IPv4 address.`);
      return { kind: 'ip', ip: v };
    }
    return invalid(`Invalid value for field 'resource.${key}': '${v}'. Not supported by this emulator.`);
  }

  function insertRoute(req: EmuRequest, u: Urls, user: string): EmuResponse {
    let body: unknown;
    try {
      body = JSON.parse(req.body);
    } catch {
      return invalid('Invalid JSON payload received.');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return invalid('Invalid JSON payload received: the route resource must be an object.');
    const b = body as Record<string, unknown>;
    if (typeof b.name !== 'string' || b.name === '') return invalid("Required field 'resource.name' not specified");
    if (!RFC1035.test(b.name))
      return invalid(
        `Invalid value for field 'resource.name': '${b.name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`,
      );
    if (typeof b.destRange !== 'string' || b.destRange === '')
      return invalid("Required field 'resource.destRange' not specified");
    if (!isCidr(b.destRange))
      return invalid(
        `Invalid value for field 'resource.destRange': '${b.destRange}'. Must be a valid IPv4 CIDR address range.`,
      );
    if (typeof b.network !== 'string' || b.network === '')
      return invalid("Required field 'resource.network' not specified");
    const network = parseNetworkRef(b.network);
    if (!network) return invalid(`Invalid value for field 'resource.network': '${b.network}'. The URL is malformed.`);
    if (!state.networks.has(network)) return notFound(`projects/${project}/global/networks/${network}`);
    const priority = b.priority === undefined ? 1000 : Number(b.priority);
    if (!Number.isInteger(priority) || priority < 0 || priority > 65535)
      return invalid(
        `Invalid value for field 'resource.priority': '${String(b.priority)}'. Must be between 0 and 65535.`,
      );
    if (b.description !== undefined && (typeof b.description !== 'string' || b.description.length > 2048))
      return invalid("Invalid value for field 'resource.description'.");
    const hop = parseHop(b);
    if ('status' in hop) return hop;
    if (state.routes.has(b.name) || state.pendingInserts.has(b.name))
      return alreadyExists(`projects/${project}/global/routes/${b.name}`);
    const tags = Array.isArray(b.tags) ? b.tags.filter((t): t is string => typeof t === 'string') : [];
    const route: EmuRoute = {
      id: state.nextId(),
      name: b.name,
      network,
      destRange: b.destRange,
      priority,
      description: typeof b.description === 'string' ? b.description : '',
      createdAt: clock.now(),
      hop,
      routeType: 'STATIC',
      system: false,
      tags,
    };
    let op: EmuOperation;
    if (state.quotaUsage() >= state.routeQuota) {
      // Compute accepts the insert and fails the operation: the caller learns it only by waiting.
      op = track(
        state.newOperation('insert', route.name, route.id, user, opTiming(), undefined, {
          code: 'QUOTA_EXCEEDED',
          message: `Quota 'ROUTES' exceeded.  Limit: ${state.routeQuota}.0 globally.`,
          http: 403,
        }),
      );
    } else {
      state.pendingInserts.set(route.name, route);
      op = track(
        state.newOperation('insert', route.name, route.id, user, opTiming(), () => {
          state.pendingInserts.delete(route.name);
          route.createdAt = clock.now();
          state.routes.set(route.name, route);
        }),
      );
    }
    return ok(renderOp(op, u));
  }

  function deleteRoute(name: string, u: Urls, user: string): EmuResponse {
    const r = state.routes.get(name);
    if (!r) return notFound(`projects/${project}/global/routes/${name}`);
    if (r.routeType === 'SUBNET')
      return invalid(`Invalid value for field 'route': '${name}'. Subnetwork routes cannot be deleted.`);
    if (state.pendingDeletes.has(name))
      return apiError(400, 'resourceNotReady', `The resource 'projects/${project}/global/routes/${name}' is not ready`);
    state.pendingDeletes.add(name);
    const op = track(
      state.newOperation('delete', name, r.id, user, opTiming(), () => {
        state.pendingDeletes.delete(name);
        if (state.routes.get(name) === r) state.routes.delete(name);
      }),
    );
    return ok(renderOp(op, u));
  }

  async function waitOp(name: string, u: Urls): Promise<EmuResponse> {
    const op = state.operations.get(name);
    if (!op) return notFound(`projects/${project}/global/operations/${name}`);
    // Compute's wait returns when the operation is DONE or after about two minutes, whichever is first.
    const until = Math.min(op.doneAt, clock.now() + timing.operationWaitMaxMs);
    // Timers round to whole real milliseconds, so one sleep can end a hair early: sleep until really there.
    while (clock.now() < until) await clock.sleep(Math.max(until - clock.now(), clock.timeScale));
    state.settle();
    return ok(renderOp(op, u));
  }

  const INSTANCE_FIELDS = (f: string) =>
    ['name', 'status', 'zone', 'id', 'canIpForward', 'machineType'].includes(f) || /^labels\.[a-z0-9_-]+$/.test(f);
  const instanceGetter = (r: Record<string, unknown>) => (f: string) => {
    if (f.startsWith('labels.')) return (r.labels as Record<string, string>)[f.slice(7)] ?? null;
    return r[f] === undefined ? null : String(r[f]);
  };

  const zoneDown = (zone: string) =>
    apiError(503, 'backendError', `The zone 'projects/${project}/zones/${zone}' is currently unavailable.`);

  function listInstances(req: EmuRequest, u: Urls, zone: string | null): EmuResponse {
    if (zone !== null && !(ZONES as readonly string[]).includes(zone))
      return notFound(`projects/${project}/zones/${zone}`);
    if (zone !== null && unreachable.has(zone)) return zoneDown(zone);
    const match = filterOf(req, INSTANCE_FIELDS);
    if ('status' in match) return match;
    const all = inventory
      .live()
      .filter((i) => (zone === null ? !unreachable.has(i.zone) : i.zone === zone))
      .sort((a, b) => a.zone.localeCompare(b.zone) || a.name.localeCompare(b.name, 'en', { numeric: true }))
      .map((i) => renderInstance(i, u))
      .filter((r) => match(instanceGetter(r)));
    if (zone !== null) {
      return listPage(all, req, (items, next) => ({
        kind: 'compute#instanceList',
        id: `projects/${project}/zones/${zone}/instances`,
        ...(items.length ? { items } : {}),
        ...(next ? { nextPageToken: next } : {}),
        selfLink: `${u.zone(zone)}/instances`,
      }));
    }
    return listPage(all, req, (items, next) => {
      const byZone: Record<string, unknown> = {};
      for (const z of ZONES) {
        const inZone = items.filter((i) => i.zone === u.zone(z));
        byZone[`zones/${z}`] = unreachable.has(z)
          ? {
              warning: {
                code: 'UNREACHABLE',
                message: `Scope 'zones/${z}' is unreachable.`,
                data: [{ key: 'scope', value: `zones/${z}` }],
              },
            }
          : inZone.length
            ? { instances: inZone }
            : {
                warning: {
                  code: 'NO_RESULTS_ON_PAGE',
                  message: `There are no results for scope 'zones/${z}' on this page.`,
                  data: [{ key: 'scope', value: `zones/${z}` }],
                },
              };
      }
      return {
        kind: 'compute#instanceAggregatedList',
        id: `projects/${project}/aggregated/instances`,
        items: byZone,
        ...(unreachable.size ? { unreachables: [...unreachable].sort().map((z) => `zones/${z}`) } : {}),
        ...(next ? { nextPageToken: next } : {}),
        selfLink: `${u.projectUrl()}/aggregated/instances`,
      };
    });
  }

  function renderNetwork(name: string, u: Urls): Record<string, unknown> {
    const n = state.networks.get(name)!; // eslint-disable-line -- callers check existence
    return {
      kind: 'compute#network',
      id: n.id,
      creationTimestamp: rfc3339(n.createdAt),
      name: n.name,
      selfLink: u.global('networks', n.name),
      autoCreateSubnetworks: false,
      subnetworks: [`${u.region(n.subnet.region)}/subnetworks/${n.subnet.name}`],
      routingConfig: { routingMode: 'REGIONAL' },
    };
  }

  function projectResource(u: Urls): Record<string, unknown> {
    return {
      kind: 'compute#project',
      id: '1234567890123',
      name: project,
      creationTimestamp: rfc3339(0),
      quotas: [
        { metric: 'NETWORKS', limit: 15, usage: state.networks.size },
        { metric: 'ROUTES', limit: state.routeQuota, usage: state.quotaUsage() },
        { metric: 'FIREWALLS', limit: 200, usage: 0 },
        { metric: 'SUBNETWORKS', limit: 275, usage: state.networks.size },
      ],
      selfLink: u.projectUrl(),
      defaultNetworkTier: 'PREMIUM',
    };
  }

  async function handle(req: EmuRequest, action: string): Promise<EmuResponse> {
    state.settle();
    const p = parsePath(req.method, req.url.pathname);
    const token = bearer(req);
    if (!token)
      return apiError(
        401,
        'required',
        'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      );
    if (p.action === 'unknown')
      return apiError(404, 'notFound', `The requested URL ${req.url.pathname} was not found on this server.`);
    if (p.project !== project) return notFound(`projects/${p.project}`);
    const bucket = buckets.get(rateGroup(action));
    if (bucket && !bucket.tryTake())
      return rateLimited(rateGroup(action) === 'default' ? 'Queries' : rateGroup(action));
    const u = Urls.fromHost(req.headers.host, project);
    const user = `${token.slice(0, 12)}@emulator`;
    switch (p.action) {
      case 'projects.get':
        return ok(projectResource(u));
      case 'routes.list':
        return listRoutes(req, u);
      case 'routes.get': {
        const r = state.routes.get(p.name as string);
        return r ? ok(renderRoute(r, u)) : notFound(`projects/${project}/global/routes/${p.name}`);
      }
      case 'routes.insert':
        return insertRoute(req, u, user);
      case 'routes.delete':
        return deleteRoute(p.name as string, u, user);
      case 'globalOperations.get': {
        const op = state.operations.get(p.name as string);
        return op ? ok(renderOp(op, u)) : notFound(`projects/${project}/global/operations/${p.name}`);
      }
      case 'globalOperations.wait':
        return waitOp(p.name as string, u);
      case 'networks.list':
        return listPage(
          [...state.networks.keys()].map((n) => renderNetwork(n, u)),
          req,
          (items, next) => ({
            kind: 'compute#networkList',
            id: `projects/${project}/global/networks`,
            items,
            ...(next ? { nextPageToken: next } : {}),
            selfLink: `${u.projectUrl()}/global/networks`,
          }),
        );
      case 'networks.get':
        return state.networks.has(p.name as string)
          ? ok(renderNetwork(p.name as string, u))
          : notFound(`projects/${project}/global/networks/${p.name}`);
      case 'instances.aggregatedList':
        return listInstances(req, u, null);
      case 'instances.list':
        return listInstances(req, u, p.zone as string);
      case 'instances.get': {
        if (unreachable.has(p.zone as string)) return zoneDown(p.zone as string);
        const i = visibleInstance(p.zone as string, p.name as string);
        return i ? ok(renderInstance(i, u)) : notFound(`projects/${project}/zones/${p.zone}/instances/${p.name}`);
      }
      default:
        return apiError(404, 'notFound', `The requested URL ${req.url.pathname} was not found on this server.`);
    }
  }

  const admin = gceAdmin({
    state,
    inventory,
    defaultTags,
    zones: ZONES,
    network: TOPO.network,
    region: TOPO.region,
    noForward,
    numbered,
    hopWarnings,
  });

  return {
    kind: 'gce',
    metadata: gceMetadata,
    topology: {
      region: TOPO.region,
      project: TOPO.project,
      network: TOPO.network,
      tables: [TOPO.network, SECOND_NETWORK],
      credentials: { ROUTESYNC_GCE_ACCESS_TOKEN: 'local' },
      credentialsRule: 'any bearer token (not checked; one must be present)',
    },
    identify(req) {
      const p = parsePath(req.method, req.url.pathname);
      return {
        action: p.action,
        client: bearer(req) ?? 'anonymous',
        mutating: p.action === 'routes.insert' || p.action === 'routes.delete',
      };
    },
    handle,
    hostileResponse: hostileGce,
    faultResponse(error, action) {
      if (error === 'throttle') return rateLimited(rateGroup(action) === 'default' ? 'Queries' : rateGroup(action));
      if (error === '429') return apiError(429, 'rateLimitExceeded', 'Too many requests.', 'usageLimits');
      if (error === '5xx') return apiError(503, 'backendError', 'The service is currently unavailable.');
      if (error === 'QUOTA_EXCEEDED') return apiError(403, 'quotaExceeded', "Quota 'ROUTES' exceeded.", 'usageLimits');
      if (/^\d{3}$/.test(error)) return apiError(Number(error), 'injected', `Injected HTTP ${error}.`);
      return apiError(400, error, `Injected error ${error}.`);
    },
    latencyMs(action, mutating) {
      if (mutating) return drawMs(profile.mutatingLatency, rng);
      return drawMs(action.startsWith('globalOperations.') ? profile.operationReadLatency : profile.readLatency, rng);
    },
    admin,
    setRateLimit(group, perMinuteLimit) {
      buckets.set(group, perMinuteWindow(perMinuteLimit));
    },
    setOperationTiming(t) {
      timing = t;
    },
    setUnreachableZones(zones) {
      for (const z of zones)
        if (!(ZONES as readonly string[]).includes(z))
          throw new Error(`unreachable zone ${z}: not one of ${ZONES.join(', ')}`);
      unreachable = new Set(zones);
    },
    holdOperations(hold) {
      if (hold) {
        heldOps ??= [];
        return;
      }
      const now = clock.now();
      for (const op of heldOps ?? []) {
        const t = opTiming();
        op.startAt = now + t.startMs;
        op.doneAt = now + Math.max(t.doneMs, t.startMs);
      }
      heldOps = null;
    },
  };
};
