// The seed's network built from network namespaces: a VPC router (its kernel routes are the VPC route table,
// mirrored from the emulator), VMs on one VPC segment each with a container bridge and containers, a
// non-container server on the segment, and an "internet" host beyond the router's 1:1 NAT (each VM has a
// public address, as behind an internet gateway). Every namespace carries the kit's unique prefix.
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { parseCidr, formatIp } from '../src/lib/cidr.ts';
import type { NetnsKit } from './netns.ts';

export const PEER = fileURLToPath(new URL('./dataplane-peer.ts', import.meta.url));
export const VPC_CIDR = '10.0.0.0/24';
export const ROUTER_IP = '10.0.0.1';
export const SERVER_IP = '10.0.0.100';
export const INTERNET_IP = '203.0.113.10';

export interface Vm {
  ns: string;
  ip: string;
  /** What the internet sees of the VM (the router's 1:1 NAT). */
  publicIp: string;
  containers: Container[];
}

export interface Container {
  name: string;
  ns: string;
  ip: string;
}

export interface Vpc {
  router: string;
  vms: Vm[];
  server: string;
  internet: string;
}

export function buildVpc(kit: NetnsKit, vmCount: number): Vpc {
  const router = kit.add('router');
  kit.ip(router, 'link add br0 type bridge');
  kit.ip(router, 'link set br0 up');
  kit.ip(router, `addr add ${ROUTER_IP}/24 dev br0`);
  kit.sysctl(router, 'net.ipv4.ip_forward', '1');
  // The VPC router forwards between VMs of one segment: no redirects, or VMs would learn to bypass it.
  kit.sysctl(router, 'net.ipv4.conf.all.send_redirects', '0');
  kit.sysctl(router, 'net.ipv4.conf.br0.send_redirects', '0');
  // A container subnet without a route goes nowhere (not out to the internet).
  kit.ip(router, 'route add unreachable 10.244.0.0/16');

  const onSegment = (name: string, ip: string): string => {
    const ns = kit.add(name);
    kit.veth(router, name, ns, 'eth0');
    kit.ip(router, `link set ${name} master br0`);
    kit.ip(ns, `addr add ${ip}/24 dev eth0`);
    kit.ip(ns, `route add default via ${ROUTER_IP}`);
    kit.sysctl(ns, 'net.ipv4.conf.all.accept_redirects', '0');
    return ns;
  };

  const vms: Vm[] = [];
  for (let i = 1; i <= vmCount; i++) {
    const vm: Vm = {
      ns: onSegment(`vm${i}`, `10.0.0.${10 + i}`),
      ip: `10.0.0.${10 + i}`,
      publicIp: `198.51.100.${10 + i}`,
      containers: [],
    };
    kit.exec(router, [
      'iptables',
      '-t',
      'nat',
      '-A',
      'POSTROUTING',
      '-o',
      'wan0',
      '-s',
      vm.ip,
      '-j',
      'SNAT',
      '--to-source',
      vm.publicIp,
    ]);
    vms.push(vm);
  }
  const server = onSegment('server', SERVER_IP);

  const internet = kit.add('inet');
  kit.veth(router, 'wan0', internet, 'eth0');
  kit.ip(router, 'addr add 203.0.113.1/24 dev wan0');
  kit.ip(internet, `addr add ${INTERNET_IP}/24 dev eth0`);
  // The internet knows the VMs' public addresses, nothing of the VPC's private ranges.
  kit.ip(internet, 'route add 198.51.100.0/24 via 203.0.113.1');
  return { router, vms, server, internet };
}

/** What the CNI would do from subnet.env: a bridge on the subnet's first address and `count` containers. */
export function addContainers(kit: NetnsKit, vm: Vm, subnet: string, count: number): Container[] {
  const s = parseCidr(subnet);
  const gw = formatIp(s.base + 1);
  kit.ip(vm.ns, 'link add cni0 type bridge');
  kit.ip(vm.ns, `addr add ${gw}/${s.prefix} dev cni0`);
  kit.ip(vm.ns, 'link set cni0 up');
  const idx = vm.ns.slice(vm.ns.lastIndexOf('-') + 1);
  for (let j = 0; j < count; j++) {
    const name = `${idx}c${j + 1}`;
    const ns = kit.add(name);
    kit.veth(vm.ns, `veth${j}`, ns, 'eth0');
    kit.ip(vm.ns, `link set veth${j} master cni0`);
    const ip = formatIp(s.base + 2 + j);
    kit.ip(ns, `addr add ${ip}/${s.prefix} dev eth0`);
    kit.ip(ns, `route add default via ${gw}`);
    vm.containers.push({ name, ns, ip });
  }
  return vm.containers;
}

/** Starts the peer server in `ns` and resolves when it listens. */
export function serve(kit: NetnsKit, ns: string, name: string, port = 80): Promise<ChildProcess> {
  const child = kit.spawn(ns, [process.execPath, PEER, 'serve', name, String(port)]);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`peer ${name} did not start`)), 20_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(t);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`peer ${name} exited ${code}`));
    });
  });
}
