// What of a Node the Node watch keeps and compares: the slim copy its cache holds, the fingerprint of what
// matters to routing (a change elsewhere signals nothing), and the exclusion label.
import type { V1Node } from '@kubernetes/client-node';

export const EXCLUDE_LABEL = 'routesync.io/exclude';
export const DEFAULT_EXCLUDE = { key: EXCLUDE_LABEL, value: 'true' };

export function isExcluded(n: V1Node, by: { key: string; value: string }): boolean {
  return n.metadata?.labels?.[by.key] === by.value;
}

function conditionStatus(n: V1Node, type: string): string {
  return n.status?.conditions?.find((c) => c.type === type)?.status ?? '';
}

/** What about a Node matters to routing; a change elsewhere (heartbeats, images) signals nothing. */
export function routingFingerprint(n: V1Node, exclude: { key: string; value: string } = DEFAULT_EXCLUDE): string {
  return JSON.stringify([
    n.metadata?.uid,
    n.spec?.providerID ?? '',
    n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : []),
    (n.status?.addresses ?? []).map((a) => `${a.type}=${a.address}`),
    isExcluded(n, exclude),
    n.metadata?.deletionTimestamp ? 'deleting' : '',
    conditionStatus(n, 'NetworkUnavailable'),
    conditionStatus(n, 'Ready'),
  ]);
}

/**
 * The part of a Node the cache keeps: what routing, the store, the reports and status read — metadata
 * name/uid/resourceVersion/creationTimestamp/deletionTimestamp/labels, the whole spec (providerID,
 * podCIDR(s): small), status.conditions and status.addresses. Dropped: metadata.managedFields and
 * annotations, status.images (a kubelet reports up to 50, two names each: most of a real Node's bytes),
 * nodeInfo, capacity, allocatable, volumes, daemonEndpoints, config. 1,000 full Nodes held for the whole
 * process life are tens of MB of heap that no pass reads (bench/kubernetes-rest.ts).
 */
export function slimNode(n: V1Node): V1Node {
  const md = n.metadata ?? {};
  const st = n.status;
  const out: V1Node = {
    ...(n.apiVersion !== undefined ? { apiVersion: n.apiVersion } : {}),
    ...(n.kind !== undefined ? { kind: n.kind } : {}),
    metadata: {
      ...(md.name !== undefined ? { name: md.name } : {}),
      ...(md.uid !== undefined ? { uid: md.uid } : {}),
      ...(md.resourceVersion !== undefined ? { resourceVersion: md.resourceVersion } : {}),
      ...(md.creationTimestamp !== undefined ? { creationTimestamp: md.creationTimestamp } : {}),
      ...(md.deletionTimestamp !== undefined ? { deletionTimestamp: md.deletionTimestamp } : {}),
      ...(md.labels !== undefined ? { labels: md.labels } : {}),
    },
    ...(n.spec !== undefined ? { spec: n.spec } : {}),
  };
  if (st !== undefined)
    out.status = {
      ...(st.conditions !== undefined ? { conditions: st.conditions } : {}),
      ...(st.addresses !== undefined ? { addresses: st.addresses } : {}),
    };
  return out;
}
