// One status row per Node (issue 14 item 6): what `routesync status` and /status show in Kubernetes mode —
// the Node, its providerID and the VM it names, its podCIDR, its NetworkUnavailable condition as the Node
// carries it (whoever wrote it), and why it gets no route if it does not. Pure: built from a NodeWatch
// snapshot and the inventory's findings; the allocated subnet is joined in by src/status-nodes.ts.
import type { V1Node } from '@kubernetes/client-node';
import type { ProviderKind } from '../../providers/plugins.ts';
import type { NodeFinding } from './node-inventory.ts';
import { parseProviderId, type ProviderIdExpectation } from './provider-id.ts';

export interface NodeStatus {
  node: string;
  /** spec.providerID as the Node carries it; null when unset. */
  providerID: string | null;
  /** The VM the providerID names, when it parses (also when the cloud has no such VM: see finding). */
  vm: string | null;
  /** spec.podCIDRs (spec.podCIDR when only that is set); empty when none. */
  podCIDRs: string[];
  /** The NetworkUnavailable condition as the Node carries it; null when it has none. */
  networkUnavailable: { status: string; reason: string | null; since: string | null } | null;
  /** Why the Node gets no route: an inventory finding, or `excluded` (the exclude label). */
  finding?: { kind: string; detail: string };
}

function podCIDRsOf(n: V1Node): string[] {
  const list = n.spec?.podCIDRs?.filter((c) => typeof c === 'string' && c !== '');
  if (list && list.length > 0) return list;
  return n.spec?.podCIDR ? [n.spec.podCIDR] : [];
}

function conditionOf(n: V1Node): NodeStatus['networkUnavailable'] {
  const c = n.status?.conditions?.find((x) => x.type === 'NetworkUnavailable');
  if (!c) return null;
  const since = c.lastTransitionTime as unknown;
  return {
    status: String(c.status ?? ''),
    reason: c.reason ?? null,
    // The client may hand back a Date or the wire's string; either way one ISO string here.
    since: since instanceof Date ? since.toISOString() : typeof since === 'string' ? since : null,
  };
}

export function nodeStatuses(opts: {
  /** Every Node, the excluded ones too (NodeWatch.allNodes). */
  nodes: Iterable<V1Node>;
  /** The label that takes a Node out, as NodeWatch reads it. */
  exclude: { key: string; value: string };
  cloud: ProviderKind;
  expect?: ProviderIdExpectation;
  findings: readonly NodeFinding[];
}): NodeStatus[] {
  const { key, value } = opts.exclude;
  const findingOf = new Map<string, NodeFinding>();
  // The first finding of a Node is the one shown (a Node has one reason not to be routed).
  for (const f of opts.findings) if (!findingOf.has(f.node)) findingOf.set(f.node, f);
  const rows: NodeStatus[] = [];
  for (const n of opts.nodes) {
    const name = n.metadata?.name ?? '';
    const pid = n.spec?.providerID || null;
    const parsed = parseProviderId(n.spec?.providerID, opts.cloud, opts.expect ?? {});
    const row: NodeStatus = {
      node: name,
      providerID: pid,
      vm: parsed.ok ? parsed.ref.instanceId : null,
      podCIDRs: podCIDRsOf(n),
      networkUnavailable: conditionOf(n),
    };
    const f = findingOf.get(name);
    if (n.metadata?.labels?.[key] === value)
      row.finding = { kind: 'excluded', detail: `Node ${name}: carries ${key}=${value}; not routed` };
    else if (f) row.finding = { kind: f.kind, detail: f.detail };
    rows.push(row);
  }
  return rows.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}
