// The GCE inventory: instances by label across every zone (instances.aggregatedList, page by page, checked),
// and VMs asked for by name (instances.get in the zones seen, else project-wide).
import { isCidr } from '../../src/lib/cidr.ts';
import { collectPages } from '../../src/lib/paging.ts';
import { ProviderError, type Instance, type InstanceLookup } from '../types.ts';
import { gceInstanceId, splitGceInstanceId } from './instance-id.ts';
import { lastSegment } from './names.ts';
import type { GceSession } from './session.ts';
import { checkKind, malformed, STATE, type RawInstance } from './wire.ts';

export type GceListing = ReturnType<typeof gceListing>;
export type GceLookup = ReturnType<typeof gceLookup>;

/** A listed instance, checked; its URL and zone are remembered for the next hops and bare-name lookups. */
function toInstance(s: Pick<GceSession, 'network' | 'selfLinks' | 'zonesSeen'>, r: RawInstance): Instance {
  const { network, selfLinks, zonesSeen } = s;
  const action = 'instances.aggregatedList';
  if (typeof r.name !== 'string' || r.name === '') throw malformed(action, 'instance without name');
  if (typeof r.zone !== 'string' || typeof r.status !== 'string' || typeof r.selfLink !== 'string')
    throw malformed(action, `instance ${r.name} without zone/status/selfLink`);
  const nics = r.networkInterfaces ?? [];
  const nic = nics.find((n) => typeof n.network === 'string' && lastSegment(n.network) === network) ?? nics[0];
  if (!nic || typeof nic.networkIP !== 'string' || !isCidr(`${nic.networkIP}/32`))
    throw malformed(action, `instance ${r.name} without a private IP`);
  const state = STATE[r.status];
  if (!state) throw malformed(action, `instance ${r.name} has unknown status ${r.status}`);
  const zone = lastSegment(r.zone);
  // Names are unique per zone only: the id carries the zone (instance-id.ts).
  const id = gceInstanceId(zone, r.name);
  selfLinks.set(id, r.selfLink);
  zonesSeen.add(zone);
  return {
    id,
    name: r.name,
    privateIp: nic.networkIP,
    zone,
    state,
    selfLink: r.selfLink,
  };
}

/** The inventory as listed: every page of instances.aggregatedList, checked. */
export function gceListing(s: GceSession) {
  const { project, caller, sdk, instancePage, maxPages, filter } = s;
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
            if (!call) throw malformed(action, 'SDK has no aggregatedList');
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
          if (scoped?.instances && !Array.isArray(scoped.instances)) throw malformed(action, 'instances is not a list');
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
        fail: (why) => malformed(action, why),
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
        if (r.labels?.[filter.key] === filter.value) out.push(toInstance(s, r));
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
        if (r.name === name) found.push(toInstance(s, r));
      },
      signal,
    );
    return found;
  }

  /** The project's instances whose ids are in `want`, whatever their labels: one listing, not a get per VM. */
  async function byIds(want: ReadonlySet<string>, signal?: AbortSignal): Promise<Instance[]> {
    const found: Instance[] = [];
    await aggregatedPages(
      '',
      (r) => {
        // Only ours are read strictly: a VM of another team without a private IP must not fail the lookup.
        if (
          typeof r.name === 'string' &&
          typeof r.zone === 'string' &&
          want.has(gceInstanceId(lastSegment(r.zone), r.name))
        )
          found.push(toInstance(s, r));
      },
      signal,
    );
    return found;
  }
  return { listInstances, byName, byIds };
}

/** From this many zoned ids on, a lookup lists the project instead of asking for each VM. */
const LOOKUP_BY_LISTING_FROM = 10;

/** VMs asked for by id: their state (for a release) and their URL (for a route). */
export function gceLookup(s: GceSession, deps: Pick<GceListing, 'byName' | 'byIds'>) {
  const { project, caller, sdk, selfLinks, zonesSeen } = s;
  const { byName, byIds } = deps;

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
      if (!state) throw malformed(action, `instance ${name} has unknown status ${String((r as RawInstance).status)}`);
      return state;
    } catch (e) {
      if (e instanceof ProviderError && e.kind === 'notFound') return null;
      throw e;
    }
  }

  async function lookupInstances(ids: readonly string[], signal?: AbortSignal): Promise<Map<string, InstanceLookup>> {
    // A zoned id is asked in its zone, where a 404 is the cloud's own "no such VM". A bare name (a record of
    // an older version, not migrated) says no zone: it is asked in every zone this process has seen the
    // cluster in, then project-wide by name, guarded like every listing; any VM of that name keeps it.
    // Many zoned ids (a Kubernetes inventory asks for every Node's VM each pass) are one checked listing of
    // the project — pages of 500 — instead of an instances.get each, which at 1,000 Nodes spent 1,000 reads
    // of the per-minute read quota per pass. A partial listing throws like any other (I3).
    const out = new Map<string, InstanceLookup>();
    const zonedIds = ids.filter((id) => splitGceInstanceId(id) !== undefined);
    const listed = zonedIds.length >= LOOKUP_BY_LISTING_FROM;
    if (listed) {
      const found = new Map((await byIds(new Set(zonedIds), signal)).map((i) => [i.id, i.state]));
      for (const id of zonedIds) out.set(id, found.get(id) ?? 'notFound');
    }
    for (const id of ids) {
      const zoned = splitGceInstanceId(id);
      if (zoned) {
        if (!listed) out.set(id, (await getIn(zoned.zone, zoned.name, signal)) ?? 'notFound');
        continue;
      }
      const zones = [...zonesSeen];
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

  /** The URL a route's nextHopInstance takes for the VM of `id`: the listing's, else the partial URL in its zone. */
  async function instanceLink(id: string, signal?: AbortSignal): Promise<string | null> {
    const known = selfLinks.get(id);
    if (known) return known;
    const zoned = splitGceInstanceId(id);
    // Compute takes a partial URL and answers 404 on the insert when no such VM is there.
    if (zoned) return `projects/${project}/zones/${zoned.zone}/instances/${zoned.name}`;
    const found = await byName(id, signal);
    if (found.length > 1)
      throw new ProviderError(
        'invalid',
        'AmbiguousInstance',
        `routes.insert: ${found.length} VMs are named ${id} (${found.map((i) => i.id).join(', ')}): a route needs the zone`,
        { action: 'routes.insert' },
      );
    return found[0]?.selfLink ?? null;
  }
  return { lookupInstances, instanceLink };
}
