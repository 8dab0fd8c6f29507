// The Node's NetworkUnavailable condition, which the route controller owns since Kubernetes 1.31
// (kubernetes PR#123777 took it from the kubelet): `True / NoRouteCreated` on a new Node at once, so the
// scheduler keeps pods off it (the node lifecycle controller taints it); `False / RouteCreated` only once
// its route is active in every managed table; `True` again when the route is lost and not yet restored.
// The reasons are kube's route controller's, which other tooling keys on.
//
// Written as kube's route controller writes it: a strategic-merge patch of status.conditions through the
// nodes/status subresource (the condition list merges by `type`, so the kubelet's conditions are left
// alone). Our patch carries the resourceVersion of the Node it was decided on: if the Node changed since,
// 409 Conflict, re-read, decide again (it may already be so), up to a few times. A Node already in the
// wanted state is not patched at all. Each patch is fenced (I4) just before it is sent.
import type { V1Node, V1NodeCondition } from '@kubernetes/client-node';
import { systemClock, type Clock } from '../lib/clock.ts';
import type { Logger } from '../log.ts';
import { apiCode, apiMessage, type KubeClient } from './client.ts';

export const NETWORK_UNAVAILABLE = 'NetworkUnavailable';

/** What routing says of a Node: no route yet, every table has it, or it had one and lost it. */
export type RouteState = 'pending' | 'active' | 'lost';

interface Wanted {
  status: 'True' | 'False';
  reason: 'NoRouteCreated' | 'RouteCreated';
  message: string;
}

export function wantedCondition(state: RouteState): Wanted {
  switch (state) {
    case 'pending':
      return {
        status: 'True',
        reason: 'NoRouteCreated',
        message: 'routesync has not created a route for this Node yet',
      };
    case 'active':
      return { status: 'False', reason: 'RouteCreated', message: 'routesync created a route in every route table' };
    case 'lost':
      return {
        status: 'True',
        reason: 'NoRouteCreated',
        message: "the Node's route is missing from a route table; routesync is restoring it",
      };
  }
}

export function networkCondition(n: V1Node): V1NodeCondition | undefined {
  return n.status?.conditions?.find((c) => c.type === NETWORK_UNAVAILABLE);
}

/** Already so: same status and reason (the message alone is no reason to write). */
export function conditionIs(n: V1Node, w: Wanted): boolean {
  const c = networkCondition(n);
  return c?.status === w.status && c.reason === w.reason;
}

/** metav1.Time: RFC 3339 in whole seconds. */
function k8sTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export type ConditionOutcome = 'patched' | 'unchanged' | 'gone';

export class NodeConditionError extends Error {
  readonly code: number | undefined;
  constructor(message: string, code: number | undefined) {
    super(message);
    this.name = 'NodeConditionError';
    this.code = code;
  }
}

export interface NodeConditionsOptions {
  kube: Pick<KubeClient, 'core' | 'options'>;
  logger: Logger;
  clock?: Clock;
  /** The leader's fence (Leadership.fence): throws when we may not write. */
  fence: () => Promise<void>;
  /** Conflicts retried before giving up on this Node for this pass. */
  conflictRetries?: number;
  requestTimeoutMs?: number;
}

export class NodeConditions {
  private readonly o: NodeConditionsOptions;
  private readonly clock: Clock;
  /** Patches sent, for the figures (API calls per pass). */
  patches = 0;

  constructor(o: NodeConditionsOptions) {
    this.o = o;
    this.clock = o.clock ?? systemClock;
  }

  /**
   * Brings the Node's NetworkUnavailable to what `state` says. `node` is the Node as last seen (the
   * watch's copy): when it is already so, nothing is sent. Resolves `gone` for a Node deleted meanwhile;
   * throws NodeConditionError (one line) for a refusal (403, 422, …) or when conflicts do not stop.
   */
  async set(node: V1Node, state: RouteState): Promise<ConditionOutcome> {
    const want = wantedCondition(state);
    const name = node.metadata?.name as string;
    let current = node;
    const tries = 1 + (this.o.conflictRetries ?? 4);
    for (let attempt = 0; attempt < tries; attempt++) {
      if (conditionIs(current, want)) return 'unchanged';
      const had = networkCondition(current);
      const now = k8sTime(this.clock.now());
      const cond = {
        type: NETWORK_UNAVAILABLE,
        status: want.status,
        reason: want.reason,
        message: want.message,
        lastHeartbeatTime: now,
        // A transition is a change of status; a new reason or message under the same status is not.
        lastTransitionTime: had?.status === want.status && had.lastTransitionTime ? had.lastTransitionTime : now,
      };
      const rv = current.metadata?.resourceVersion;
      await this.o.fence();
      try {
        this.patches++;
        await this.o.kube.core.patchNodeStatus(
          {
            name,
            body: { metadata: { ...(rv ? { resourceVersion: rv } : {}) }, status: { conditions: [cond] } },
          },
          this.o.kube.options({
            contentType: 'application/strategic-merge-patch+json',
            timeoutMs: this.o.requestTimeoutMs ?? 10_000,
          }),
        );
        this.o.logger.info(
          { node: name, status: want.status, reason: want.reason },
          `Node ${name}: ${NETWORK_UNAVAILABLE}=${want.status} (${want.reason})`,
        );
        return 'patched';
      } catch (e) {
        const code = apiCode(e);
        if (code === 404) {
          this.o.logger.info({ node: name }, `Node ${name} is gone; its ${NETWORK_UNAVAILABLE} is moot`);
          return 'gone';
        }
        if (code !== 409) throw new NodeConditionError(`patching nodes/status of ${name}: ${apiMessage(e)}`, code);
      }
      // 409: the Node changed since we decided; read it again and decide again.
      try {
        current = await this.o.kube.core.readNodeStatus(
          { name },
          this.o.kube.options({ timeoutMs: this.o.requestTimeoutMs ?? 10_000 }),
        );
      } catch (e) {
        if (apiCode(e) === 404) return 'gone';
        throw new NodeConditionError(`re-reading Node ${name} after a conflict: ${apiMessage(e)}`, apiCode(e));
      }
    }
    throw new NodeConditionError(`patching nodes/status of ${name}: still conflicting after ${tries} tries`, 409);
  }
}
