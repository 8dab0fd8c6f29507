// Nodes as the inventory (issue 14, item 1): the NodeWatch's current Nodes mapped to the VMs they run on
// by spec.providerID, as an InventorySource. A Node that cannot be mapped is a finding (reported as an
// Event, metric and status line by the caller), never a guess, and it is not in the list: it gets no route.
// Two Nodes naming one VM are both findings (which of them would be the right one is a guess too).
// Still to check by the caller: that the cloud has each VM (CloudProvider.lookupInstances), since a
// providerID can name a VM that is gone or in another account.
// In `kubernetes.podCIDR: read` mode each Node's podCIDR is checked too (./pod-cidr.ts): a bad one is a
// finding (the Node stays listed: it is a VM of the cluster, it just gets no route), an empty one pending.
import type { V1Node } from '@kubernetes/client-node';
import type { ProviderKind } from '../../providers/plugins.ts';
import type { Instance } from '../../providers/types.ts';
import type { InventorySource } from '../inventory/source.ts';
import type { NodeWatch } from './node-watch.ts';
import { checkPodCidrs, createdAtOf, nodePodCidr, type PodCidrFindingKind, type PodCidrPool } from './pod-cidr.ts';
import { type ProviderIdExpectation, type ProviderIdReason, parseProviderId, vmKey } from './provider-id.ts';

export type NodeFindingKind =
  | ProviderIdReason
  | 'no-internal-ip'
  | 'duplicate-vm'
  | 'vm-not-found'
  /** podCIDR read mode: not a CIDR, outside clusterCIDR, not a /subnetLen, another Node's. */
  | PodCidrFindingKind
  /** podCIDR allocate mode: the API server refused writing the Node's spec.podCIDR (403, 400). */
  | 'podcidr-refused';

export interface NodeFinding {
  node: string;
  kind: NodeFindingKind;
  /** One line: what is wrong with the Node and why it gets no route. */
  detail: string;
}

export interface NodeMapping {
  instances: Instance[];
  /** VM id → Node name, for the instances listed. */
  nodeOf: Map<string, string>;
  findings: NodeFinding[];
  /** podCIDR read mode: Nodes whose podCIDR the IPAM has not written yet (listed, no route yet). */
  pending: string[];
}

function internalIp(n: V1Node): string | undefined {
  return n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

/**
 * Maps Nodes to VMs; pure (no I/O, no clock). `readPool` (podCIDR read mode) checks each Node's podCIDR
 * against the pool and the other Nodes' (every Node's, also one whose providerID is unusable: it still
 * holds its subnet).
 */
export function nodesToInstances(
  nodes: Iterable<V1Node>,
  cloud: ProviderKind,
  expect: ProviderIdExpectation = {},
  readPool?: PodCidrPool,
  claimants?: Iterable<V1Node>,
): NodeMapping {
  const findings: NodeFinding[] = [];
  const all = [...nodes];
  let pending: string[] = [];
  if (readPool) {
    // Every Node holds its podCIDR against a later one, also an excluded Node (`claimants`: all of them),
    // as store.type kubernetes counts them: the two must agree on who holds a subnet.
    const listed = new Set(all.map((n) => n.metadata?.name as string));
    const check = checkPodCidrs(
      [...(claimants ?? all)].map((n) => ({
        name: n.metadata?.name as string,
        podCIDR: nodePodCidr(n),
        createdAt: createdAtOf(n),
      })),
      readPool,
    );
    findings.push(...check.findings.filter((f) => listed.has(f.node)));
    pending = check.pending.filter((name) => listed.has(name));
  }
  const byId = new Map<string, { node: V1Node; inst: Instance }[]>();
  for (const n of all) {
    const name = n.metadata?.name as string;
    const r = parseProviderId(n.spec?.providerID, cloud, expect);
    if (!r.ok) {
      findings.push({ node: name, kind: r.reason, detail: `Node ${name}: ${r.detail}` });
      continue;
    }
    const ip = internalIp(n);
    if (!ip) {
      findings.push({ node: name, kind: 'no-internal-ip', detail: `Node ${name}: no InternalIP in status.addresses` });
      continue;
    }
    const zone = r.ref.zone ?? n.metadata?.labels?.['topology.kubernetes.io/zone'] ?? '';
    const inst: Instance = {
      id: r.ref.instanceId,
      name,
      privateIp: ip,
      zone,
      // A Node being deleted still runs its pods until it is gone; its route stays until then (the subnet
      // is released only after the Node object is gone: kubernetes#127792).
      state: n.metadata?.deletionTimestamp ? 'stopping' : 'running',
    };
    const key = vmKey(cloud, inst.id, zone);
    byId.set(key, [...(byId.get(key) ?? []), { node: n, inst }]);
  }
  const instances: Instance[] = [];
  const nodeOf = new Map<string, string>();
  for (const group of byId.values()) {
    if (group.length > 1) {
      const names = group.map((g) => g.inst.name).sort();
      for (const g of group)
        findings.push({
          node: g.inst.name,
          kind: 'duplicate-vm',
          detail: `Node ${g.inst.name}: VM ${g.inst.id} is also named by ${names.filter((x) => x !== g.inst.name).join(', ')}`,
        });
      continue;
    }
    const { inst } = group[0] as { inst: Instance };
    instances.push(inst);
    nodeOf.set(inst.id, inst.name);
  }
  instances.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  findings.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  return { instances, nodeOf, findings, pending };
}

export interface KubernetesInventory extends InventorySource {
  /** The findings of the last list(). */
  findings(): readonly NodeFinding[];
  /** VM id → Node name from the last list(), for reports and Node conditions. */
  nodeOf(vmId: string): string | undefined;
  /** podCIDR read mode: the Nodes of the last list() still without a podCIDR. */
  pending(): readonly string[];
}

/**
 * The NodeWatch as an InventorySource; list() throws while the Nodes are not known (I3). `readPool`:
 * podCIDR read mode (nodesToInstances).
 */
export function kubernetesInventory(
  nodes: Pick<NodeWatch, 'current' | 'onChange'> & Partial<Pick<NodeWatch, 'allNodes'>>,
  cloud: ProviderKind,
  expect: ProviderIdExpectation = {},
  readPool?: PodCidrPool,
): KubernetesInventory {
  let last: NodeMapping = { instances: [], nodeOf: new Map(), findings: [], pending: [] };
  return {
    kind: 'kubernetes',
    async list(signal) {
      if (signal?.aborted) throw signal.reason;
      const claimants = readPool && nodes.allNodes ? nodes.allNodes() : undefined;
      last = nodesToInstances(nodes.current().nodes.values(), cloud, expect, readPool, claimants);
      return last.instances;
    },
    watch(onChange) {
      return nodes.onChange((names) => {
        const shown = [...names].sort().slice(0, 5).join(', ');
        onChange(`Nodes changed: ${shown}${names.size > 5 ? ` and ${names.size - 5} more` : ''}`);
      });
    },
    findings: () => last.findings,
    nodeOf: (id) => last.nodeOf.get(id),
    pending: () => last.pending,
  };
}
