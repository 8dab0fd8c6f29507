// The `kubernetes:` section of the config file: how the controller reaches the API server and what it does
// there (Nodes as inventory, podCIDR mode, the Lease of `store.type: kubernetes`). Kept here so config.ts
// only plugs it in; the section is read only when `inventory.source` or `store.type` is `kubernetes`.
import { z } from 'zod';
import { duration } from '../config-fields.ts';

/** A DNS-1123 label: a namespace name, as the API server checks it. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A DNS-1123 subdomain: a Lease (object) name. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A label name part or value: at most 63, alphanumerics at both ends, `-_.` inside. */
const LABEL_PART = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

export interface LabelMatch {
  key: string;
  value: string;
}

/** `key=value` with a valid label key (optional DNS-subdomain prefix) and value; undefined if not. */
export function parseLabelMatch(s: string): LabelMatch | undefined {
  const eq = s.indexOf('=');
  if (eq <= 0) return undefined;
  const key = s.slice(0, eq);
  const value = s.slice(eq + 1);
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return undefined;
  if (name === '' || name.length > 63 || !LABEL_PART.test(name)) return undefined;
  if (value.length > 63 || !LABEL_PART.test(value)) return undefined;
  return { key, value };
}

const labelMatch = z
  .string({ error: 'must be a label key=value such as routesync.io/exclude=true' })
  .refine((s) => parseLabelMatch(s) !== undefined, {
    error: (i) => `${JSON.stringify(i.input)} is not a label key=value such as routesync.io/exclude=true`,
  });

export const leaseSchema = z.strictObject({
  /** The Lease in `kubernetes.namespace` that the replicas compete for. */
  name: z
    .string()
    .max(253, 'must be at most 253 characters')
    .regex(DNS_SUBDOMAIN, 'must be a DNS subdomain name: lowercase letters, digits, - and .')
    .default('routesync'),
  /** client-go's defaults: how long a Lease holds without renewal, how long the leader tries to renew, how often. */
  leaseDuration: duration('10m').prefault('15s'),
  renewDeadline: duration('10m').prefault('10s'),
  retryPeriod: duration('1m').prefault('2s'),
});

export const kubernetesSchema = z.strictObject({
  /** A kubeconfig file (the `--kubeconfig` flag wins over it); default $KUBECONFIG, then the pod's service account. */
  kubeconfig: z.string().min(1, 'must be a file path').optional(),
  /** Where the Lease (and store.type kubernetes's record) lives; default the pod's (or the context's) namespace. */
  namespace: z
    .string()
    .max(63, 'must be at most 63 characters')
    .regex(DNS_LABEL, 'must be a namespace name: lowercase letters, digits and -')
    .optional(),
  lease: leaseSchema.prefault({}),
  /** allocate: routesync writes each Node's spec.podCIDR; read: another IPAM does and routesync routes it. */
  podCIDR: z.enum(['allocate', 'read'], { error: 'must be allocate or read' }).default('allocate'),
  /** Nodes carrying this label are not routed (nor counted as gone). */
  excludeLabel: labelMatch.default('routesync.io/exclude=true'),
});

export type KubernetesConfig = z.output<typeof kubernetesSchema>;

/** client-go's LeaderElector checks (leaderelection.go), with the field names of this section. */
const JITTER = 1.2;

/**
 * Cross-field checks of the section; `inventory` is inventory.source and `store` store.type, when they
 * parsed.
 */
export function kubernetesProblems(
  k: Partial<KubernetesConfig> | undefined,
  inventory: string | undefined,
  store?: string,
): string[] {
  const out: string[] = [];
  const l = k?.lease;
  if (l?.leaseDuration !== undefined && l.renewDeadline !== undefined && l.leaseDuration <= l.renewDeadline)
    out.push(
      `kubernetes.lease.leaseDuration: must be longer than kubernetes.lease.renewDeadline (${l.leaseDuration / 1000}s ≤ ${l.renewDeadline / 1000}s)`,
    );
  if (l?.leaseDuration !== undefined && l.leaseDuration % 1000 !== 0)
    out.push('kubernetes.lease.leaseDuration: must be whole seconds (a Lease stores leaseDurationSeconds)');
  if (l?.renewDeadline !== undefined && l.retryPeriod !== undefined && l.renewDeadline <= JITTER * l.retryPeriod)
    out.push(
      `kubernetes.lease.renewDeadline: must be longer than ${JITTER} × kubernetes.lease.retryPeriod (${l.renewDeadline / 1000}s ≤ ${(JITTER * l.retryPeriod) / 1000}s)`,
    );
  if (l?.retryPeriod !== undefined && l.retryPeriod <= 0) out.push('kubernetes.lease.retryPeriod: must be positive');
  if (k?.podCIDR === 'read' && inventory !== undefined && inventory !== 'kubernetes')
    out.push('kubernetes.podCIDR: read needs inventory.source kubernetes (the podCIDRs are read from the Nodes)');
  // Read mode routes what the Nodes carry, so the Nodes are the allocation record: only store.type
  // kubernetes reads its allocations from them. An etcd or file record would be a second one, written by
  // no IPAM, that disagrees with the Nodes the moment kube-controller-manager gives a subnet out again.
  if (k?.podCIDR === 'read' && store !== undefined && store !== 'kubernetes')
    out.push(
      `kubernetes.podCIDR: read needs store.type kubernetes (the Nodes' podCIDRs are the allocation record; store.type ${store} would keep a second one)`,
    );
  return out;
}
