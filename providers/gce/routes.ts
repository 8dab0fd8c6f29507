// The GCE "route table" is the VPC network: its routes (project-wide resources filtered by network), and the
// project's ROUTES quota that every network shares.
import { isCidr } from '../../src/lib/cidr.ts';
import { collectPages } from '../../src/lib/paging.ts';
import { ProviderError, type Quota, type Route, type RouteTable } from '../types.ts';
import { gceIdOfInstanceUrl } from './instance-id.ts';
import { escapeRegex, isMarked, lastSegment } from './names.ts';
import type { GceSession } from './session.ts';
import {
  BLACKHOLE_WARNINGS,
  CANNOT_FORWARD_WARNINGS,
  checkKind,
  DEFAULT_ROUTE_QUOTA,
  malformed,
  type RawRoute,
} from './wire.ts';

export type GceQuota = ReturnType<typeof gceQuota>;

/** The network as the route table, and its routes. */
export function gceRoutes(s: GceSession) {
  const { config, project, network, cluster, caller, sdk, routePage, maxPages } = s;
  async function routeTables(signal?: AbortSignal): Promise<RouteTable[]> {
    if (config.routeTableIds && config.routeTableIds.length > 0)
      return config.routeTableIds.map((id) => ({ id, name: id }));
    const action = 'networks.get';
    const [net] = await caller.call(action, (o) => sdk().networks.get({ project, network: network }, o), signal);
    checkKind(action, net, 'compute#network');
    if (typeof net.name !== 'string') throw malformed(action, 'network without name');
    return [{ id: net.name, name: net.name, ...(net.selfLink ? { vpcId: net.selfLink } : {}) }];
  }

  function toRoute(table: RouteTable, r: RawRoute): Route {
    const action = 'routes.list';
    if (typeof r.name !== 'string' || r.name === '' || typeof r.destRange !== 'string')
      throw malformed(action, 'route without name/destRange');
    if (!isCidr(r.destRange)) throw malformed(action, `route ${r.name} has destRange ${JSON.stringify(r.destRange)}`);
    // The next hop's URL names its zone: the target is the VM's zoned id (instance-id.ts), so a route
    // written by an older version (same name, same description) reads as the same route of ours.
    const target = r.nextHopInstance ? gceIdOfInstanceUrl(r.nextHopInstance) : null;
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
      marked: isMarked(cluster, r.name, r.description),
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
        if (!Array.isArray(items)) throw malformed(action, 'items is not a list');
        return {
          items: items as RawRoute[],
          next: (raw as { nextPageToken?: string | null } | undefined)?.nextPageToken,
        };
      },
      (r) => {
        if (typeof r.network !== 'string') throw malformed(action, `route ${String(r.name)} without network`);
        if (lastSegment(r.network) === table.id) out.push(toRoute(table, r));
      },
      // A route's name is its provider id, unique in the project.
      {
        pageSize: routePage,
        key: (r) => String(r.name),
        maxPages,
        fail: (why) => malformed(action, why),
        signal,
      },
    );
    return out;
  }
  return { routeTables, listRoutes };
}

/** The project's ROUTES quota (shared by every network), else the config's or the default. */
export function gceQuota(s: GceSession) {
  const { config, project, log, caller, sdk, routePage } = s;
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
  return { quota };
}
