// The whole dataplane rig, shared by the packet test and the bench: the seed's network from namespaces,
// an emulator whose route table is mirrored into the router namespace, `routesync run` on the host, one
// `routesync agent` per VM namespace (metadata reached through a forwarder), and containers made from the
// subnet.env each agent writes — as the CNI would.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startEmulator, type RunningEmulator } from '../emulators/shared/server.ts';
import type { Profile } from '../emulators/shared/types.ts';
import { EMULATORS } from '../emulators/clouds.ts';
import type { ProviderKind } from '../providers/plugins.ts';
import { BIN, controllerEnv, REPO, spawnRun } from './cli.ts';
import { emulatorConfigDoc, TEST_TAG, TOPOLOGY } from './clouds.ts';
import { addContainers, buildVpc, PEER, serve, type Vpc } from './dataplane.ts';
import { NetnsKit, runIn } from './netns.ts';
import { forwardIntoNetns } from './ns-forward.ts';
import { until } from './wait.ts';

export interface RigOptions {
  kind: ProviderKind;
  vms: number;
  containersPerVm: number;
  profile?: Profile;
  timeScale?: number;
}

export interface PeerTally {
  names: Record<string, number>;
  seen: string[];
  failed: number;
}

export class DataplaneRig {
  readonly kit = new NetnsKit();
  readonly dir = mkdtempSync(join(tmpdir(), 'rs-dataplane-'));
  readonly vpc: Vpc;
  readonly ids: string[] = [];
  readonly subnets: string[] = [];
  readonly logs: string[] = [];
  readonly agents = new Map<number, ChildProcess>();
  emu!: RunningEmulator;
  controller: ChildProcess | undefined;
  readonly table: string;
  private readonly opts: RigOptions;

  private constructor(opts: RigOptions) {
    this.opts = opts;
    this.vpc = buildVpc(this.kit, opts.vms);
    this.table = TOPOLOGY[opts.kind].tables[0] as string;
  }

  /** Network, emulator with mirror, VMs in the emulator, metadata forwarders; no controller or agent yet. */
  static async start(opts: RigOptions): Promise<DataplaneRig> {
    const rig = new DataplaneRig(opts);
    try {
      rig.emu = await startEmulator(EMULATORS[opts.kind], {
        profile: opts.profile ?? 'fast',
        timeScale: opts.timeScale ?? 1,
        mirror: { netns: rig.vpc.router, table: rig.table, intervalMs: 50 },
      });
      const made = rig.emu.cloud.admin.addInstances({
        instances: rig.vpc.vms.map((vm, i) => ({
          name: `vm${i + 1}`,
          privateIp: vm.ip,
          tags: { [TEST_TAG.key]: TEST_TAG.value },
        })),
      }) as Array<{ id: string }>;
      rig.ids.push(...made.map((m) => m.id));
      rig.vpc.vms.forEach((_, i) => mkdirSync(join(rig.dir, `vm${i + 1}`)));
      await Promise.all(rig.vpc.vms.map((vm) => forwardIntoNetns(rig.kit, vm.ns, rig.emu.port)));
      return rig;
    } catch (e) {
      await rig.close();
      throw e;
    }
  }

  private doc(): Record<string, unknown> {
    return emulatorConfigDoc(this.opts.kind, this.emu.url, {
      clusterCIDR: '10.244.0.0/16',
      provider: { routeTableIds: [this.table] },
      store: { type: 'file', path: join(this.dir, 'state.json') },
      reconcile: { interval: '1s', debounce: '100ms', releaseAfter: '2s', reuseAfter: '10m', maxDeleteFraction: 0.5 },
      metrics: { listen: '127.0.0.1:0' },
    });
  }

  startController(): ChildProcess {
    const path = join(this.dir, 'controller.yaml');
    writeFileSync(path, stringify(this.doc()));
    const child = spawnRun(path, 'dp-controller', {
      cwd: REPO,
      stderr: (d) => this.logs.push(`controller: ${d.trim()}`),
    });
    this.controller = child;
    return child;
  }

  startAgent(i: number, ingress: unknown[] = []): ChildProcess {
    const path = join(this.dir, `agent-${i}.yaml`);
    writeFileSync(
      path,
      stringify({
        ...this.doc(),
        agent: {
          identity: { metadataEndpoint: `${this.emu.url}/_metadata/${this.ids[i]}` },
          subnetEnv: join(this.dir, `vm${i + 1}`, 'subnet.env'),
          vpcCIDRs: ['10.0.0.0/24'],
          resyncInterval: '1s',
          metrics: { listen: '127.0.0.1:9465' },
          ingress,
        },
      }),
    );
    const child = this.kit.spawn(this.vpc.vms[i]!.ns, [process.execPath, BIN, 'agent', '-c', path], {
      env: controllerEnv(`agent-${i}`),
    });
    child.stderr?.on('data', (d: Buffer) => this.logs.push(`vm${i + 1}: ${d.toString().trim()}`));
    this.agents.set(i, child);
    return child;
  }

  /** Waits for each VM's subnet.env, then makes its bridge and containers from it and starts the peers. */
  async containers(timeoutMs = 60_000): Promise<void> {
    await Promise.all(
      this.vpc.vms.map(async (vm, i) => {
        const env = await until(
          `vm${i + 1} subnet.env`,
          () => {
            try {
              return readFileSync(join(this.dir, `vm${i + 1}`, 'subnet.env'), 'utf8');
            } catch {
              return undefined;
            }
          },
          timeoutMs,
          50,
        );
        const [, gw, len] = /FLANNEL_SUBNET=(\S+)\/(\d+)/.exec(env) ?? [];
        this.subnets[i] = `${gw!.replace(/\.1$/, '.0')}/${len}`;
        addContainers(this.kit, vm, this.subnets[i]!, this.opts.containersPerVm);
      }),
    );
    await Promise.all(this.vpc.vms.flatMap((vm) => vm.containers.map((c) => serve(this.kit, c.ns, c.name))));
  }

  async ping(from: string, to: string, waitS = 1): Promise<boolean> {
    return (await runIn(from, ['ping', '-c', '1', '-W', String(waitS), to], 5000)).code === 0;
  }

  async tcp(from: string, to: string, port = 80, count = 1, parallel = 1): Promise<PeerTally> {
    const r = await runIn(
      from,
      [process.execPath, PEER, 'connect', to, String(port), String(count), String(parallel)],
      60_000,
    );
    if (r.code !== 0) throw new Error(`peer connect in ${from}: ${r.stderr}`);
    return JSON.parse(r.stdout) as PeerTally;
  }

  async close(): Promise<void> {
    this.controller?.kill('SIGKILL');
    // The emulator first: its mirror removes its routes while the router namespace still exists.
    await this.emu?.close().catch(() => undefined);
    await this.kit.teardown();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
