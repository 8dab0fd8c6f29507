// store.type kubernetes: in-cluster without etcd. Leadership is a coordination.k8s.io/v1 Lease in the
// controller's namespace (src/kubernetes/lease.ts, client-go's timings); the allocations are the Nodes'
// spec.podCIDR(s) with one ConfigMap beside the Lease as the commit point and cool-down record (./record.ts
// says why). Fenced like the etcd election (I4): the store checks the lease before each write, and the kube
// wire fence refuses any write of this process to the API server — store, Node conditions, Events — at the
// moment it would go on the wire once the lease may have expired (a SIGSTOPped leader resumed sends
// nothing). @kubernetes/client-node is loaded only when a config names this kind.
import type { V1Node } from '@kubernetes/client-node';
import type { ProviderRef } from '../../kubernetes/provider-id.ts';
import { poolOf, type StoreConfig, type StoreKind } from '../kind.ts';

/** The fields of the `kubernetes:` section (src/kubernetes/config.ts) this kind reads; StoreConfig leaves it out. */
interface KubeSection {
  kubeconfig?: string;
  namespace?: string;
  lease?: { name?: string; leaseDuration?: number; renewDeadline?: number; retryPeriod?: number };
  podCIDR?: 'allocate' | 'read';
}

/** What of a full Config this kind reads beyond StoreConfig: the cloud names the providerID form. */
type KubeStoreConfig = StoreConfig & {
  kubernetes?: KubeSection;
  provider?: { type: ProviderRef['cloud'] };
};

export const DEFAULT_LEASE = 'routesync';

/** The ConfigMap holding the allocation record of `cluster`, next to the Lease. */
export const recordName = (cluster: string): string => `routesync-${cluster}-subnets`;

export const kubernetesStore: StoreKind = {
  location(config) {
    const k = (config as KubeStoreConfig).kubernetes;
    const ns = k?.namespace ?? "(the pod's namespace)";
    return {
      type: 'kubernetes',
      keys: `ConfigMap ${ns}/${recordName(config.cluster)}, Lease ${ns}/${k?.lease?.name ?? DEFAULT_LEASE}, Nodes' spec.podCIDR`,
    };
  },
  async open(config, deps) {
    const c = config as KubeStoreConfig;
    const k = c.kubernetes ?? {};
    const cloud = c.provider?.type;
    if (!cloud) throw new Error('provider.type: is required for store.type kubernetes (it names the providerID form)');
    const [
      { openKubeClient },
      { LeaseLeadership },
      { fenceKubeWrites, leasePaths },
      { parseProviderId, providerIdExpectation },
      { KubernetesStore },
    ] = await Promise.all([
      import('../../kubernetes/client.ts'),
      import('../../kubernetes/lease.ts'),
      import('../../kubernetes/wire-fence.ts'),
      import('../../kubernetes/provider-id.ts'),
      import('./store.ts'),
    ]);
    const kube = await openKubeClient({
      ...(k.kubeconfig ? { kubeconfig: k.kubeconfig, field: 'kubernetes.kubeconfig' } : {}),
    });
    const namespace = k.namespace ?? kube.namespace;
    if (!namespace)
      throw new Error(
        `kubernetes.namespace: is required: ${kube.source} names no namespace (in a pod the service account's is used)`,
      );
    const leaseName = k.lease?.name ?? DEFAULT_LEASE;
    const leadership = new LeaseLeadership({
      kube,
      namespace,
      name: leaseName,
      ...(k.lease?.leaseDuration !== undefined ? { leaseDurationMs: k.lease.leaseDuration } : {}),
      ...(k.lease?.renewDeadline !== undefined ? { renewDeadlineMs: k.lease.renewDeadline } : {}),
      ...(k.lease?.retryPeriod !== undefined ? { retryPeriodMs: k.lease.retryPeriod } : {}),
      logger: deps.logger,
      ...(deps.identity ? { identity: deps.identity } : {}),
      ...(deps.clock ? { clock: deps.clock } : {}),
    });
    // The provider section's location fields (GCE project, Aliyun region) bound which VMs are ours.
    const expect = providerIdExpectation(c.provider ?? { type: cloud });
    const vmOf = (n: V1Node) => {
      const r = parseProviderId(n.spec?.providerID, cloud, expect);
      return r.ok ? r.ref.instanceId : undefined;
    };
    // Every write of this process to the API server passes the lease's local deadline as it goes out; the
    // Lease's own requests are exempt (they carry its resourceVersion, and must renew it).
    const wire = fenceKubeWrites(kube.server, () => leadership.checkNow(), leasePaths(namespace, leaseName));
    const store = new KubernetesStore({
      kube,
      namespace,
      configMap: recordName(config.cluster),
      vmOf,
      ...poolOf(config),
      logger: deps.logger,
      ...(deps.clock ? { clock: deps.clock } : {}),
      guard: () => leadership.checkNow(),
      ...(k.podCIDR ? { podCIDR: k.podCIDR } : {}),
      onClose: () => wire.close(),
    });
    return { store, leadership };
  },
};
