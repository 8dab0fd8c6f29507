// A cloud emulator, the Kubernetes API emulator with Nodes for its VMs, and a controller running against
// both (its loop, the Node watch, store.type kubernetes and its Lease): what the Kubernetes-mode e2e tests
// share.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLOUD_EMULATOR_TOPOLOGY, type NodeSeed, providerIdFor } from '../../emulators/kubernetes/nodes.ts';
import { type RunningKubeEmulator, startKubeEmulator } from '../../emulators/kubernetes/server.ts';
import type { FaultRule } from '../../emulators/shared/faults.ts';
import type { ProviderKind } from '../../providers/plugins.ts';
import type { Config } from '../../src/config.ts';
import { Controller } from '../../src/controller.ts';
import { openKubeClient, type KubeClient } from '../../src/kubernetes/client.ts';
import type { NodeInventory } from '../../src/inventory/kubernetes.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { openNodeReporter, openRuntime } from '../../src/wiring.ts';
import type { Leadership, Store } from '../../src/store/types.ts';
import { startCloud, type CloudFixture } from '../../testkit/clouds.ts';
import { until } from '../../testkit/wait.ts';

interface EmuInstance {
  id: string;
  zone: string;
  state: string;
  privateIp?: string;
}

export interface KubeRig {
  f: CloudFixture;
  kube: RunningKubeEmulator;
  config: Config;
  inv: NodeInventory;
  store: Store;
  leadership: Leadership;
  controller: Controller;
  vms: EmuInstance[];
  seed(name: string, vm: number, extra?: Partial<NodeSeed>): NodeSeed;
  /** Our routes in every managed table: destination → target, one map per table. */
  routes(): Promise<Array<Map<string, string | null>>>;
  /** Requests the Kubernetes API emulator served to the controller, by action (e.g. `patch:nodes`). */
  served(action: string): number;
  /** A client of the API server with another identity than the controller's (the IPAM, kubectl). */
  other(): Promise<KubeClient>;
  addNodes(nodes: NodeSeed[]): Promise<void>;
  deleteNode(name: string): Promise<void>;
  close(): Promise<void>;
}

/** A cloud emulator with `instances` VMs, the Kubernetes API emulator with the Nodes `nodes` makes, and a running controller. */
export async function kubeRig(
  kind: ProviderKind,
  instances: number,
  nodes: (seed: KubeRig['seed']) => NodeSeed[],
  opts: {
    podCIDR: 'read' | 'allocate';
    logger?: typeof silentLogger;
    wrapInventory?: (i: NodeInventory) => NodeInventory;
    /** Fault rules of the Kubernetes API emulator in place before the controller starts. */
    faults?: FaultRule[];
  },
): Promise<KubeRig> {
  const f = await startCloud(kind, { instances });
  const vms = ((await f.admin('GET', 'state')).json as { instances: EmuInstance[] }).instances;
  const seed: KubeRig['seed'] = (name, vm, extra = {}) => {
    const i = vms[vm] as EmuInstance;
    return {
      name,
      providerID: providerIdFor(kind, i, CLOUD_EMULATOR_TOPOLOGY),
      zone: i.zone,
      ...(i.privateIp ? { internalIP: i.privateIp } : {}),
      ...extra,
    };
  };
  const kube = await startKubeEmulator({ nodes: nodes(seed) });
  if (opts.faults) kube.faults.add(opts.faults);
  const dir = mkdtempSync(join(tmpdir(), 'k8s-read-'));
  writeFileSync(join(dir, 'kc'), kube.kubeconfig({ token: 'controller', namespace: 'routesync' }));
  writeFileSync(join(dir, 'kc-other'), kube.kubeconfig({ token: 'someone-else', namespace: 'routesync' }));
  const logger = opts.logger ?? silentLogger;
  const config: Config = {
    ...f.config,
    inventory: { source: 'kubernetes' },
    store: { ...f.config.store, type: 'kubernetes' },
    reconcile: { ...f.config.reconcile, interval: 1000, debounce: 50 },
    kubernetes: { ...f.config.kubernetes, kubeconfig: join(dir, 'kc'), namespace: 'routesync', podCIDR: opts.podCIDR },
  };
  // Wired as `routesync run` wires it: the runtime (store reading the Node watch's cache) and the Node
  // reporter (NetworkUnavailable and Events after each pass).
  const rt = await openRuntime(config, { logger });
  const { store, leadership } = rt;
  const opened = rt.inventory as NodeInventory;
  const inv = opts.wrapInventory ? opts.wrapInventory(opened) : opened;
  const reporter = await openNodeReporter({ inventory: opened, leadership, store }, { logger, instance: 'rig' });
  const controller = new Controller({
    config,
    provider: rt.provider,
    inventory: inv,
    store,
    leadership,
    logger,
    clock: systemClock,
    ...(reporter ? { reporter } : {}),
  });
  const stop = new AbortController();
  const running = controller.run(stop.signal);
  const admin = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${kube.url}/_emulator/${path}`, {
      method,
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  };
  const inCluster = (d: string) => d.startsWith(`${config.clusterCIDR.split('.').slice(0, 2).join('.')}.`);
  return {
    f,
    kube,
    config,
    inv,
    store,
    leadership,
    controller,
    vms,
    seed,
    async routes() {
      const tables = await f.provider.routeTables();
      return Promise.all(
        tables.map(
          async (t) =>
            new Map(
              (await f.provider.listRoutes(t))
                .filter((r) => inCluster(r.destination))
                .map((r) => [r.destination, r.target] as [string, string | null]),
            ),
        ),
      );
    },
    served(action) {
      const counts = kube.counters.snapshot().byClient.controller?.[action] ?? {};
      return Object.values(counts).reduce((a, b) => a + b, 0);
    },
    other: () => openKubeClient({ kubeconfig: join(dir, 'kc-other'), env: {} }),
    addNodes: (list) => admin('POST', 'nodes', { nodes: list }),
    deleteNode: (name) => admin('DELETE', `nodes/${encodeURIComponent(name)}?force=1`),
    async close() {
      stop.abort();
      await running.catch(() => undefined);
      await rt.close();
      await kube.close();
      await f.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until every managed table holds exactly these routes of ours (destination → VM index). */
export async function routesAre(rig: KubeRig, want: Record<string, number>, what: string): Promise<void> {
  const expected = JSON.stringify(
    Object.entries(want)
      .map(([d, vm]) => [d, rig.vms[vm]?.id])
      .sort(),
  );
  let last = '';
  await until(
    what,
    async () => {
      const tables = await rig.routes();
      last = JSON.stringify(tables.map((m) => [...m].sort()));
      return tables.length > 0 && tables.every((m) => JSON.stringify([...m].sort()) === expected);
    },
    20_000,
    100,
  ).catch((e: Error) => {
    throw new Error(`${e.message}: want ${expected}, have ${last}`);
  });
}
