// Real packets along the routes routesync writes: the seed's network from network namespaces (a VPC router
// whose kernel routes mirror the AWS emulator's main table, 3 VMs with 2 containers each, a non-container
// server, an internet host beyond the router's 1:1 NAT), `routesync run` on the host and one
// `routesync agent` per VM namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createAwsEmulator, EMULATOR_TOPOLOGY as AWS } from '../../providers/aws/emulator.ts';
import { startEmulator, type RunningEmulator } from '../../providers/emulator/server.ts';
import { BIN, controllerEnv, REPO } from '../helpers/cli.ts';
import { addContainers, buildVpc, INTERNET_IP, PEER, serve, SERVER_IP, type Vpc } from '../helpers/dataplane.ts';
import { NetnsKit, runIn } from '../helpers/netns.ts';
import { forwardIntoNetns } from '../helpers/ns-forward.ts';
import { until } from '../helpers/wait.ts';

const TAG = { key: 'routesync-cluster', value: 'dp' };

describe('dataplane: containers across VMs through the emulated VPC router', () => {
  let kit: NetnsKit;
  let vpc: Vpc;
  let emu: RunningEmulator;
  let dir: string;
  let controller: ChildProcess | undefined;
  const agents = new Map<number, ChildProcess>();
  const ids: string[] = [];
  const subnets: string[] = [];
  const logs: string[] = [];

  const ping = async (from: string, to: string) => (await runIn(from, ['ping', '-c', '1', '-W', '1', to], 5000)).code === 0;
  const tcp = async (from: string, to: string, port = 80, count = 1, parallel = 1) => {
    const r = await runIn(from, [process.execPath, PEER, 'connect', to, String(port), String(count), String(parallel)], 60_000);
    if (r.code !== 0) throw new Error(`peer connect in ${from}: ${r.stderr}`);
    return JSON.parse(r.stdout) as { names: Record<string, number>; seen: string[]; failed: number };
  };

  const baseDoc = () => ({
    cluster: 'dp',
    clusterCIDR: '10.244.0.0/16',
    provider: { type: 'aws', region: AWS.region, vpcId: AWS.vpcId, endpoint: emu.url, instanceFilter: `${TAG.key}=${TAG.value}`, routeTableIds: [AWS.tables[0]] },
    store: { type: 'file', path: join(dir, 'state.json') },
    reconcile: { interval: '1s', debounce: '100ms', releaseAfter: '2s', reuseAfter: '10m', maxDeleteFraction: 0.5 },
    metrics: { listen: '127.0.0.1:0' },
  });
  const agentConfig = (i: number, ingress: unknown[] = []) => {
    const path = join(dir, `agent-${i}.yaml`);
    writeFileSync(
      path,
      stringify({
        ...baseDoc(),
        agent: {
          identity: { metadataEndpoint: `${emu.url}/_metadata/${ids[i]}` },
          subnetEnv: join(dir, `vm${i + 1}`, 'subnet.env'),
          vpcCIDRs: ['10.0.0.0/24'],
          resyncInterval: '1s',
          metrics: { listen: '127.0.0.1:9465' },
          ingress,
        },
      }),
    );
    return path;
  };
  const startAgent = (i: number, ingress: unknown[] = []) => {
    const child = kit.spawn(vpc.vms[i]!.ns, [process.execPath, BIN, 'agent', '-c', agentConfig(i, ingress)], { env: controllerEnv(`agent-${i}`) });
    child.stderr?.on('data', (d: Buffer) => logs.push(`vm${i + 1}: ${d.toString().trim()}`));
    agents.set(i, child);
    return child;
  };

  beforeAll(async () => {
    kit = new NetnsKit();
    dir = mkdtempSync(join(tmpdir(), 'rs-dataplane-'));
    vpc = buildVpc(kit, 3);
    emu = await startEmulator(createAwsEmulator, { mirror: { netns: vpc.router, table: AWS.tables[0], intervalMs: 50 } });
    const made = emu.cloud.admin.addInstances({ instances: vpc.vms.map((vm, i) => ({ name: `vm${i + 1}`, privateIp: vm.ip, tags: { [TAG.key]: TAG.value } })) }) as Array<{ id: string }>;
    ids.push(...made.map((m) => m.id));
    for (let i = 0; i < 3; i++) mkdirSync(join(dir, `vm${i + 1}`));
    writeFileSync(join(dir, 'controller.yaml'), stringify(baseDoc()));
    const fwds = await Promise.all(vpc.vms.map((vm) => forwardIntoNetns(kit, vm.ns, emu.port)));
    void fwds;
    controller = spawn(process.execPath, [BIN, 'run', '-c', join(dir, 'controller.yaml')], { cwd: REPO, env: controllerEnv('dp-controller'), stdio: ['ignore', 'ignore', 'pipe'] });
    controller.stderr?.on('data', (d: Buffer) => logs.push(`controller: ${d.toString().trim()}`));
    for (let i = 0; i < 3; i++) startAgent(i);
    // Each VM's containers are made the way the CNI would: from the subnet.env its agent wrote.
    for (let i = 0; i < 3; i++) {
      const env = await until(`vm${i + 1} subnet.env`, () => {
        try {
          return readFileSync(join(dir, `vm${i + 1}`, 'subnet.env'), 'utf8');
        } catch {
          return undefined;
        }
      }, 30_000, 100);
      const [, gw, len] = /FLANNEL_SUBNET=(\S+)\/(\d+)/.exec(env) ?? [];
      const subnet = `${gw!.replace(/\.1$/, '.0')}/${len}`;
      subnets.push(subnet);
      addContainers(kit, vpc.vms[i]!, subnet, 2);
    }
    await Promise.all([
      ...vpc.vms.flatMap((vm) => vm.containers.map((c) => serve(kit, c.ns, c.name))),
      serve(kit, vpc.server, 'server'),
      serve(kit, vpc.internet, 'internet'),
    ]);
    await until('three routes in the router', () => emu.mirror!.routes().size === 3, 30_000);
  }, 90_000);

  afterAll(async () => {
    controller?.kill('SIGKILL');
    await kit?.teardown();
    await emu?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const c = (vm: number, j: number) => vpc.vms[vm]!.containers[j]!;

  it('a container reaches a container on another VM (ICMP and TCP) through the router, each seeing the other\'s own IP', async () => {
    try {
      expect(await ping(c(0, 0).ns, c(1, 0).ip)).toBe(true);
      expect(await ping(c(2, 1).ns, c(0, 1).ip)).toBe(true);
      expect(await tcp(c(0, 0).ns, c(1, 0).ip)).toEqual({ names: { [c(1, 0).name]: 1 }, seen: [c(0, 0).ip], failed: 0 });
      expect(await tcp(c(1, 0).ns, c(0, 0).ip)).toEqual({ names: { [c(0, 0).name]: 1 }, seen: [c(1, 0).ip], failed: 0 });
      // The path really is the router: its kernel route for the subnet points at the VM.
      expect(kit.ip(vpc.router, `route show ${subnets[1]}`)).toContain(`via ${vpc.vms[1]!.ip}`);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${logs.slice(-20).join('\n')}`);
    }
  });

  it('the non-container server sees the container\'s own IP; the internet host sees the VM\'s address', async () => {
    expect(await tcp(c(0, 0).ns, SERVER_IP)).toEqual({ names: { server: 1 }, seen: [c(0, 0).ip], failed: 0 });
    // Masqueraded to the VM (10.0.0.11) by the agent, then the router's 1:1 NAT to the VM's public address.
    expect(await tcp(c(0, 0).ns, INTERNET_IP)).toEqual({ names: { internet: 1 }, seen: [vpc.vms[0]!.publicIp], failed: 0 });
  });

  it('ingress: 300 connections to VM:port reach its containers evenly, each seeing the client IP', async () => {
    agents.get(0)?.kill('SIGTERM');
    startAgent(0, [{ port: 8080, protocol: 'tcp', endpoints: [`${c(0, 0).ip}:80`, `${c(0, 1).ip}:80`] }]);
    await until('ingress rules on vm1', async () => (await runIn(vpc.vms[0]!.ns, ['iptables-save', '-t', 'nat'])).stdout.includes('ROUTESYNC-ING-TCP-8080 -p tcp -j DNAT'), 20_000, 100);
    const r = await tcp(vpc.server, vpc.vms[0]!.ip, 8080, 300, 10);
    expect(r.failed).toBe(0);
    expect(r.seen).toEqual([SERVER_IP]);
    for (const ct of vpc.vms[0]!.containers) {
      expect(r.names[ct.name], ct.name).toBeGreaterThanOrEqual(150 * 0.85);
      expect(r.names[ct.name], ct.name).toBeLessThanOrEqual(150 * 1.15);
    }
  });

  it('a route removed behind routesync\'s back comes back, and traffic with it', async () => {
    expect(emu.cloud.admin.deleteRoute({ table: AWS.tables[0], destination: subnets[1] })).toBe(true);
    await until('the router to lose the route', () => !emu.mirror!.routes().has(subnets[1]!), 5000);
    await until('the controller to put the route back', () => emu.mirror!.routes().get(subnets[1]!) === `via ${vpc.vms[1]!.ip}`, 20_000);
    await emu.mirror!.synced();
    expect(await ping(c(0, 0).ns, c(1, 1).ip)).toBe(true);
  });

  it('a stale route deleted by routesync stops traffic to that subnet', async () => {
    expect(await ping(c(0, 0).ns, c(2, 0).ip)).toBe(true);
    expect(emu.cloud.admin.terminateInstance(ids[2]!)).toBe(true);
    // routesync deletes the route after releaseAfter (2s); meanwhile the router blackholes it (AWS).
    await until('routesync to delete the stale route', () => (emu.cloud.admin.state() as { tables: Array<{ id: string; routes: Array<{ destination: string }> }> }).tables.find((t) => t.id === AWS.tables[0])!.routes.every((r) => r.destination !== subnets[2]), 20_000, 100);
    await emu.mirror!.synced();
    expect(emu.mirror!.routes().has(subnets[2]!)).toBe(false);
    expect(await ping(c(0, 0).ns, c(2, 0).ip)).toBe(false);
    expect((await tcp(c(0, 0).ns, c(2, 0).ip)).failed).toBe(1);
    // The other VMs are untouched.
    expect(await ping(c(0, 0).ns, c(1, 0).ip)).toBe(true);
  });
});
