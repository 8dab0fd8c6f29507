// The `agent:` section of the config file: what `routesync agent` needs beyond cluster, clusterCIDR, store
// and provider.type (which it shares with the controller). Kept here so config.ts only plugs it in.
import { z } from 'zod';
import { parseIp } from '../lib/cidr.ts';
import { cidrString as cidr, duration } from '../config-fields.ts';

/** `10.244.1.2:80`: a container endpoint of an ingress mapping. */
const endpoint = z.string().superRefine((s, ctx) => {
  const m = /^([0-9.]+):(\d{1,5})$/.exec(s);
  const bad = () =>
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(s)} is not an IPv4 address:port such as 10.244.1.2:8080`,
    });
  if (!m) return bad();
  try {
    parseIp(m[1] as string);
  } catch {
    return bad();
  }
  const port = Number(m[2]);
  if (port < 1 || port > 65535) bad();
});

const port = z
  .number({ error: 'must be a port number 1-65535' })
  .int('must be a port number 1-65535')
  .min(1, 'must be a port number 1-65535')
  .max(65535, 'must be a port number 1-65535');

export const ingressSchema = z.strictObject({
  port,
  protocol: z.enum(['tcp', 'udp'], { error: 'must be tcp or udp' }).default('tcp'),
  endpoints: z.array(endpoint).min(1, 'must list at least one container endpoint'),
});

export const agentSchema = z.strictObject({
  identity: z
    .strictObject({
      /** metadata: the cloud's metadata service; kubernetes: the Node name from the downward API (NODE_NAME). */
      source: z.enum(['metadata', 'kubernetes'], { error: 'must be metadata or kubernetes' }).default('metadata'),
      /** Base URL of the metadata service; default the cloud's link-local address. */
      metadataEndpoint: z.string().url('must be a URL such as http://169.254.169.254').optional(),
      timeout: duration('5m').prefault('2s'),
      /** Kubernetes mode: a kubeconfig file; default the pod's in-cluster service account. */
      kubeconfig: z.string().min(1).optional(),
    })
    .prefault({}),
  /** flannel-compatible subnet.env (read by flannel's CNI plugin). */
  subnetEnv: z.string().min(1).default('/run/flannel/subnet.env'),
  /** A CNI conflist for the bridge plugin with host-local IPAM; not written when absent. */
  cniConfig: z
    .strictObject({
      path: z.string().min(1),
      bridge: z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,15}$/, 'must be an interface name of at most 15 characters')
        .default('cni0'),
      name: z.string().min(1).default('routesync'),
    })
    .optional(),
  /** FLANNEL_MTU; default the MTU of `interface` (nothing is encapsulated). */
  mtu: z.number().int().min(576).max(65535).optional(),
  /** The VM's VPC interface; default the one holding the default route. */
  interface: z
    .string()
    .regex(/^[A-Za-z0-9_.@-]{1,15}$/, 'must be an interface name')
    .optional(),
  /** The VPC's CIDR(s): containers keep their own IP towards them. */
  vpcCIDRs: z.array(cidr).default([]),
  /** Destinations never masqueraded; default clusterCIDR, vpcCIDRs and the RFC 1918 ranges. */
  nonMasqueradeCIDRs: z.array(cidr).max(1024).optional(),
  /** Masquerade towards 169.254.0.0/16 too (ip-masq-agent's masqLinkLocal). */
  masqLinkLocal: z.boolean().default(false),
  /** MASQUERADE --random-fully (kernel ≥ 3.13 with iptables ≥ 1.6.2). */
  randomFully: z.boolean().default(true),
  /** An ip-masq-agent config file, read as is every resync; its keys override the ones above. */
  ipMasqAgentConfig: z.string().min(1).optional(),
  resyncInterval: duration('24h').prefault('60s'),
  /** VM port → container endpoints (plain VMs; in Kubernetes, Services do this). */
  ingress: z.array(ingressSchema).default([]),
  metrics: z
    .strictObject({
      listen: z
        .string()
        .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9465')
        .default('0.0.0.0:9465'),
    })
    .prefault({}),
});

export type AgentConfig = z.output<typeof agentSchema>;
export type IngressMapping = z.output<typeof ingressSchema>;

/** Cross-field checks of the agent section (paths start with `agent.`). */
export function agentProblems(agent: AgentConfig): string[] {
  const out: string[] = [];
  if (agent.identity.source === 'kubernetes' && agent.ingress.length > 0) {
    out.push(
      'agent.ingress: not used in Kubernetes mode (identity.source kubernetes): expose containers with a Service instead',
    );
  }
  const seen = new Map<string, number>();
  agent.ingress.forEach((m, i) => {
    const key = `${m.protocol}/${m.port}`;
    const first = seen.get(key);
    if (first !== undefined) out.push(`agent.ingress.${i}: ${key} is already mapped by agent.ingress.${first}`);
    else seen.set(key, i);
  });
  if (agent.identity.source !== 'kubernetes' && agent.identity.kubeconfig !== undefined)
    out.push('agent.identity.kubeconfig: only applies to identity.source kubernetes');
  if (agent.resyncInterval < 1000) out.push('agent.resyncInterval: must be at least 1s');
  return out;
}
