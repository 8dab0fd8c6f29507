// My subnet: the allocation the controller wrote for this instance into the shared store (etcd, or the
// file store on the same machine). Absent means "not yet" — the agent waits, never invents one. A record
// that is not a CIDR inside clusterCIDR is refused: configuring it would route traffic nobody owns.
import { contains, formatCidr, parseCidr } from '../cidr.ts';
import type { Store } from '../store/types.ts';

export class SubnetRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SubnetRefused';
  }
}

export async function subnetOf(store: Store, instanceId: string, clusterCIDR: string): Promise<string | undefined> {
  // load() throws when the store cannot be read: a failed read is never "no subnet".
  const snap = await store.load();
  const a = snap.allocations.find((x) => x.instanceId === instanceId);
  if (!a) return undefined;
  let subnet;
  try {
    subnet = parseCidr(a.subnet);
  } catch (e) {
    throw new SubnetRefused(`store: the subnet of ${instanceId} is ${JSON.stringify(a.subnet)}: ${(e as Error).message}; refusing it`);
  }
  const cluster = parseCidr(clusterCIDR);
  if (!contains(cluster, subnet) || subnet.prefix === cluster.prefix || subnet.prefix > 30) {
    throw new SubnetRefused(`store: the subnet of ${instanceId} is ${formatCidr(subnet)}, not a subnet inside clusterCIDR ${formatCidr(cluster)}; refusing it`);
  }
  return formatCidr(subnet);
}
