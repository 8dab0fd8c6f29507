// The AWS emulator's admin API (`/_emulator/…`): its state (ENIs included), instances launched (with the
// network interfaces asked for) and terminated, routes made outside routesync (prefix lists, propagated
// routes), quotas.
import type { EmuInventory, EmuInstance } from '../shared/inventory.ts';
import { AdminError, type EmulatorAdmin } from '../shared/types.ts';
import { isPrefixList, nextHopOf, type RouteTarget, type VpcState } from './state.ts';
import { Ec2Fault } from './wire.ts';

/** What the admin API works on, from the emulator it belongs to. */
export interface AwsAdminDeps {
  vpc: VpcState;
  inventory: EmuInventory;
  defaultTags: Record<string, string>;
  /** The table a body without `table` means. */
  mainTable: string;
  /** Launched instances, given their network interfaces (the profile's every-n-th second ENI, or as asked). */
  withEnis<T extends EmuInstance>(list: T[], explicit: (i: number) => number | undefined): T[];
  /** A quota set for every table: the account's applied value from now on. */
  applyQuota(limit: number): void;
}

export function awsAdmin(d: AwsAdminDeps): EmulatorAdmin {
  const { vpc, inventory, defaultTags, withEnis } = d;

  const admin: EmulatorAdmin = {
    state() {
      return {
        instances: inventory.list().map((i) => ({
          id: i.id,
          name: i.name,
          privateIp: i.privateIp,
          zone: i.zone,
          state: i.state,
          tags: { ...i.tags },
          networkInterfaces: vpc.enis
            .of(i)
            .map((e) => ({ id: e.id, deviceIndex: e.deviceIndex, sourceDestCheck: e.sourceDestCheck })),
        })),
        tables: vpc.tables.map((t) => ({
          id: t.id,
          quota: t.quota,
          main: t.main,
          used: vpc.used(t),
          routes: t.routes.map((r) => ({
            destination: r.destination,
            target: vpc.instanceOf(r) ?? null,
            nextHop: nextHopOf(vpc, r),
            ...(r.networkInterfaceId !== undefined ? { networkInterfaceId: r.networkInterfaceId } : {}),
            origin: r.origin,
            state: vpc.stateOf(r),
          })),
        })),
      };
    },
    addInstances(body: unknown) {
      // `networkInterfaces: N` (per instance or for the whole batch) gives those instances N ENIs.
      const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
      const items = Array.isArray(b.instances) ? (b.instances as Array<Record<string, unknown>>) : [];
      const enis = (v: unknown): number | undefined => {
        if (v === undefined) return undefined;
        if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 15)
          throw new AdminError('instances.networkInterfaces: must be an integer 1..15');
        return v as number;
      };
      const batch = enis(b.networkInterfaces);
      const each = items.map((x) => enis(x?.networkInterfaces));
      return withEnis(inventory.addFromAdmin(body, defaultTags), (i) => each[i] ?? batch).map((i) => ({
        id: i.id,
        name: i.name,
        privateIp: i.privateIp,
        zone: i.zone,
        state: i.state,
        tags: i.tags,
        networkInterfaces: vpc.enis.of(i).map((e) => e.id),
      }));
    },
    terminateInstance(id: string) {
      return inventory.terminate(id) !== undefined;
    },
    addRoute(body: unknown) {
      const b = adminBody(body);
      const table = adminTable(b.table);
      const destination = adminString(b.destination, 'destination');
      let target: RouteTarget;
      if (typeof b.target === 'string') target = { instanceId: b.target };
      else if (typeof b.nextHop === 'string') target = { hop: b.nextHop };
      else throw new AdminError('routes: give target (an instance id) or nextHop');
      if (isPrefixList(destination) && !vpc.prefixLists.has(destination)) {
        const maxEntries = b.maxEntries ?? 10;
        if (!Number.isInteger(maxEntries) || (maxEntries as number) < 1 || (maxEntries as number) > 1000)
          throw new AdminError('routes.maxEntries: must be an integer 1..1000');
        vpc.prefixLists.set(destination, {
          id: destination,
          maxEntries: maxEntries as number,
          addressFamily: b.addressFamily === 'IPv6' ? 'IPv6' : 'IPv4',
        });
      }
      try {
        // Out-of-band routes model what another tool already put there: the quota is not enforced.
        // `propagated: true` is a route a virtual private gateway propagates (its own quota, not this one).
        const r = vpc.create(
          table,
          destination,
          target,
          false,
          b.propagated === true ? 'EnableVgwRoutePropagation' : 'CreateRoute',
        );
        return {
          table,
          destination: r.destination,
          target: vpc.instanceOf(r) ?? null,
          nextHop: nextHopOf(vpc, r),
          state: vpc.stateOf(r),
        };
      } catch (e) {
        if (e instanceof Ec2Fault)
          throw new AdminError(`routes: ${e.code}: ${e.message}`, e.code.endsWith('NotFound') ? 404 : 400);
        throw e;
      }
    },
    deleteRoute(body: unknown) {
      const b = adminBody(body);
      const table = adminTable(b.table);
      const destination = adminString(b.destination, 'destination');
      const t = vpc.table(table);
      const i = t.routes.findIndex((r) => r.destination === destination);
      if (i < 0) return false;
      t.routes.splice(i, 1);
      return true;
    },
    setQuota(body: unknown) {
      const b = adminBody(body);
      if (!Number.isInteger(b.limit) || (b.limit as number) < 0)
        throw new AdminError('quota.limit: must be an integer >= 0');
      const limit = b.limit as number;
      if (b.table === undefined) {
        d.applyQuota(limit);
        for (const t of vpc.tables) t.quota = limit;
      } else {
        vpc.table(adminTable(b.table)).quota = limit;
      }
    },
  };

  function adminBody(body: unknown): Record<string, unknown> {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new AdminError('body: must be a JSON object');
    return body as Record<string, unknown>;
  }
  function adminString(v: unknown, field: string): string {
    if (typeof v !== 'string' || v === '') throw new AdminError(`routes.${field}: must be a non-empty string`);
    return v;
  }
  function adminTable(v: unknown): string {
    if (v === undefined) return d.mainTable;
    if (typeof v !== 'string' || !vpc.tables.some((t) => t.id === v))
      throw new AdminError(`table: no route table ${String(v)}`, 404);
    return v;
  }

  return admin;
}
