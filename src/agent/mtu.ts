// FLANNEL_MTU is the VPC interface's own MTU: nothing is encapsulated. Read from /proc and /sys of the
// process's network namespace (`ip netns exec` mounts the namespace's /sys).
import { readFile } from 'node:fs/promises';

/** The interface of the IPv4 default route (/proc/net/route: destination 00000000). */
export async function defaultInterface(procRoute = '/proc/net/route'): Promise<string> {
  const text = await readFile(procRoute, 'utf8');
  for (const line of text.split('\n').slice(1)) {
    const [iface, dest, , , , , , mask] = line.trim().split(/\s+/);
    if (iface && dest === '00000000' && mask === '00000000') return iface;
  }
  throw new Error('no IPv4 default route: set agent.interface (or agent.mtu)');
}

export async function interfaceMtu(iface: string, sysClassNet = '/sys/class/net'): Promise<number> {
  let text: string;
  try {
    text = await readFile(`${sysClassNet}/${iface}/mtu`, 'utf8');
  } catch {
    throw new Error(`agent.interface: no interface ${iface} on this host (or set agent.mtu)`);
  }
  const mtu = Number(text.trim());
  if (!Number.isInteger(mtu) || mtu < 68)
    throw new Error(`interface ${iface} reports MTU ${JSON.stringify(text.trim())}`);
  return mtu;
}
