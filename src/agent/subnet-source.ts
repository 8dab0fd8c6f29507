// My subnet: the allocation the controller wrote for this instance into the shared store (etcd, or the
// file store on the same machine). Absent means "not yet" — the agent waits, never invents one. A record
// that is not a CIDR inside clusterCIDR is refused: configuring it would route traffic nobody owns.
import { contains, formatCidr, parseCidr } from '../lib/cidr.ts';
import type { EtcdStore } from '../store/etcd/store.ts';
import type { Store } from '../store/types.ts';

export class SubnetRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SubnetRefused';
  }
}

/**
 * The raw subnet text recorded for the instance. On etcd two key reads (the VM's index key, then its subnet
 * key, which must name the VM back), not the whole cluster prefix: thousands of agents resync every minute.
 */
async function recorded(store: Store, instanceId: string): Promise<string | undefined> {
  if (store.kind === 'etcd') {
    const { client, base } = store as EtcdStore;
    const subnet = await client.get(`${base}instances/${instanceId}`).string();
    if (subnet === null) return undefined;
    const value = await client.get(`${base}subnets/${subnet.replace('/', '-')}`).string();
    if (value === null) return undefined; // released between the two reads: not allocated (any more)
    let owner: unknown;
    try {
      owner = (JSON.parse(value) as { instanceId?: unknown }).instanceId;
    } catch {
      throw new SubnetRefused(`store: the record of subnet ${subnet} is not JSON; refusing it`);
    }
    // Re-allocated between the two reads, or an index that disagrees: not ours now; the next sync re-reads.
    return owner === instanceId ? subnet : undefined;
  }
  // load() throws when the store cannot be read: a failed read is never "no subnet".
  const snap = await store.load();
  return snap.allocations.find((x) => x.instanceId === instanceId)?.subnet;
}

export async function subnetOf(store: Store, instanceId: string, clusterCIDR: string): Promise<string | undefined> {
  const text = await recorded(store, instanceId);
  return text === undefined ? undefined : checkSubnet(text, `store: the subnet of ${instanceId}`, clusterCIDR);
}

/** A subnet the agent may configure: a CIDR strictly inside clusterCIDR, at most /30. `what` names its source. */
export function checkSubnet(text: string, what: string, clusterCIDR: string): string {
  let subnet;
  try {
    subnet = parseCidr(text);
  } catch (e) {
    throw new SubnetRefused(`${what} is ${JSON.stringify(text)}: ${(e as Error).message}; refusing it`);
  }
  const cluster = parseCidr(clusterCIDR);
  if (!contains(cluster, subnet) || subnet.prefix === cluster.prefix || subnet.prefix > 30) {
    throw new SubnetRefused(
      `${what} is ${formatCidr(subnet)}, not a subnet inside clusterCIDR ${formatCidr(cluster)}; refusing it`,
    );
  }
  return formatCidr(subnet);
}
