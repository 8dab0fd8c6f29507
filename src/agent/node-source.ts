// Kubernetes mode: my subnet is my Node's spec.podCIDR (set once by whoever allocates, immutable after).
// The client is loaded only in this mode: it costs memory every other agent does not need.
export interface NodeSource {
  /** The Node's podCIDR; undefined while it has none yet. Throws when the Node cannot be read. */
  podCIDR(nodeName: string): Promise<string | undefined>;
}

export async function openNodeSource(kubeconfig: string | undefined): Promise<NodeSource> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  try {
    if (kubeconfig) kc.loadFromFile(kubeconfig);
    else kc.loadFromCluster();
  } catch (e) {
    throw new Error(
      `agent.identity.kubeconfig: cannot load ${kubeconfig ?? 'the in-cluster service account'}: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  const core = kc.makeApiClient(k8s.CoreV1Api);
  return {
    async podCIDR(nodeName) {
      let node;
      try {
        node = await core.readNode({ name: nodeName });
      } catch (e) {
        const code = (e as { code?: number }).code;
        throw new Error(
          code === 404
            ? `Node ${nodeName} not found in the API`
            : `reading Node ${nodeName}: ${code ? `HTTP ${code}` : (e as Error).message.split('\n')[0]}`,
        );
      }
      return node.spec?.podCIDR || undefined;
    },
  };
}
