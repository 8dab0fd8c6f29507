// Events on Nodes, as `kubectl describe node` shows them: route created, blocked by quota, conflict with a
// foreign route, cannot forward, no usable providerID. A finding recurs on every pass; it must not flood
// the API server or the Node's event list, so a recurring Event is one object whose count is bumped (as
// client-go's EventCorrelator does), and at most once per `bumpEveryMs`: occurrences in between are
// counted here and added with the next bump.
//
// core/v1 Events, in the `default` namespace: that is where client-go's recorder puts the Events of a
// cluster-scoped object like a Node, so `kubectl describe node` (which lists Events by involvedObject)
// finds them. Each create or bump is fenced (I4).
import type { CoreV1Event, V1Node } from '@kubernetes/client-node';
import { systemClock, type Clock } from '../lib/clock.ts';
import type { Logger } from '../log.ts';
import { apiCode, apiMessage, type KubeClient } from './client.ts';
import type { NodeFindingKind } from './node-inventory.ts';

export const EVENT_NAMESPACE = 'default';

export const NODE_EVENTS = {
  'route-created': { type: 'Normal', reason: 'RouteCreated' },
  'route-lost': { type: 'Warning', reason: 'RouteLost' },
  'blocked:quota': { type: 'Warning', reason: 'RouteBlockedByQuota' },
  conflict: { type: 'Warning', reason: 'RouteConflict' },
  'cannot-forward': { type: 'Warning', reason: 'CannotForward' },
  'no-provider-id': { type: 'Warning', reason: 'NoProviderID' },
  'unknown-vm': { type: 'Warning', reason: 'UnknownVM' },
  'bad-pod-cidr': { type: 'Warning', reason: 'InvalidPodCIDR' },
  'duplicate-vm': { type: 'Warning', reason: 'DuplicateVM' },
  'no-internal-ip': { type: 'Warning', reason: 'NoInternalIP' },
  'pod-cidr-refused': { type: 'Warning', reason: 'PodCIDRNotWritten' },
} as const;

export type NodeEventKind = keyof typeof NODE_EVENTS;

/** The Event each Node finding (the inventory's, the store's refused writes) is recorded as. */
export const FINDING_EVENTS: Record<NodeFindingKind, NodeEventKind> = {
  missing: 'no-provider-id',
  'other-cloud': 'no-provider-id',
  'other-location': 'no-provider-id',
  'not-a-vm': 'no-provider-id',
  'unknown-scheme': 'no-provider-id',
  malformed: 'no-provider-id',
  'no-internal-ip': 'no-internal-ip',
  'duplicate-vm': 'duplicate-vm',
  'vm-not-found': 'unknown-vm',
  // kubernetes.podCIDR read: the IPAM's podCIDR is not one routesync can route.
  'podcidr-invalid': 'bad-pod-cidr',
  'podcidr-outside': 'bad-pod-cidr',
  'podcidr-length': 'bad-pod-cidr',
  'podcidr-overlap': 'bad-pod-cidr',
  'podcidr-refused': 'pod-cidr-refused',
};
export const FINDING_KINDS: ReadonlySet<string> = new Set(Object.keys(FINDING_EVENTS));

/** The Event a route blocked by a plan finding of that kind is recorded as. */
export const BLOCK_EVENTS: Partial<Record<string, NodeEventKind>> = {
  'blocked:quota': 'blocked:quota',
  conflict: 'conflict',
  orphan: 'conflict',
  'cannot-forward': 'cannot-forward',
};

export interface NodeEventsOptions {
  kube: Pick<KubeClient, 'core' | 'options'>;
  logger: Logger;
  clock?: Clock;
  fence: () => Promise<void>;
  /** reportingInstance: which controller replica said it. */
  instance: string;
  /** A recurring Event's count is written at most this often (default 5 min). */
  bumpEveryMs?: number;
  requestTimeoutMs?: number;
}

interface Recorded {
  name: string;
  count: number;
  /** Occurrences since the last write. */
  unsent: number;
  writtenAt: number;
}

/** metav1.Time: RFC 3339 in whole seconds. */
function k8sTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export class NodeEvents {
  private readonly o: NodeEventsOptions;
  private readonly clock: Clock;
  private readonly seen = new Map<string, Recorded>();
  /** API writes made (creates + bumps), for the figures. */
  writes = 0;

  constructor(o: NodeEventsOptions) {
    this.o = o;
    this.clock = o.clock ?? systemClock;
  }

  private opts(contentType?: string) {
    return this.o.kube.options({
      timeoutMs: this.o.requestTimeoutMs ?? 10_000,
      ...(contentType ? { contentType } : {}),
    });
  }

  /**
   * Records that `kind` happened to `node` (message: the one line saying what and why). Returns what was
   * written: `created`, `bumped`, or `deferred` (counted, written with a later bump). An API refusal is
   * logged, not thrown: an Event is a report, never a reason to stop a pass.
   */
  async record(
    node: V1Node,
    kind: NodeEventKind,
    message: string,
  ): Promise<'created' | 'bumped' | 'deferred' | 'failed'> {
    const nodeName = node.metadata?.name as string;
    const key = `${nodeName}\u0000${kind}\u0000${message}`;
    const now = this.clock.now();
    const had = this.seen.get(key);
    try {
      if (had) {
        had.unsent++;
        if (now - had.writtenAt < (this.o.bumpEveryMs ?? 300_000)) return 'deferred';
        if (await this.bump(had, now)) return 'bumped';
        this.seen.delete(key); // expired on the server (events live an hour): start a new one
      }
      this.seen.set(key, await this.create(node, kind, message, now, had ? had.count + had.unsent : 1));
      return 'created';
    } catch (e) {
      this.o.logger.warn(
        { node: nodeName, event: NODE_EVENTS[kind].reason, err: apiMessage(e) },
        `could not record Event ${NODE_EVENTS[kind].reason} on Node ${nodeName}`,
      );
      return 'failed';
    }
  }

  private async create(
    node: V1Node,
    kind: NodeEventKind,
    message: string,
    now: number,
    count: number,
  ): Promise<Recorded> {
    const nodeName = node.metadata?.name as string;
    const { type, reason } = NODE_EVENTS[kind];
    const name = `${nodeName}.${(BigInt(now) * 1_000_000n).toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`;
    const body: CoreV1Event = {
      metadata: { name, namespace: EVENT_NAMESPACE },
      involvedObject: {
        kind: 'Node',
        apiVersion: 'v1',
        name: nodeName,
        ...(node.metadata?.uid ? { uid: node.metadata.uid } : {}),
      },
      type,
      reason,
      message,
      count,
      firstTimestamp: k8sTime(now) as unknown as Date,
      lastTimestamp: k8sTime(now) as unknown as Date,
      source: { component: 'routesync' },
      reportingComponent: 'routesync',
      reportingInstance: this.o.instance,
    };
    await this.o.fence();
    this.writes++;
    await this.o.kube.core.createNamespacedEvent({ namespace: EVENT_NAMESPACE, body }, this.opts());
    return { name, count, unsent: 0, writtenAt: now };
  }

  /** Adds the occurrences counted since the last write; false when the Event is gone. */
  private async bump(r: Recorded, now: number): Promise<boolean> {
    await this.o.fence();
    this.writes++;
    try {
      await this.o.kube.core.patchNamespacedEvent(
        {
          namespace: EVENT_NAMESPACE,
          name: r.name,
          body: { count: r.count + r.unsent, lastTimestamp: k8sTime(now) },
        },
        this.opts('application/merge-patch+json'),
      );
    } catch (e) {
      if (apiCode(e) === 404) return false;
      throw e;
    }
    r.count += r.unsent;
    r.unsent = 0;
    r.writtenAt = now;
    return true;
  }
}
