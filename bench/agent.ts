// `node bench/agent.ts [--clouds aliyun,aws,gce]` (root: network namespaces). Two figures of the node side:
// 1. From `routesync run` start to the first container-to-container packet across VMs (ping every 100 ms),
//    per cloud emulator on its realistic profile in real time, against the convergence bound for 3 VMs in
//    one table (bench/common.ts `bound`); agents already running, containers made from their subnet.env.
// 2. One agent in a namespace with 64 non-masquerade CIDRs and 50 ingress endpoints: first sync (install),
//    steady syncs (compare only), sync after an outside flush, and the iptables-restore time; then the RSS of
//    a real `routesync agent` process with that config. Figures only: nothing here asserts.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createAwsEmulator } from '../emulators/aws/emulator.ts';
import { startEmulator } from '../emulators/shared/server.ts';
import { PROVIDER_KINDS, type ProviderKind } from '../providers/plugins.ts';
import { Agent } from '../src/agent/agent.ts';
import { Iptables } from '../src/agent/iptables.ts';
import { AgentMetrics } from '../src/agent/metrics.ts';
import { formatCidr, nthSubnet, parseCidr } from '../src/lib/cidr.ts';
import { systemClock } from '../src/lib/clock.ts';
import { validateConfig } from '../src/config.ts';
import { silentLogger } from '../src/log.ts';
import { FileStore } from '../src/store/file/store.ts';
import { BIN, controllerEnv } from '../testkit/cli.ts';
import { DataplaneRig } from '../testkit/dataplane-rig.ts';
import { NetnsKit } from '../testkit/netns.ts';
import { forwardIntoNetns } from '../testkit/ns-forward.ts';
import { bound, table } from './common.ts';
import { benchFlags, clouds } from './flags.ts';

const out = (s: string) => process.stdout.write(`${s}\n`);

async function firstPacket(kind: ProviderKind): Promise<Record<string, string | number>> {
  const rig = await DataplaneRig.start({ kind, vms: 3, containersPerVm: 1, profile: 'realistic', timeScale: 1 });
  try {
    for (let i = 0; i < 3; i++) rig.startAgent(i);
    const t0 = performance.now();
    rig.startController();
    await rig.containers(120_000);
    const subnetsAt = (performance.now() - t0) / 1000;
    const from = rig.vpc.vms[0]!.containers[0]!;
    const to = rig.vpc.vms[1]!.containers[0]!;
    const deadline = t0 + 180_000;
    while (!(await rig.ping(from.ns, to.ip, 0.1))) {
      if (performance.now() > deadline) throw new Error('no packet within 180 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const s = (performance.now() - t0) / 1000;
    const b = bound(kind, 3, 1);
    return {
      cloud: kind,
      'subnet.env on all VMs (s)': subnetsAt.toFixed(1),
      'first packet (s)': s.toFixed(1),
      'bound (s)': b.seconds.toFixed(1),
      'limited by': b.limitedBy,
      'first packet − bound (s)': (s - b.seconds).toFixed(1),
    };
  } finally {
    await rig.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function agentCost(): Promise<Record<string, string | number>[]> {
  const kit = new NetnsKit();
  const dir = mkdtempSync(join(tmpdir(), 'rs-agent-bench-'));
  const emu = await startEmulator(createAwsEmulator, { instances: 1 });
  try {
    const ns = kit.add('bench');
    const id = (emu.cloud.admin.state() as { instances: Array<{ id: string }> }).instances[0]!.id;
    const store = new FileStore(join(dir, 'state.json'));
    await store.allocate([
      { instanceId: id, subnet: '10.244.3.0/24', name: 'vm', privateIp: '10.0.0.4', allocatedAt: 1 },
    ]);
    await store.close();
    const nonMasq = Array.from({ length: 64 }, (_, i) => formatCidr(nthSubnet(parseCidr('100.64.0.0/10'), 18, i)));
    const endpoints = Array.from({ length: 50 }, (_, i) => `10.244.3.${i + 2}:80`);
    const doc = {
      cluster: 'bench',
      clusterCIDR: '10.244.0.0/16',
      provider: { type: 'aws', region: 'us-east-1', vpcId: 'vpc-1', endpoint: emu.url },
      store: { type: 'file', path: join(dir, 'state.json') },
      log: { level: 'warn' },
      agent: {
        identity: { metadataEndpoint: `${emu.url}/_metadata/${id}` },
        subnetEnv: join(dir, 'subnet.env'),
        mtu: 1500,
        nonMasqueradeCIDRs: nonMasq,
        ingress: [{ port: 8080, endpoints }],
        resyncInterval: '1s',
        metrics: { listen: '127.0.0.1:9465' },
      },
    };
    const config = validateConfig(doc);
    const agent = new Agent({
      config,
      store: new FileStore(join(dir, 'state.json')),
      iptables: new Iptables({ prefix: ['ip', 'netns', 'exec', ns] }),
      logger: silentLogger,
      clock: systemClock,
      metrics: new AgentMetrics({ defaultMetrics: false }),
      ipForwardPath: join(dir, 'ip_forward'),
    });
    const first = await agent.sync();
    const steady: number[] = [];
    for (let i = 0; i < 20; i++) steady.push((await agent.sync()).durationMs);
    const flushed: number[] = [];
    const restores: number[] = [first.restoreMs ?? NaN];
    for (let i = 0; i < 10; i++) {
      kit.exec(ns, ['iptables', '-t', 'nat', '-F', 'ROUTESYNC-POSTRTG']);
      const r = await agent.sync();
      flushed.push(r.durationMs);
      restores.push(r.restoreMs ?? NaN);
    }
    const rules = kit
      .exec(ns, ['iptables-save'])
      .split('\n')
      .filter((l) => l.includes('ROUTESYNC')).length;
    await agent.cleanup();

    // RSS of the real process, after 10 s of 1 s resyncs.
    writeFileSync(join(dir, 'agent.yaml'), stringify(doc));
    const fwd = await forwardIntoNetns(kit, ns, emu.port);
    const child = kit.spawn(ns, [process.execPath, BIN, 'agent', '-c', join(dir, 'agent.yaml')], {
      env: controllerEnv('bench-agent'),
    });
    await new Promise((r) => setTimeout(r, 10_000));
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
    child.kill('SIGTERM');
    await fwd.close();
    const ms = (x: number) => x.toFixed(1);
    return [
      {
        what: 'first sync (install)',
        'sync ms': ms(first.durationMs),
        'iptables-restore ms': ms(first.restoreMs ?? NaN),
      },
      {
        what: 'steady sync (compare, no restore), median of 20',
        'sync ms': ms(median(steady)),
        'iptables-restore ms': '—',
      },
      {
        what: 'sync after an outside flush, median of 10',
        'sync ms': ms(median(flushed)),
        'iptables-restore ms': ms(median(restores.slice(1))),
      },
      {
        what: `rules installed: ${rules} lines; agent process RSS after 10 s`,
        'sync ms': '',
        'iptables-restore ms': `${(rssKb / 1024).toFixed(0)} MB RSS`,
      },
    ];
  } finally {
    await emu.close();
    await kit.teardown();
    rmSync(dir, { recursive: true, force: true });
  }
}

const f = benchFlags(
  'agent',
  'node bench/agent.ts [flags] (root: network namespaces): first packet across VMs per cloud, then agent sync cost',
  { clouds: { help: 'clouds, comma-separated', default: [...PROVIDER_KINDS], read: clouds } },
);
out(
  '## Agent: routesync run start → first container-to-container packet across VMs (3 VMs, realistic profile, real time)',
);
for (const kind of f.clouds)
  out(
    table([await firstPacket(kind).catch((e: unknown) => ({ cloud: kind, result: `ERROR ${(e as Error).message}` }))]),
  );
out('\n## Agent: sync cost with 64 non-masquerade CIDRs and 50 ingress endpoints (iptables via ip netns exec)');
out(table(await agentCost()));
process.exit(0);
