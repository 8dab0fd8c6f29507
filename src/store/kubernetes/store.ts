// store.type kubernetes: allocations are the Nodes' spec.podCIDR(s); the ConfigMap of ./record.ts is the
// commit point (I1) and the released/cool-down record. Every write:
//   1. reads every Node (all pages) and the ConfigMap, and combines them (./record.ts viewOf);
//   2. updates the ConfigMap with the resourceVersion it read — 409 means another writer got there first:
//      re-read and decide again (so of two controllers racing for one subnet, one gets it);
//   3. only then patches the new subnets onto their Nodes (merge patch of spec.podCIDR + podCIDRs, which the
//      API server only lets go from empty to a value: a Node that got a podCIDR meanwhile keeps it).
// A subnet is released only once no Node holds it any more (not at deletionTimestamp: kubernetes#127792).
// The leader's guard runs before each write, and the kube wire fence (src/kubernetes/wire-fence.ts, set up
// by ./index.ts) at the moment each write goes on the wire (I4).
import type { V1Node } from '@kubernetes/client-node';
import { systemClock, type Clock } from '../../lib/clock.ts';
import { forEachBounded } from '../../lib/pool.ts';
import type { Logger } from '../../log.ts';
import { apiCode, apiMessage, type KubeClient } from '../../kubernetes/client.ts';
import { listEveryNode } from '../../kubernetes/node-list.ts';
import { LedgerConfigMap } from './ledger-configmap.ts';
import { PodCidrWriter } from './pod-cidr-writer.ts';
import { validateRequests, type PoolShape } from '../state.ts';
import type {
  AllocateResult,
  AllocationRequest,
  IdMove,
  NodeWriteRefusal,
  Released,
  Store,
  StoreSnapshot,
} from '../types.ts';
import {
  KubernetesStoreError,
  type Ledger,
  type LedgerEntry,
  nodeView,
  type NodeView,
  settled,
  type View,
  viewOf,
} from './record.ts';

export interface KubernetesStoreOptions {
  kube: Pick<KubeClient, 'core' | 'options'>;
  namespace: string;
  /** The ConfigMap holding the record, e.g. `routesync-<cluster>-subnets`. */
  configMap: string;
  /** A Node → the id of the VM it runs on (its spec.providerID), or undefined when it names none. */
  vmOf: (node: V1Node) => string | undefined;
  pool?: PoolShape;
  logger: Logger;
  clock?: Clock;
  /** Throws when this process may not write (the leader's checkNow); none: always allowed (tests, races). */
  guard?: () => void;
  requestTimeoutMs?: number;
  /** Node patches in flight at once. */
  concurrency?: number;
  /** Called by close(): the wire fence's removal. */
  onClose?: () => void;
  /**
   * kubernetes.podCIDR: `read` — another IPAM writes the podCIDRs: this store never patches a Node (allocate
   * refuses), and the ConfigMap only remembers which subnet was routed where (so the route of a Node that
   * came back with another podCIDR is deleted once that subnet is released). Default `allocate`.
   */
  podCIDR?: 'allocate' | 'read';
}

interface Read {
  nodes: NodeView[];
  ledger: Ledger;
  /** The ConfigMap's resourceVersion; undefined when it does not exist yet. */
  rv: string | undefined;
  view: View;
}

/** Attempts of one write against other writers before it gives up (each loser re-reads, so this ends). */
const WRITE_ATTEMPTS = 12;

export class KubernetesStore implements Store {
  readonly kind = 'kubernetes' as const;
  private readonly o: KubernetesStoreOptions;
  private readonly clock: Clock;
  private readonly where: string;
  private readonly said = new Set<string>();
  /** Serialises this process's writes: each is a read-decide-update of one object. */
  private chain: Promise<unknown> = Promise.resolve();
  /** The inventory's watch cache, when wired: load() reads the Nodes there instead of listing them. */
  private cached: (() => Iterable<V1Node>) | undefined;
  private readonly podCidrs: PodCidrWriter;
  private readonly record: LedgerConfigMap;
  /** The last load() saw Node podCIDRs the record does not reflect yet (settle() writes them). */
  private unsettled = false;

  constructor(o: KubernetesStoreOptions) {
    this.o = o;
    this.clock = o.clock ?? systemClock;
    this.record = new LedgerConfigMap(o);
    this.where = this.record.where;
    this.podCidrs = new PodCidrWriter(o);
  }

  /**
   * Reads the Nodes for load() from a watch cache (the inventory's NodeWatch: every Node, excluded ones
   * too) instead of listing them, so that a pass at rest costs one ConfigMap read, not a relist. `nodes`
   * must throw while the cache is not synced (a failed read is never "no Nodes"). Writes still list: they
   * decide releases and adoptions, which must not rest on a cache a watch event behind.
   */
  useNodes(nodes: () => Iterable<V1Node>): void {
    this.cached = nodes;
  }

  private async listNodes(): Promise<NodeView[]> {
    const out: NodeView[] = [];
    await listEveryNode(
      {
        kube: this.o.kube,
        pageSize: 500,
        timeoutMs: this.o.requestTimeoutMs ?? 15_000,
        fail: (message, cause) => new KubernetesStoreError(message, cause === undefined ? undefined : { cause }),
      },
      (n) => out.push(nodeView(n, this.o.vmOf)),
    );
    return out;
  }

  private async read(fromCache = false): Promise<Read> {
    // The record first: a Node patched after it was read is seen by the list (a subnet on a Node wins).
    const { ledger, rv } = await this.record.read();
    const cache = fromCache ? this.cached : undefined;
    const nodes = cache ? [...cache()].map((n) => nodeView(n, this.o.vmOf)) : await this.listNodes();
    const view = viewOf(ledger, nodes, this.o.pool, { read: this.o.podCIDR === 'read' });
    // In read mode the inventory reports each bad podCIDR as a finding (one line, an Event): not twice.
    for (const line of this.o.podCIDR === 'read' ? [] : view.skipped) {
      if (this.said.has(line)) continue;
      this.said.add(line);
      this.o.logger.warn({ configMap: this.where }, `${line}: not routesync's to route or release`);
    }
    return { nodes, ledger, rv, view };
  }

  /**
   * One read-decide-update, retried while another writer gets there first. `decide` returns the ledger to
   * write (undefined: nothing to write) and its result.
   */
  private write<T>(what: string, decide: (r: Read) => { ledger?: Ledger; result: T }): Promise<T> {
    const run = async (): Promise<T> => {
      for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
        const r = await this.read();
        const { ledger, result } = decide(r);
        if (!ledger) return result;
        if (await this.record.write(ledger, r.rv)) return result;
        this.o.logger.debug({ what, attempt }, `${this.where} changed under us: re-reading`);
      }
      throw new KubernetesStoreError(`${what}: ${this.where} kept changing under us; try again`);
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  async ping(timeoutMs: number): Promise<void> {
    try {
      await this.o.kube.core.readNamespacedConfigMap(
        { namespace: this.o.namespace, name: this.o.configMap },
        this.o.kube.options({ timeoutMs }),
      );
    } catch (e) {
      if (apiCode(e) === 404) return;
      throw new KubernetesStoreError(
        `cannot read ${this.where} (${apiMessage(e)}): is the API server reachable, and may the service account get ConfigMaps there?`,
        { cause: e },
      );
    }
  }

  async load(): Promise<StoreSnapshot> {
    const { view } = await this.read(true);
    this.unsettled = view.adopt.size > 0 || view.superseded.length > 0;
    return view.snapshot;
  }

  /**
   * Folds the Nodes into the record when the last load found a podCIDR it does not list (adopted) or a
   * listed subnet whose Node now carries another one (released, so its route is deleted next pass): in
   * podCIDR read mode nothing else writes the record while no VM comes or goes.
   */
  async settle(fence: () => Promise<void> | void): Promise<void> {
    if (!this.unsettled) return;
    await fence();
    await this.write('settle', (r) => {
      const changed = r.view.adopt.size > 0 || r.view.superseded.length > 0;
      return { ...(changed ? { ledger: settled(r.ledger, r.view, this.clock.now()) } : {}), result: undefined };
    });
    this.unsettled = false;
  }

  async allocate(requests: AllocationRequest[]): Promise<AllocateResult> {
    const wanted = validateRequests(requests);
    if (this.o.podCIDR === 'read' && wanted.length > 0)
      // The pass neither allocates nor adopts in read mode; a call here is a bug, and must not patch a Node.
      throw new KubernetesStoreError(
        'allocate: kubernetes.podCIDR is read: the Nodes’ podCIDRs are written by their IPAM, never by routesync',
      );
    let toPatch: Array<{ node: string; subnet: string; request?: AllocationRequest }> = [];
    const decided = await this.write('allocate', (r) => {
      const result: AllocateResult = { committed: [], conflicts: [] };
      const next = settled(r.ledger, r.view, this.clock.now());
      const subnets = new Set([...next.allocations.keys(), ...r.view.snapshot.allocations.map((a) => a.subnet)]);
      const vms = new Set(r.view.byInstance.keys());
      const accepted: Array<{ node: string; subnet: string; request: AllocationRequest }> = [];
      for (const request of wanted) {
        if (vms.has(request.instanceId)) {
          result.conflicts.push({ request, reason: 'instance-has-subnet' });
          continue;
        }
        if (subnets.has(request.subnet)) {
          result.conflicts.push({ request, reason: 'subnet-taken' });
          continue;
        }
        const nodes = r.view.nodesOfVm.get(request.instanceId) ?? [];
        if (nodes.length !== 1) {
          result.conflicts.push({ request, reason: 'no-node' });
          continue;
        }
        const node = nodes[0] as NodeView;
        vms.add(request.instanceId);
        subnets.add(request.subnet);
        next.allocations.set(request.subnet, {
          instanceId: request.instanceId,
          node: node.name,
          privateIp: request.privateIp,
          allocatedAt: request.allocatedAt,
        });
        next.released.delete(request.subnet);
        accepted.push({ node: node.name, subnet: request.subnet, request: { ...request, name: node.name } });
      }
      // Allocations written to the record by an earlier call that did not reach their Node (a crash, a
      // lost connection) are patched now too.
      const unfinished = [...r.view.byInstance.values()]
        .filter((b) => b.state === 'to-patch' && b.node)
        .map((b) => ({ node: (b.node as NodeView).name, subnet: b.allocation.subnet }));
      toPatch = [...accepted, ...unfinished];
      const changed = accepted.length > 0 || r.view.adopt.size > 0 || r.view.superseded.length > 0;
      return { ...(changed ? { ledger: next } : {}), result };
    });
    const lost = new Map<string, AllocateResult['conflicts'][number]['reason']>();
    await forEachBounded(toPatch, this.o.concurrency ?? 8, async (p) => {
      const why = await this.podCidrs.write(p.node, p.subnet);
      if (why && p.request) lost.set(p.request.subnet, why);
    });
    for (const p of toPatch) {
      if (!p.request) continue;
      const why = lost.get(p.subnet);
      if (why) decided.conflicts.push({ request: p.request, reason: why });
      else decided.committed.push({ ...p.request });
    }
    // A subnet this call recorded but could not write onto its Node (refused, or the Node went meanwhile)
    // reached no Node and no route: it comes out of the record again, so it is neither routed as "to
    // patch" next pass nor held for releaseAfter by a Node that never had it.
    const undo = toPatch.filter((p) => {
      const why = lost.get(p.subnet);
      return p.request !== undefined && (why === 'refused' || why === 'no-node');
    });
    if (undo.length > 0) await this.undo(undo as Array<{ node: string; subnet: string; request: AllocationRequest }>);
    return decided;
  }

  nodeRefusals(): NodeWriteRefusal[] {
    return this.podCidrs.refusals();
  }

  private async undo(list: Array<{ node: string; subnet: string; request: AllocationRequest }>): Promise<void> {
    await this.write('undo allocate', (r) => {
      const next = settled(r.ledger, r.view, this.clock.now());
      let changed = r.view.adopt.size > 0 || r.view.superseded.length > 0;
      for (const p of list) {
        const e = next.allocations.get(p.subnet);
        const onNode = r.nodes.some((n) => n.name === p.node && n.podCIDR === p.subnet);
        if (e && e.node === p.node && e.instanceId === p.request.instanceId && !onNode) {
          next.allocations.delete(p.subnet);
          changed = true;
        }
      }
      return { ...(changed ? { ledger: next } : {}), result: undefined };
    });
  }

  async setMissing(updates: Array<{ instanceId: string; missingSince: number | null }>): Promise<void> {
    for (const u of updates) {
      if (u.missingSince !== null && !Number.isFinite(u.missingSince))
        throw new KubernetesStoreError(`setMissing: missingSince for ${u.instanceId} must be epoch ms or null`);
    }
    await this.write('setMissing', (r) => {
      const next = settled(r.ledger, r.view, this.clock.now());
      let changed = r.view.adopt.size > 0 || r.view.superseded.length > 0;
      for (const u of updates) {
        const held = r.view.byInstance.get(u.instanceId);
        if (!held) continue;
        const e = next.allocations.get(held.allocation.subnet);
        if (!e) continue;
        const { missingSince: _, ...rest } = e;
        const want: LedgerEntry = u.missingSince === null ? rest : { ...rest, missingSince: u.missingSince };
        if (e.missingSince !== want.missingSince) {
          next.allocations.set(held.allocation.subnet, want);
          changed = true;
        }
      }
      return { ...(changed ? { ledger: next } : {}), result: undefined };
    });
  }

  async rekey(moves: IdMove[]): Promise<IdMove[]> {
    validateRequests(
      moves.map((m) => ({ instanceId: m.to, subnet: m.subnet, name: m.name, privateIp: m.privateIp, allocatedAt: 0 })),
    );
    return this.write('rekey', (r) => {
      const next = settled(r.ledger, r.view, this.clock.now());
      let changed = r.view.adopt.size > 0 || r.view.superseded.length > 0;
      const out: IdMove[] = [];
      for (const m of moves) {
        // A Node's podCIDR names its VM by providerID already: only a ledger entry can carry an old id.
        const held = r.view.byInstance.get(m.from);
        if (!held || held.allocation.subnet !== m.subnet || r.view.byInstance.has(m.to)) continue;
        const e = next.allocations.get(m.subnet);
        if (!e || e.instanceId !== m.from) continue;
        next.allocations.set(m.subnet, { ...e, instanceId: m.to, privateIp: m.privateIp });
        changed = true;
        out.push({ ...m });
      }
      return { ...(changed ? { ledger: next } : {}), result: out };
    });
  }

  async release(instanceIds: string[], at: number): Promise<Released[]> {
    if (!Number.isFinite(at)) throw new KubernetesStoreError('release: at must be epoch milliseconds');
    return this.write('release', (r) => {
      const next = settled(r.ledger, r.view, this.clock.now());
      const out: Released[] = [];
      const nodeNames = new Set(r.nodes.map((n) => n.name));
      for (const id of new Set(instanceIds)) {
        const held = r.view.byInstance.get(id);
        if (!held) continue;
        const { subnet, name } = held.allocation;
        if (held.state !== 'node-gone' || nodeNames.has(name)) {
          // kubernetes#127792: the Node (even one being deleted) still runs pods on this subnet.
          this.o.logger.warn(
            { instanceId: id, node: name, subnet },
            'not released: its Node still exists; released once the Node object is gone',
          );
          continue;
        }
        next.allocations.delete(subnet);
        next.released.set(subnet, { instanceId: id, releasedAt: at });
        out.push({ subnet, releasedAt: at, instanceId: id });
      }
      const changed = out.length > 0 || r.view.adopt.size > 0 || r.view.superseded.length > 0;
      return { ...(changed ? { ledger: next } : {}), result: out };
    });
  }

  async purgeReleased(before: number): Promise<void> {
    await this.write('purgeReleased', (r) => {
      const next = settled(r.ledger, r.view, this.clock.now());
      let changed = r.view.adopt.size > 0 || r.view.superseded.length > 0;
      for (const [subnet, rel] of r.ledger.released) {
        if (rel.releasedAt < before) {
          next.released.delete(subnet);
          changed = true;
        }
      }
      return { ...(changed ? { ledger: next } : {}), result: undefined };
    });
  }

  async close(): Promise<void> {
    await this.chain;
    this.o.onClose?.();
  }
}
