// The files the container runtime reads: flannel's subnet.env (so flannel's CNI plugin works unchanged)
// and, optionally, a CNI conflist for the standard bridge plugin. Written atomically and only on change,
// so a runtime reading them never sees half a file and their mtime says when the subnet last changed.
import { readFile } from 'node:fs/promises';
import { formatCidr, formatIp, parseCidr } from '../lib/cidr.ts';
import { writeFileAtomic } from '../lib/write-atomic.ts';

export interface NetworkFacts {
  clusterCIDR: string;
  /** This VM's subnet, e.g. 10.244.3.0/24. */
  subnet: string;
  mtu: number;
}

/** The subnet's first address: the bridge's, the containers' gateway. */
export function gatewayOf(subnet: string): string {
  return formatIp(parseCidr(subnet).base + 1);
}

/**
 * FLANNEL_IPMASQ=true because the agent masquerades: flannel's CNI plugin then sets the bridge's
 * ipMasq=false, and containers keep their own IP towards the VPC.
 */
export function renderSubnetEnv(f: NetworkFacts): string {
  const s = parseCidr(f.subnet);
  return [
    `FLANNEL_NETWORK=${formatCidr(parseCidr(f.clusterCIDR))}`,
    `FLANNEL_SUBNET=${gatewayOf(f.subnet)}/${s.prefix}`,
    `FLANNEL_MTU=${f.mtu}`,
    'FLANNEL_IPMASQ=true',
    '',
  ].join('\n');
}

/** The bridge plugin with host-local IPAM over the subnet; ipMasq off (the agent's chain does it). */
export function renderCniConflist(f: NetworkFacts, opts: { name: string; bridge: string }): string {
  const conf = {
    cniVersion: '1.0.0',
    name: opts.name,
    plugins: [
      {
        type: 'bridge',
        bridge: opts.bridge,
        isGateway: true,
        isDefaultGateway: true,
        ipMasq: false,
        hairpinMode: true,
        mtu: f.mtu,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: formatCidr(parseCidr(f.subnet)), gateway: gatewayOf(f.subnet) }]],
        },
      },
    ],
  };
  return `${JSON.stringify(conf, null, 2)}\n`;
}

/** Writes `text` to `path` (temp file + rename) unless it already holds exactly that. True when written. */
export async function writeIfChanged(path: string, text: string): Promise<boolean> {
  const now = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path} (${e.code ?? e.message})`);
  });
  if (now === text) return false;
  await writeFileAtomic(path, text);
  return true;
}
