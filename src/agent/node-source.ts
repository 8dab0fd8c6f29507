// Kubernetes mode: my subnet is my Node's spec.podCIDR (set once by whoever allocates, immutable after).
// The client is loaded only in this mode: it costs memory every other agent does not need.
import { apiCode, apiMessage, openKubeClient } from '../kubernetes/client.ts';

export interface NodeSource {
  /** The Node's podCIDR; undefined while it has none yet. Throws when the Node cannot be read. */
  podCIDR(nodeName: string): Promise<string | undefined>;
}

/** How long one read of the Node may take before it counts as failed. */
const READ_TIMEOUT_MS = 10_000;

export async function openNodeSource(kubeconfig: string | undefined): Promise<NodeSource> {
  // The agent reads its own kubeconfig field or, in a pod, the service account; not $KUBECONFIG.
  const kube = await openKubeClient({
    ...(kubeconfig ? { kubeconfig } : {}),
    field: 'agent.identity.kubeconfig',
    env: { ...process.env, KUBECONFIG: '' },
  });
  return {
    async podCIDR(nodeName) {
      let node;
      try {
        node = await kube.core.readNode({ name: nodeName }, kube.options({ timeoutMs: READ_TIMEOUT_MS }));
      } catch (e) {
        throw new Error(
          apiCode(e) === 404 ? `Node ${nodeName} not found in the API` : `reading Node ${nodeName}: ${apiMessage(e)}`,
        );
      }
      return node.spec?.podCIDR || undefined;
    },
  };
}
