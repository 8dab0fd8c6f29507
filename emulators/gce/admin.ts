// The GCE emulator's admin API (`/_emulator/…`): its state, VMs added (canIpForward, zones) and terminated,
// routes made outside routesync, the project's ROUTES quota.
import { isCidr } from '../../src/lib/cidr.ts';
import type { EmuInstance, EmuInventory } from '../shared/inventory.ts';
import { AdminError, type EmulatorAdmin } from '../shared/types.ts';
import type { EmuRoute, GceState, RouteHop } from './state.ts';
import { RFC1035 } from './wire.ts';

/** What the admin API works on, from the emulator it belongs to. */
export interface GceAdminDeps {
  state: GceState;
  inventory: EmuInventory;
  defaultTags: Record<string, string>;
  /** The zones VMs may be added in. */
  zones: readonly string[];
  /** The network a body without `table` means, and the region of its VPN tunnels. */
  network: string;
  region: string;
  /** VMs created with canIpForward false. */
  noForward: Set<string>;
  /** Gives new VMs their numeric ids. */
  numbered(list: EmuInstance[]): EmuInstance[];
  /** Why a route's next hop cannot carry traffic (empty: it can). */
  hopWarnings(r: EmuRoute): Array<{ code: string; message: string }>;
}

export function gceAdmin(d: GceAdminDeps): EmulatorAdmin {
  const { state, inventory, defaultTags, noForward, numbered, hopWarnings } = d;
  const ZONES = d.zones;
  /** An admin caller's VM: its id (`<zone>/<name>`), or a bare name that only one VM has. */
  const adminFind = (ref: string): EmuInstance | undefined => {
    const byId = inventory.get(ref);
    if (byId || ref.includes('/')) return byId;
    const named = inventory.list().filter((i) => i.name === ref);
    if (named.length > 1)
      throw new AdminError(
        `${ref} names ${named.length} VMs (${named.map((i) => i.id).join(', ')}): give <zone>/<name>`,
      );
    return named[0];
  };

  const tableOf = (b: Record<string, unknown>): string => {
    const t = b.table === undefined ? d.network : b.table;
    if (typeof t !== 'string' || !state.networks.has(t))
      throw new AdminError(`table: unknown network ${String(t)} (known: ${[...state.networks.keys()].join(', ')})`);
    return t;
  };
  const obj = (body: unknown, what: string): Record<string, unknown> => {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new AdminError(`${what}: body must be an object`);
    return body as Record<string, unknown>;
  };
  const adminInstance = (i: EmuInstance) => ({
    id: i.id,
    name: i.name,
    privateIp: i.privateIp,
    zone: i.zone,
    state: i.state,
    tags: i.tags,
  });

  function adminRouteShape(r: EmuRoute): Record<string, unknown> {
    const warn = hopWarnings(r);
    const hopId = r.hop.kind === 'instance' ? `${r.hop.zone}/${r.hop.name}` : null;
    const nextHop =
      hopId !== null
        ? hopId
        : r.hop.kind === 'gateway'
          ? r.hop.name
          : r.hop.kind === 'ip'
            ? r.hop.ip
            : r.hop.kind === 'network'
              ? 'local'
              : `vpnTunnel:${r.hop.name}`;
    return {
      destination: r.destRange,
      target: hopId,
      nextHop,
      state: warn.length ? 'blackhole' : 'active',
      name: r.name,
      ...(r.description ? { description: r.description } : {}),
    };
  }

  const admin: EmulatorAdmin = {
    state() {
      state.settle();
      return {
        instances: inventory.list().map(adminInstance),
        tables: [...state.networks.keys()].map((n) => ({
          id: n,
          quota: state.routeQuota,
          routes: [...state.routes.values()]
            .filter((r) => r.network === n)
            .sort((a, b) => a.name.localeCompare(b.name))
            .map(adminRouteShape),
        })),
      };
    },
    addInstances(body) {
      const b = obj(body, 'instances');
      // GCE has no separate id: a VM is `<zone>/<name>`. An entry names it by `name` (+ `zone`), or by `id`
      // as a bare name or as `<zone>/<name>`.
      const norm = Array.isArray(b.instances)
        ? {
            ...b,
            instances: b.instances.map((x) => {
              if (typeof x !== 'object' || x === null) return x;
              const e = x as Record<string, unknown>;
              const { id, ...rest } = e;
              if (typeof id !== 'string') return e;
              const slash = id.indexOf('/');
              if (slash < 0) return { name: id, ...rest };
              return { zone: id.slice(0, slash), name: id.slice(slash + 1), ...rest };
            }),
          }
        : b;
      const forwards = (x: unknown): boolean => {
        const v = typeof x === 'object' && x !== null ? (x as Record<string, unknown>).canIpForward : undefined;
        if (v !== undefined && typeof v !== 'boolean')
          throw new AdminError('instances: canIpForward must be a boolean');
        return v !== false;
      };
      const each = Array.isArray(norm.instances) ? norm.instances : [];
      for (const x of [...each, norm]) {
        const e = (x ?? {}) as Record<string, unknown>;
        if (typeof e.name === 'string' && !RFC1035.test(e.name))
          throw new AdminError(`instances: ${e.name} is not a valid GCE instance name`);
        if (e.zone !== undefined && !(ZONES as readonly unknown[]).includes(e.zone))
          throw new AdminError(`instances: zone ${String(e.zone)} is not one of ${ZONES.join(', ')}`);
        forwards(x);
      }
      const countForwards = forwards(norm);
      const added = numbered(inventory.addFromAdmin(norm, defaultTags));
      added.forEach((inst, k) => {
        if (!(Array.isArray(norm.instances) ? forwards(each[k]) : countForwards)) noForward.add(inst.id);
      });
      return added.map((i) => ({ ...adminInstance(i), canIpForward: !noForward.has(i.id) }));
    },
    terminateInstance(id) {
      state.settle();
      // A deleted GCE instance disappears from the API; routes to it stay and carry a NOT_FOUND warning.
      const inst = adminFind(id);
      return inst !== undefined && inventory.terminate(inst.id) !== undefined;
    },
    addRoute(body) {
      state.settle();
      const b = obj(body, 'routes');
      const network = tableOf(b);
      if (typeof b.destination !== 'string' || !isCidr(b.destination))
        throw new AdminError('routes: destination must be a CIDR such as 172.16.3.0/24');
      const name = b.name === undefined ? `foreign-${state.hex(10)}` : b.name;
      if (typeof name !== 'string' || !RFC1035.test(name))
        throw new AdminError(`routes: name ${String(name)} is not a valid GCE resource name`);
      if (state.routes.has(name) || state.pendingInserts.has(name))
        throw new AdminError(`routes: a route named ${name} exists`, 409);
      let hop: RouteHop;
      if (b.target !== undefined) {
        const inst = typeof b.target === 'string' ? adminFind(b.target) : undefined;
        if (!inst) throw new AdminError(`routes: target ${String(b.target)} is not a known instance`);
        hop = { kind: 'instance', zone: inst.zone, name: inst.name };
      } else if (typeof b.nextHop === 'string' && b.nextHop !== '') {
        if (isCidr(`${b.nextHop}/32`)) hop = { kind: 'ip', ip: b.nextHop };
        else if (b.nextHop === 'default-internet-gateway') hop = { kind: 'gateway', name: b.nextHop };
        else if (RFC1035.test(b.nextHop)) hop = { kind: 'vpnTunnel', region: d.region, name: b.nextHop };
        else throw new AdminError('routes: nextHop must be an IP, default-internet-gateway or a VPN tunnel name');
      } else throw new AdminError('routes: give target (an instance id) or nextHop');
      if (b.description !== undefined && typeof b.description !== 'string')
        throw new AdminError('routes: description must be a string');
      // Out-of-band routes bypass the quota check on purpose: tests use them to fill the project.
      const r = state.put({
        name,
        network,
        destRange: b.destination,
        priority: 1000,
        description: (b.description as string | undefined) ?? '',
        hop,
        routeType: 'STATIC',
        system: false,
      });
      return adminRouteShape(r);
    },
    deleteRoute(body) {
      state.settle();
      const b = obj(body, 'routes');
      const network = tableOf(b);
      if (typeof b.destination !== 'string') throw new AdminError('routes: destination is required');
      const r = [...state.routes.values()].find(
        (x) => x.network === network && x.destRange === b.destination && x.routeType !== 'SUBNET',
      );
      if (!r) return false;
      state.routes.delete(r.name);
      return true;
    },
    setQuota(body) {
      const b = obj(body, 'quota');
      if (b.table !== undefined) tableOf(b);
      if (!Number.isInteger(b.limit) || (b.limit as number) < 0)
        throw new AdminError('quota: limit must be a non-negative integer');
      // One ROUTES quota per project, whichever table is named.
      state.routeQuota = b.limit as number;
    },
  };

  return admin;
}
