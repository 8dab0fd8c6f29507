// The Nodes part of the status document (inventory.source kubernetes, issue 14 item 6): one row per Node —
// its providerID and VM, its podCIDR next to the subnet the store holds for that VM, NetworkUnavailable as the
// Node carries it, and its finding. Joined here, rendered here; src/status.ts places it in the document.
import type { InventorySource } from './inventory/source.ts';
import type { NodeStatus } from './kubernetes/node-status.ts';

export interface NodeRow extends NodeStatus {
  /** The subnet the store holds for the row's VM; null when none (yet). */
  subnet: string | null;
}

/** What the document carries: the rows, or null and why when the Nodes are not known (never "no Nodes"). */
export type NodeSection = { nodes: NodeRow[] } | { nodes: null; nodesError: string };

/** The Nodes of a Kubernetes inventory, or undefined for a source that has none (the cloud's listing). */
export function nodeStatusOf(inventory: InventorySource): (() => NodeStatus[]) | undefined {
  const f = (inventory as Partial<{ nodeStatus: () => NodeStatus[] }>).nodeStatus;
  return inventory.kind === 'kubernetes' && typeof f === 'function' ? () => f.call(inventory) : undefined;
}

/** buildStatus's `nodes` option for this inventory: present in Kubernetes mode only. */
export function nodesOption(inventory: InventorySource): { nodes?: () => NodeStatus[] } {
  const f = nodeStatusOf(inventory);
  return f ? { nodes: f } : {};
}

export function nodeSection(
  rows: () => readonly NodeStatus[],
  allocations: ReadonlyArray<{ instanceId: string; subnet: string }>,
): NodeSection {
  let list: readonly NodeStatus[];
  try {
    list = rows();
  } catch (e) {
    return { nodes: null, nodesError: e instanceof Error ? e.message : String(e) };
  }
  const subnetOf = new Map(allocations.map((a) => [a.instanceId, a.subnet]));
  return {
    nodes: list.map((r) => {
      const subnet = (r.vm !== null ? subnetOf.get(r.vm) : undefined) ?? null;
      const row: NodeRow = { ...r, subnet };
      // The CNI addresses pods from the podCIDR, the route carries the subnet: two different ones is a Node
      // whose pods are unreachable, worth a line even where nothing else is wrong.
      if (!row.finding && subnet !== null && r.podCIDRs.length > 0 && !r.podCIDRs.includes(subnet))
        row.finding = {
          kind: 'podcidr-mismatch',
          detail: `Node ${r.node}: spec.podCIDR ${r.podCIDRs.join(',')} is not its VM's subnet ${subnet}: the route carries the subnet, not the pods' addresses`,
        };
      return row;
    }),
  };
}

/** A string from the API as one table cell: quoted when it holds control characters (or blanks, in a cell), long values cut. */
function cell(s: string | null, max = 60, blanks = true): string {
  if (s === null || s === '') return '-';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
  const odd = blanks ? /[\u0000-\u001f\u007f\s]/ : /[\u0000-\u001f\u007f]/;
  const clean = odd.test(s) ? JSON.stringify(s) : s;
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

function conditionCell(c: NodeStatus['networkUnavailable']): string {
  if (!c) return 'not set';
  return c.reason ? `${cell(c.status, 10)} ${cell(c.reason, 30)}` : cell(c.status, 10);
}

export function renderNodes(section: NodeSection): string[] {
  if (section.nodes === null) return [`Nodes: not read (${section.nodesError})`];
  const rows = section.nodes;
  const excluded = rows.filter((r) => r.finding?.kind === 'excluded').length;
  const withFinding = rows.filter((r) => r.finding && r.finding.kind !== 'excluded').length;
  const out = [
    `Nodes: ${rows.length}: ${rows.length - excluded - withFinding} routed, ${excluded} excluded, ${withFinding} with a finding`,
  ];
  if (rows.length === 0) return out;
  const table = [
    ['NODE', 'PROVIDER ID', 'VM', 'PODCIDR', 'SUBNET', 'NETWORKUNAVAILABLE', 'FINDING'],
    ...rows.map((r) => [
      cell(r.node),
      cell(r.providerID),
      cell(r.vm),
      r.podCIDRs.length > 0 ? r.podCIDRs.map((c) => cell(c, 43)).join(',') : '-',
      cell(r.subnet),
      conditionCell(r.networkUnavailable),
      r.finding?.kind ?? '',
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => (row[i] as string).length)));
  out.push('');
  for (const row of table)
    out.push(
      row
        .map((c, i) => (i === row.length - 1 ? c : c.padEnd((widths[i] as number) + 2)))
        .join('')
        .trimEnd(),
    );
  const details = rows
    .filter((r) => r.finding)
    .map((r) => `  ${r.finding?.kind}: ${cell(r.finding?.detail ?? '', 300, false)}`);
  if (details.length > 0) out.push('', ...details);
  return out;
}
