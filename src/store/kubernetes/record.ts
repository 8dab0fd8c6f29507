// store.type kubernetes, the pure part: the ConfigMap's record and how it combines with the Nodes into one
// snapshot. No I/O, no clock.
//
// Nodes are the allocation record that matters (spec.podCIDR is what flannel, Cilium, kube-router and the
// CNI read, and it only goes from empty to a value), but the Node API alone cannot give I1 or the cool-down:
// - two controllers can each patch a *different* Node with the same subnet: nothing there compares them;
// - a Node that went while no controller ran leaves no trace, and its subnet (and route) would be reused at
//   once instead of after releaseAfter + reuseAfter.
// So one ConfigMap in the controller's namespace is the commit point: every allocation is first written
// there (an update carrying the resourceVersion read, so of two racing writers one gets 409 and re-reads),
// then patched onto its Node. It also holds the released subnets and their cool-down. One object because an
// update of one object is the only atomic multi-key write the API server offers without a CRD.
import type { V1ConfigMap, V1Node } from '@kubernetes/client-node';
import { claimOrder, createdAtOf, nodePodCidr } from '../../kubernetes/pod-cidr.ts';
import { storedSubnetProblem, type PoolShape } from '../state.ts';
import type { Allocation, Released, StoreSnapshot } from '../types.ts';

export const RECORD_VERSION = '1';
/** The API server refuses objects over 1 MiB (etcd's request limit); stop well before it, naming the cause. */
export const RECORD_MAX_BYTES = 900_000;

/** One allocation as the ConfigMap keeps it (the subnet is the key). */
export interface LedgerEntry {
  instanceId: string;
  /** The Node the subnet is (to be) patched onto. */
  node: string;
  privateIp: string;
  allocatedAt: number;
  missingSince?: number;
}

export interface Ledger {
  /** subnet → entry */
  allocations: Map<string, LedgerEntry>;
  /** subnet → release */
  released: Map<string, { instanceId: string; releasedAt: number }>;
}

export function emptyLedger(): Ledger {
  return { allocations: new Map(), released: new Map() };
}

export class KubernetesStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubernetesStoreError';
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isMs = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The ConfigMap → a Ledger; throws naming the object and key on anything that is not our record. */
export function decodeLedger(cm: V1ConfigMap, where: string, pool: PoolShape | undefined): Ledger {
  const data = cm.data ?? {};
  if (data.version !== undefined && data.version !== RECORD_VERSION)
    throw new KubernetesStoreError(
      `${where}: data.version ${JSON.stringify(data.version)} is not ${RECORD_VERSION}; written by another routesync version?`,
    );
  const parse = (key: string): Record<string, unknown> => {
    const text = data[key];
    if (text === undefined || text === '') return {};
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new KubernetesStoreError(`${where}: data.${key} is not valid JSON`);
    }
    if (!isObj(v)) throw new KubernetesStoreError(`${where}: data.${key} must be a JSON object`);
    return v;
  };
  const ledger = emptyLedger();
  for (const [subnet, e] of Object.entries(parse('allocations'))) {
    const at = `${where}: data.allocations[${JSON.stringify(subnet)}]`;
    const bad = storedSubnetProblem(subnet, pool);
    if (bad) throw new KubernetesStoreError(`${at} is not one of our records: ${bad}`);
    if (
      !isObj(e) ||
      typeof e.instanceId !== 'string' ||
      e.instanceId === '' ||
      typeof e.node !== 'string' ||
      typeof e.privateIp !== 'string' ||
      !isMs(e.allocatedAt) ||
      (e.missingSince !== undefined && !isMs(e.missingSince))
    )
      throw new KubernetesStoreError(`${at}: needs instanceId, node, privateIp, allocatedAt (and missingSince ms)`);
    ledger.allocations.set(subnet, {
      instanceId: e.instanceId,
      node: e.node,
      privateIp: e.privateIp,
      allocatedAt: e.allocatedAt,
      ...(e.missingSince !== undefined ? { missingSince: e.missingSince as number } : {}),
    });
  }
  for (const [subnet, r] of Object.entries(parse('released'))) {
    const at = `${where}: data.released[${JSON.stringify(subnet)}]`;
    const bad = storedSubnetProblem(subnet, pool);
    if (bad) throw new KubernetesStoreError(`${at} is not one of our records: ${bad}`);
    if (!isObj(r) || typeof r.instanceId !== 'string' || !isMs(r.releasedAt))
      throw new KubernetesStoreError(`${at}: needs instanceId and releasedAt`);
    ledger.released.set(subnet, { instanceId: r.instanceId, releasedAt: r.releasedAt });
  }
  return ledger;
}

const bySubnet = <T>(m: Map<string, T>): Record<string, T> =>
  Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

export function encodeLedger(l: Ledger): Record<string, string> {
  const data = {
    version: RECORD_VERSION,
    allocations: JSON.stringify(bySubnet(l.allocations)),
    released: JSON.stringify(bySubnet(l.released)),
  };
  const size = data.allocations.length + data.released.length;
  if (size > RECORD_MAX_BYTES)
    throw new KubernetesStoreError(
      `the allocation record would be ${size} bytes, over the ${RECORD_MAX_BYTES} a ConfigMap may safely hold (about 8,000 Nodes); use store.type etcd`,
    );
  return data;
}

/** What of a Node the store needs. */
export interface NodeView {
  name: string;
  /** The VM it runs on (spec.providerID), or undefined when it names none we can use. */
  vm: string | undefined;
  /** spec.podCIDR (the first of podCIDRs), '' when unset. */
  podCIDR: string;
  internalIp: string;
  createdAt: number;
}

export function nodeView(n: V1Node, vmOf: (n: V1Node) => string | undefined): NodeView {
  return {
    name: n.metadata?.name as string,
    vm: vmOf(n),
    // The IPv4 one of a dual-stack Node's podCIDRs, as the inventory reads it in podCIDR read mode.
    podCIDR: nodePodCidr(n),
    internalIp: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '',
    createdAt: createdAtOf(n),
  };
}

/** The id a Node holding a podCIDR is known by when its providerID names no VM: never a cloud instance id. */
export const nodeOnlyId = (name: string): string => `node:${name}`;

export interface View {
  snapshot: StoreSnapshot;
  /** instanceId → the allocation and where it stands. */
  byInstance: Map<string, { allocation: Allocation; state: 'on-node' | 'to-patch' | 'node-gone'; node?: NodeView }>;
  /** Subnets held by a Node that the ledger does not list yet (adopted: a cluster moving to routesync). */
  adopt: Map<string, LedgerEntry>;
  /** Ledger subnets whose Node carries another podCIDR (someone else set it): freed with a cool-down. */
  superseded: string[];
  /** Node podCIDRs that cannot be ours (outside the pool, not canonical, held twice): one line each. */
  skipped: string[];
  /** VM id → the Nodes naming it. */
  nodesOfVm: Map<string, NodeView[]>;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The Nodes and the ledger → one snapshot. A Node's podCIDR wins over the ledger (it cannot change); a
 * ledger entry without its Node is still an allocation (its route is deleted and it is released after
 * releaseAfter, then cools down); a ledger entry whose Node has no podCIDR yet is an allocation still to
 * be patched onto it. Of two Nodes carrying one subnet the first created keeps it (src/kubernetes/pod-cidr.ts
 * claimOrder, as the inventory decides it in podCIDR read mode).
 *
 * `read` (kubernetes.podCIDR read: another IPAM writes the podCIDRs): a Node whose providerID names no VM
 * holds its subnet (no other Node gets its route) but is no allocation: there is no VM to route it to, and
 * the subnet is the IPAM's to give out again, not routesync's to release.
 */
export function viewOf(
  ledger: Ledger,
  nodes: readonly NodeView[],
  pool: PoolShape | undefined,
  opts: { read?: boolean } = {},
): View {
  const nodesOfVm = new Map<string, NodeView[]>();
  for (const n of nodes) if (n.vm !== undefined) nodesOfVm.set(n.vm, [...(nodesOfVm.get(n.vm) ?? []), n]);
  const byInstance: View['byInstance'] = new Map();
  const adopt = new Map<string, LedgerEntry>();
  const held = new Set<string>();
  const skipped: string[] = [];
  for (const n of claimOrder(nodes)) {
    if (n.podCIDR === '') continue;
    const bad = storedSubnetProblem(n.podCIDR, pool);
    if (bad) {
      skipped.push(`Node ${n.name}: spec.podCIDR ${bad}`);
      continue;
    }
    if (held.has(n.podCIDR)) {
      skipped.push(`Node ${n.name}: spec.podCIDR ${n.podCIDR} is also another Node's`);
      continue;
    }
    if (opts.read && n.vm === undefined) {
      held.add(n.podCIDR);
      continue;
    }
    let id = n.vm ?? nodeOnlyId(n.name);
    if (byInstance.has(id)) id = nodeOnlyId(n.name);
    const e = ledger.allocations.get(n.podCIDR);
    const entry: LedgerEntry =
      e && (e.instanceId === id || e.node === n.name)
        ? { ...e, instanceId: id, node: n.name }
        : { instanceId: id, node: n.name, privateIp: n.internalIp, allocatedAt: n.createdAt };
    if (!e || e.instanceId !== entry.instanceId || e.node !== entry.node) adopt.set(n.podCIDR, entry);
    held.add(n.podCIDR);
    byInstance.set(id, { allocation: allocationOf(n.podCIDR, entry), state: 'on-node', node: n });
  }
  const superseded: string[] = [];
  for (const [subnet, e] of ledger.allocations) {
    if (held.has(subnet)) continue;
    const candidates = nodesOfVm.get(e.instanceId) ?? [];
    const node = candidates.length === 1 ? candidates[0] : undefined;
    if (byInstance.has(e.instanceId) || (node && node.podCIDR !== '')) {
      superseded.push(subnet);
      continue;
    }
    byInstance.set(e.instanceId, {
      allocation: allocationOf(subnet, node ? { ...e, node: node.name } : e),
      state: node ? 'to-patch' : 'node-gone',
      ...(node ? { node } : {}),
    });
  }
  const allocations = [...byInstance.values()]
    .map((b) => b.allocation)
    .sort((a, b) => a.allocatedAt - b.allocatedAt || cmp(a.subnet, b.subnet));
  const released: Released[] = [...ledger.released.entries()]
    .map(([subnet, r]) => ({ subnet, releasedAt: r.releasedAt, instanceId: r.instanceId }))
    .sort((a, b) => a.releasedAt - b.releasedAt || cmp(a.subnet, b.subnet));
  return { snapshot: { allocations, released }, byInstance, adopt, superseded, skipped, nodesOfVm };
}

function allocationOf(subnet: string, e: LedgerEntry): Allocation {
  return {
    instanceId: e.instanceId,
    subnet,
    name: e.node,
    privateIp: e.privateIp,
    allocatedAt: e.allocatedAt,
    ...(e.missingSince !== undefined ? { missingSince: e.missingSince } : {}),
  };
}

/** The ledger with what the Nodes say folded in: adopted podCIDRs listed, superseded entries released at `now`. */
export function settled(ledger: Ledger, view: View, now: number): Ledger {
  const next: Ledger = { allocations: new Map(ledger.allocations), released: new Map(ledger.released) };
  for (const subnet of view.superseded) {
    const e = next.allocations.get(subnet) as LedgerEntry;
    next.allocations.delete(subnet);
    next.released.set(subnet, { instanceId: e.instanceId, releasedAt: now });
  }
  for (const [subnet, e] of view.adopt) {
    next.allocations.set(subnet, e);
    next.released.delete(subnet);
  }
  return next;
}
