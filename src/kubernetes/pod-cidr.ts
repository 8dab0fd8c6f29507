// `kubernetes.podCIDR: read` (issue 14 item 2): another IPAM (kube-controller-manager's) writes each Node's
// spec.podCIDR, and routesync routes what the Node carries. What a Node carries is input: a podCIDR that is
// not a canonical IPv4 CIDR, lies outside clusterCIDR, is not a /subnetLen, or is one another Node already
// holds is a finding and gets no route; every other Node is unaffected. Pure (no I/O, no clock), shared by
// the inventory (which reports the findings) and store.type kubernetes (which must give the same Node the
// same subnet, or the two would disagree on who holds it).
import type { V1Node } from '@kubernetes/client-node';
import { contains, formatCidr, parseCidr } from '../lib/cidr.ts';

export type PodCidrFindingKind = 'podcidr-invalid' | 'podcidr-outside' | 'podcidr-length' | 'podcidr-overlap';

export interface PodCidrPool {
  clusterCIDR: string;
  subnetLen: number;
}

/** What of a Node the check needs. */
export interface PodCidrNode {
  name: string;
  /** The Node's IPv4 podCIDR as nodePodCidr gives it; '' when unset. */
  podCIDR: string;
  /** metadata.creationTimestamp in epoch ms (0 when unknown): of two Nodes on one subnet, the first keeps it. */
  createdAt: number;
}

export interface PodCidrFinding {
  node: string;
  kind: PodCidrFindingKind;
  /** One line naming the Node and the field. */
  detail: string;
}

export interface PodCidrCheck {
  /** Node name → the subnet it holds and is routed for. */
  held: Map<string, string>;
  findings: PodCidrFinding[];
  /** Nodes without a podCIDR yet: the IPAM has not allocated one; no route until it has (not a finding). */
  pending: string[];
}

const IPV4_ISH = /^\d{1,3}(\.\d{1,3}){3}\//;

/**
 * The podCIDR routesync routes for a Node: the IPv4 entry of spec.podCIDRs (a dual-stack Node carries one
 * per family, IPv4 or IPv6 first), else spec.podCIDR; '' when it has none. An IPv6-only Node gives its
 * IPv6 entry, which the check then refuses by name.
 */
export function nodePodCidr(n: Pick<V1Node, 'spec'>): string {
  const list = (n.spec?.podCIDRs ?? []).filter((c): c is string => typeof c === 'string' && c !== '');
  return list.find((c) => IPV4_ISH.test(c)) ?? (n.spec?.podCIDR || list[0] || '');
}

/** What is wrong with one podCIDR for this pool, or undefined when it is one of its subnets. */
export function podCidrProblem(
  podCIDR: string,
  pool: PodCidrPool,
): { kind: Exclude<PodCidrFindingKind, 'podcidr-overlap'>; detail: string } | undefined {
  let c;
  try {
    c = parseCidr(podCIDR);
  } catch (e) {
    return { kind: 'podcidr-invalid', detail: (e as Error).message };
  }
  if (formatCidr(c) !== podCIDR)
    return { kind: 'podcidr-invalid', detail: `${JSON.stringify(podCIDR)} is not in canonical form ${formatCidr(c)}` };
  if (!contains(parseCidr(pool.clusterCIDR), c))
    return { kind: 'podcidr-outside', detail: `${podCIDR} is outside clusterCIDR ${pool.clusterCIDR}` };
  if (c.prefix !== pool.subnetLen)
    return { kind: 'podcidr-length', detail: `${podCIDR} is a /${c.prefix}, not a /${pool.subnetLen} (subnetLen)` };
  return undefined;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The order in which Nodes claim subnets: the first created keeps a subnet two Nodes carry (it had it
 * first, and its pods use it), the newcomer is the finding; the name breaks ties.
 */
export function claimOrder<T extends { name: string; createdAt: number }>(nodes: readonly T[]): T[] {
  return [...nodes].sort((a, b) => a.createdAt - b.createdAt || cmp(a.name, b.name));
}

/** Every Node's podCIDR checked against the pool and against the others'. */
export function checkPodCidrs(nodes: readonly PodCidrNode[], pool: PodCidrPool): PodCidrCheck {
  const held = new Map<string, string>();
  const holder = new Map<string, string>();
  const findings: PodCidrFinding[] = [];
  const pending: string[] = [];
  for (const n of claimOrder(nodes)) {
    if (n.podCIDR === '') {
      pending.push(n.name);
      continue;
    }
    const bad = podCidrProblem(n.podCIDR, pool);
    if (bad) {
      findings.push({ node: n.name, kind: bad.kind, detail: `Node ${n.name}: spec.podCIDR ${bad.detail}; no route` });
      continue;
    }
    // Every valid podCIDR is one aligned /subnetLen of the pool: two overlap only when they are equal.
    const first = holder.get(n.podCIDR);
    if (first !== undefined) {
      findings.push({
        node: n.name,
        kind: 'podcidr-overlap',
        detail: `Node ${n.name}: spec.podCIDR ${n.podCIDR} is also Node ${first}'s (created first, it keeps the route); no route`,
      });
      continue;
    }
    holder.set(n.podCIDR, n.name);
    held.set(n.name, n.podCIDR);
  }
  pending.sort(cmp);
  findings.sort((a, b) => cmp(a.node, b.node));
  return { held, findings, pending };
}

/** metadata.creationTimestamp in epoch ms; 0 when absent or unreadable. */
export function createdAtOf(n: Pick<V1Node, 'metadata'>): number {
  const t = n.metadata?.creationTimestamp;
  return t ? new Date(t as unknown as string).getTime() || 0 : 0;
}
