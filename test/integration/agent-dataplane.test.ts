// Real packets along the routes routesync writes: the seed's network from network namespaces (a VPC router
// whose kernel routes mirror the AWS emulator's main table, 3 VMs with 2 containers each, a non-container
// server, an internet host beyond the router's 1:1 NAT), `routesync run` on the host and one
// `routesync agent` per VM namespace (testkit/dataplane-rig.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNET_IP, PEER, serve, SERVER_IP } from '../../testkit/dataplane.ts';
import { DataplaneRig } from '../../testkit/dataplane-rig.ts';
import { runIn } from '../../testkit/netns.ts';
import { until } from '../../testkit/wait.ts';

describe('dataplane: containers across VMs through the emulated VPC router', () => {
  let rig: DataplaneRig;

  beforeAll(async () => {
    rig = await DataplaneRig.start({ kind: 'aws', vms: 3, containersPerVm: 2 });
    rig.startController();
    for (let i = 0; i < 3; i++) rig.startAgent(i);
    await rig.containers();
    await Promise.all([serve(rig.kit, rig.vpc.server, 'server'), serve(rig.kit, rig.vpc.internet, 'internet')]);
    await until('three routes in the router', () => rig.emu.mirror!.routes().size === 3, 30_000);
  }, 90_000);
  afterAll(() => rig?.close());

  const c = (vm: number, j: number) => rig.vpc.vms[vm]!.containers[j]!;
  const vm = (i: number) => rig.vpc.vms[i]!;

  it("a container reaches a container on another VM (ICMP and TCP) through the router, each seeing the other's own IP", async () => {
    try {
      expect(await rig.ping(c(0, 0).ns, c(1, 0).ip)).toBe(true);
      expect(await rig.ping(c(2, 1).ns, c(0, 1).ip)).toBe(true);
      expect(await rig.tcp(c(0, 0).ns, c(1, 0).ip)).toEqual({
        names: { [c(1, 0).name]: 1 },
        seen: [c(0, 0).ip],
        failed: 0,
      });
      expect(await rig.tcp(c(1, 0).ns, c(0, 0).ip)).toEqual({
        names: { [c(0, 0).name]: 1 },
        seen: [c(1, 0).ip],
        failed: 0,
      });
      // The path really is the router: its kernel route for the subnet points at the VM.
      expect(rig.kit.ip(rig.vpc.router, `route show ${rig.subnets[1]}`)).toContain(`via ${vm(1).ip}`);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${rig.logs.slice(-20).join('\n')}`);
    }
  });

  it("the non-container server sees the container's own IP; the internet host sees the VM's address", async () => {
    expect(await rig.tcp(c(0, 0).ns, SERVER_IP)).toEqual({ names: { server: 1 }, seen: [c(0, 0).ip], failed: 0 });
    // Masqueraded to the VM (10.0.0.11) by the agent, then the router's 1:1 NAT to the VM's public address.
    expect(await rig.tcp(c(0, 0).ns, INTERNET_IP)).toEqual({
      names: { internet: 1 },
      seen: [vm(0).publicIp],
      failed: 0,
    });
  });

  it('ingress: 300 connections to VM:port reach its containers evenly, each seeing the client IP', async () => {
    rig.agents.get(0)?.kill('SIGTERM');
    rig.startAgent(0, [{ port: 8080, protocol: 'tcp', endpoints: [`${c(0, 0).ip}:80`, `${c(0, 1).ip}:80`] }]);
    await until(
      'ingress rules on vm1',
      async () =>
        (await runIn(vm(0).ns, ['iptables-save', '-t', 'nat'])).stdout.includes(
          'ROUTESYNC-ING-TCP-8080 -p tcp -j DNAT',
        ),
      20_000,
      100,
    );
    const r = await rig.tcp(rig.vpc.server, vm(0).ip, 8080, 300, 10);
    expect(r.failed).toBe(0);
    expect(r.seen).toEqual([SERVER_IP]);
    for (const ct of vm(0).containers) {
      expect(r.names[ct.name], ct.name).toBeGreaterThanOrEqual(150 * 0.85);
      expect(r.names[ct.name], ct.name).toBeLessThanOrEqual(150 * 1.15);
    }
  });

  it('changing the ingress endpoints keeps an established connection on its endpoint; new ones go to the new list', async () => {
    rig.agents.get(0)?.kill('SIGTERM');
    rig.startAgent(0, [{ port: 8081, protocol: 'tcp', endpoints: [`${c(0, 0).ip}:81`] }]);
    await until(
      'ingress on 8081',
      async () =>
        (await runIn(vm(0).ns, ['iptables-save', '-t', 'nat'])).stdout.includes(
          `ROUTESYNC-ING-TCP-8081 -p tcp -j DNAT --to-destination ${c(0, 0).ip}:81`,
        ),
      20_000,
      100,
    );
    const hold = rig.kit.spawn(rig.vpc.server, [process.execPath, PEER, 'hold', vm(0).ip, '8081'], { stdin: true });
    let got = '';
    hold.stdout?.on('data', (d: Buffer) => (got += d.toString()));
    await until(
      'the long connection to reach the first endpoint',
      () => got.includes(`${c(0, 0).name} ${SERVER_IP}`),
      10_000,
      50,
    );
    rig.agents.get(0)?.kill('SIGTERM');
    rig.startAgent(0, [{ port: 8081, protocol: 'tcp', endpoints: [`${c(0, 1).ip}:81`] }]);
    await until(
      'the new endpoint list',
      async () =>
        (await runIn(vm(0).ns, ['iptables-save', '-t', 'nat'])).stdout.includes(`--to-destination ${c(0, 1).ip}:81`),
      20_000,
      100,
    );
    hold.stdin?.write('still here\n');
    await until('the echo over the established connection', () => got.includes('still here'), 5000, 50);
    expect(hold.exitCode).toBeNull();
    const fresh = rig.kit.spawn(rig.vpc.server, [process.execPath, PEER, 'hold', vm(0).ip, '8081'], { stdin: true });
    let freshGot = '';
    fresh.stdout?.on('data', (d: Buffer) => (freshGot += d.toString()));
    await until(
      'a new connection to reach the new endpoint',
      () => freshGot.includes(`${c(0, 1).name} ${SERVER_IP}`),
      10_000,
      50,
    );
    hold.kill();
    fresh.kill();
  });

  it("a route removed behind routesync's back comes back, and traffic with it", async () => {
    expect(rig.emu.cloud.admin.deleteRoute({ table: rig.table, destination: rig.subnets[1] })).toBe(true);
    await until('the router to lose the route', () => !rig.emu.mirror!.routes().has(rig.subnets[1]!), 5000);
    await until(
      'the controller to put the route back',
      () => rig.emu.mirror!.routes().get(rig.subnets[1]!) === `via ${vm(1).ip}`,
      20_000,
    );
    await rig.emu.mirror!.synced();
    expect(await rig.ping(c(0, 0).ns, c(1, 1).ip)).toBe(true);
  });

  it('a stale route deleted by routesync stops traffic to that subnet', async () => {
    expect(await rig.ping(c(0, 0).ns, c(2, 0).ip)).toBe(true);
    expect(rig.emu.cloud.admin.terminateInstance(rig.ids[2]!)).toBe(true);
    // routesync deletes the route after releaseAfter (2s); meanwhile the router blackholes it (AWS).
    const routes = () =>
      (
        rig.emu.cloud.admin.state() as { tables: Array<{ id: string; routes: Array<{ destination: string }> }> }
      ).tables.find((t) => t.id === rig.table)!.routes;
    await until(
      'routesync to delete the stale route',
      () => routes().every((r) => r.destination !== rig.subnets[2]),
      20_000,
      100,
    );
    await rig.emu.mirror!.synced();
    expect(rig.emu.mirror!.routes().has(rig.subnets[2]!)).toBe(false);
    expect(await rig.ping(c(0, 0).ns, c(2, 0).ip)).toBe(false);
    expect((await rig.tcp(c(0, 0).ns, c(2, 0).ip)).failed).toBe(1);
    // The other VMs are untouched.
    expect(await rig.ping(c(0, 0).ns, c(1, 0).ip)).toBe(true);
  });
});
