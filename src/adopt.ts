// Adoption (I2/I3): a route of ours on a subnet the store holds no allocation for is evidence of an
// allocation the store lost (state file deleted, a relative store path resolved from another directory, an
// etcd restored from an old backup). Such a route is taken into the store as the allocation it proves —
// subnet = destination, VM = target — instead of being "repaired" into the allocator's fresh choices.
// Pure, like the plan: the same routes and snapshot always give the same adoptions, and a dry run shows them.
import type { Instance, Route } from '../providers/types.ts';
import { overlaps, parseCidr } from './lib/cidr.ts';
import { classifyRoute, type OwnershipContext } from './ownership.ts';
import type { Allocation, AllocationRequest, Released } from './store/types.ts';

export interface AdoptInput {
  /** The store's allocations (after this pass's missing updates). */
  allocations: readonly Allocation[];
  released: readonly Released[];
  /** Routes of every table that was read; an unread table adopts nothing (and its routes are left alone). */
  routesByTable: ReadonlyMap<string, readonly Route[]>;
  clusterCIDR: string;
  subnetLen: number;
  reserved: readonly string[];
  /** A trusted inventory: every VM listed (all states); adoption never runs on a failed read. */
  instances: ReadonlyMap<string, Instance>;
  /** Listed and not terminated. */
  present: ReadonlySet<string>;
  now: number;
}

export interface Adoption {
  request: AllocationRequest;
  /** The target is not in the inventory: adopted as missing, so the normal releaseAfter path applies. */
  missing: boolean;
  /** Tables whose routes proved it. */
  tables: string[];
}

export interface AdoptPlan {
  adoptions: Adoption[];
  /** Destination → why its route(s) of ours were not adopted; the plan reports them as `orphan`. */
  refused: Map<string, string>;
  /** Subnets the allocator must not hand out this pass: a route of ours holds them outside the store. */
  avoidSubnets: string[];
  /** VMs the allocator must not give a subnet this pass: a route of ours already claims one for them. */
  holdInstances: string[];
}

interface Claim {
  table: string;
  target: string | null;
  blackhole: boolean;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function planAdoption(input: AdoptInput): AdoptPlan {
  const held = new Set(input.allocations.map((a) => a.subnet));
  const holderOf = new Map(input.allocations.map((a) => [a.instanceId, a.subnet]));
  const releasedSubnets = new Set(input.released.map((r) => r.subnet));
  const known = new Set<string>([...input.instances.keys(), ...holderOf.keys()]);
  const own: OwnershipContext = { clusterCIDR: input.clusterCIDR, subnetLen: input.subnetLen, knownInstanceIds: known };
  const reserved = input.reserved.map((r) => ({ text: r, cidr: parseCidr(r) }));

  const claims = new Map<string, Claim[]>();
  const hold = new Set<string>();
  for (const [table, routes] of input.routesByTable) {
    for (const r of routes) {
      if (classifyRoute(r, own) !== 'ours') continue;
      if (held.has(r.destination)) {
        // The store gives this subnet to another VM while the route serves a listed VM that holds nothing
        // (an older store): that VM gets no fresh subnet, and the plan reports the route instead of replacing it.
        if (r.target !== null && input.present.has(r.target) && !holderOf.has(r.target)) hold.add(r.target);
        continue;
      }
      const list = claims.get(r.destination) ?? [];
      list.push({ table, target: r.target, blackhole: r.state === 'blackhole' });
      claims.set(r.destination, list);
    }
  }

  const out: AdoptPlan = { adoptions: [], refused: new Map(), avoidSubnets: [], holdInstances: [] };
  const refuse = (dest: string, why: string, targets: Iterable<string>) => {
    out.refused.set(dest, why);
    out.avoidSubnets.push(dest);
    // A VM a route claims a subnet for gets no second one from the allocator while the claim is unresolved.
    for (const t of targets) if (!holderOf.has(t)) hold.add(t);
  };
  const byTarget = new Map<string, string[]>();
  for (const dest of [...claims.keys()].sort(cmp)) {
    const list = claims.get(dest) as Claim[];
    const targets = [...new Set(list.map((c) => c.target).filter((t): t is string => t !== null))].sort(cmp);
    if (targets.length === 0) {
      // Nothing to adopt it for. A target-less blackhole carries no traffic and the plan cleans it up; any
      // other next hop of ours carries traffic somewhere and is left for a human.
      if (!list.every((c) => c.blackhole))
        refuse(dest, `route of ours with a next hop that is not a VM: not adopted, not changed`, []);
      else out.avoidSubnets.push(dest);
      continue;
    }
    if (targets.length > 1) {
      refuse(
        dest,
        `routes of ours point this subnet at different VMs (${targets.join(', ')}): not adopted, not changed; remove the wrong one`,
        targets,
      );
      continue;
    }
    const target = targets[0] as string;
    // A slash only between segments: GCE's ids are `<zone>/<name>`.
    if (!/^[^\s/]+(?:\/[^\s/]+)*$/.test(target)) {
      refuse(
        dest,
        `route of ours points at ${JSON.stringify(target)}, which is not an instance id: not adopted, not changed`,
        [],
      );
      continue;
    }
    const other = holderOf.get(target);
    if (other !== undefined) {
      refuse(
        dest,
        `route of ours points at ${target}, which already holds ${other} in the store: not adopted, not changed`,
        [],
      );
      continue;
    }
    const inReserved = reserved.find((r) => overlaps(r.cidr, parseCidr(dest)));
    if (inReserved) {
      refuse(dest, `route of ours to ${target} lies in reserved ${inReserved.text}: not adopted, not changed`, [
        target,
      ]);
      continue;
    }
    // The store released this subnet and the VM is gone: the route is a leftover the plan may delete.
    if (releasedSubnets.has(dest) && !input.present.has(target)) continue;
    byTarget.set(target, [...(byTarget.get(target) ?? []), dest]);
  }

  for (const target of [...byTarget.keys()].sort(cmp)) {
    const dests = byTarget.get(target) as string[];
    if (dests.length > 1) {
      for (const dest of dests)
        refuse(
          dest,
          `routes of ours point ${dests.length} subnets (${dests.join(', ')}) at ${target}: not adopted, not changed; a VM holds one subnet`,
          [target],
        );
      continue;
    }
    const dest = dests[0] as string;
    const vm = input.instances.get(target);
    out.adoptions.push({
      request: {
        instanceId: target,
        subnet: dest,
        name: vm?.name ?? target,
        privateIp: vm?.privateIp ?? '',
        allocatedAt: input.now,
      },
      missing: !input.present.has(target),
      tables: [...new Set((claims.get(dest) as Claim[]).map((c) => c.table))].sort(cmp),
    });
  }
  out.holdInstances = [...hold].sort(cmp);
  return out;
}
