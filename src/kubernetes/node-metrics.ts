// The metrics of the Node reports (./node-reporter.ts), registered on the process's registry only in
// Kubernetes mode (inventory.source kubernetes): a cloud-inventory process has no Nodes to count.
import { Counter, Gauge, type Registry } from 'prom-client';

/** How a Node stands for routing: its VM's route state, or why it has none. */
export const NODE_ROUTE_STATES = [
  'active',
  'pending',
  'lost',
  'blocked',
  'unknown',
  'unmapped',
  'unallocated',
] as const;
export type NodeRouteLabel = (typeof NODE_ROUTE_STATES)[number];

export class NodeMetrics {
  private readonly routes: Gauge<'state'>;
  private readonly findings: Gauge<'kind'>;
  private readonly patches: Counter<'status' | 'outcome'>;
  private readonly events: Counter<'reason' | 'outcome'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.routes = new Gauge({
      name: 'routesync_nodes',
      help: 'Nodes by their route: active in every table, pending, lost, blocked, unknown (a table not read), unmapped (an inventory finding), unallocated (no subnet yet).',
      labelNames: ['state'],
      registers,
    });
    this.findings = new Gauge({
      name: 'routesync_node_findings',
      help: 'Nodes the inventory could not map to a VM (no usable providerID, a VM the cloud does not have, …), by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.patches = new Counter({
      name: 'routesync_node_condition_patches_total',
      help: 'NetworkUnavailable patches of nodes/status, by status written and outcome (ok, gone, or the HTTP code / error).',
      labelNames: ['status', 'outcome'],
      registers,
    });
    this.events = new Counter({
      name: 'routesync_node_events_total',
      help: 'Events recorded on Nodes, by reason and outcome (created, bumped, deferred, failed).',
      labelNames: ['reason', 'outcome'],
      registers,
    });
    for (const s of NODE_ROUTE_STATES) this.routes.set({ state: s }, 0);
    for (const status of ['True', 'False'])
      for (const o of ['ok', 'failed']) this.patches.inc({ status, outcome: o }, 0);
  }

  setNodes(byState: ReadonlyMap<NodeRouteLabel, number>): void {
    for (const s of NODE_ROUTE_STATES) this.routes.set({ state: s }, byState.get(s) ?? 0);
  }

  setFindings(byKind: ReadonlyMap<string, number>, known: ReadonlySet<string>): void {
    for (const k of new Set([...known, ...byKind.keys()])) this.findings.set({ kind: k }, byKind.get(k) ?? 0);
  }

  patched(status: string, outcome: string): void {
    this.patches.inc({ status, outcome });
  }

  event(reason: string, outcome: string): void {
    this.events.inc({ reason, outcome });
  }
}
