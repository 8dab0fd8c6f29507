// NetworkUnavailable and Events end to end (issue 14 item 3), on each cloud of the plug-in table: the
// controller with inventory.source kubernetes against the Kubernetes API emulator and the cloud emulator.
// Every Node goes True/NoRouteCreated, then False/RouteCreated once its route is in every table; a route
// deleted in the cloud (while the cloud refuses writes) turns its Node True again until restored; a Node
// whose route the quota blocks is True with a RouteBlockedByQuota Event; a Node without a usable providerID
// is True with a NoProviderID Event. Events come once per transition, not once per pass.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { VOCABULARIES } from '../../emulators/clouds.ts';
import { CLOUD_EMULATOR_TOPOLOGY, providerIdFor, seedsFromCloudState } from '../../emulators/kubernetes/nodes.ts';
import { findResource } from '../../emulators/kubernetes/resources.ts';
import { startKubeEmulator, type RunningKubeEmulator } from '../../emulators/kubernetes/server.ts';
import { PROVIDER_KINDS, type ProviderKind } from '../../providers/plugins.ts';
import { Controller } from '../../src/controller.ts';
import { openInventory } from '../../src/inventory/index.ts';
import type { NodeInventory } from '../../src/inventory/kubernetes.ts';
import type { NodeReporter } from '../../src/kubernetes/node-reporter.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { silentLogger } from '../../src/log.ts';
import type { PassReport } from '../../src/pass-types.ts';
import { MemoryLeadership } from '../../src/store/memory/leadership.ts';
import { createMemoryStore } from '../../src/store/memory/store.ts';
import { startController } from '../../src/commands/run.ts';
import { openNodeReporter } from '../../src/wiring.ts';
import { startCloud, type CloudFixture } from '../../testkit/clouds.ts';
import { until } from '../../testkit/wait.ts';

interface EmuState {
  instances: Array<{ id: string; zone: string; state: string; privateIp?: string }>;
}
interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface KNode {
  metadata: { name: string };
  status?: { conditions?: Cond[] };
}
interface KEvent {
  involvedObject: { name: string };
  reason: string;
  message: string;
}

describe.each(PROVIDER_KINDS.map((k) => [k] as [ProviderKind]))('NetworkUnavailable and Events on %s', (kind) => {
  let f: CloudFixture | undefined;
  let kube: RunningKubeEmulator | undefined;
  let inv: NodeInventory | undefined;
  let reporter: NodeReporter | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await reporter?.close();
    await inv?.close();
    await kube?.close();
    await f?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('converges every Node to False/RouteCreated; a lost route is True until restored; quota-blocked is True', async () => {
    f = await startCloud(kind, { instances: 3 });
    const seeds = seedsFromCloudState(kind, (await f.admin('GET', 'state')).json as EmuState);
    seeds.push({ name: 'garbage', providerID: 'not-a-provider-id', internalIP: '10.9.0.1' });
    kube = await startKubeEmulator({ nodes: seeds });
    const emu = kube;
    // Every NetworkUnavailable status each Node went through, in order.
    const history = new Map<string, string[]>();
    emu.store.subscribe((c) => {
      if (c.resource.plural !== 'nodes') return;
      const n = c.obj as unknown as KNode;
      const s = n.status?.conditions?.find((x) => x.type === 'NetworkUnavailable')?.status;
      const h = history.get(n.metadata.name) ?? [];
      if (s !== undefined && h.at(-1) !== s) h.push(s);
      history.set(n.metadata.name, h);
    });
    const nodes = () => emu.store.list(findResource('', 'v1', 'nodes')!) as unknown as KNode[];
    const cond = (name: string) =>
      nodes()
        .find((n) => n.metadata.name === name)
        ?.status?.conditions?.find((x) => x.type === 'NetworkUnavailable');
    const events = (reason?: string, node?: string) =>
      (emu.store.list(findResource('', 'v1', 'events')!) as unknown as KEvent[]).filter(
        (e) => (reason === undefined || e.reason === reason) && (node === undefined || e.involvedObject.name === node),
      );

    dir = mkdtempSync(join(tmpdir(), 'k8s-cond-e2e-'));
    writeFileSync(join(dir, 'kc'), emu.kubeconfig({ token: 'controller' }));
    const config = {
      ...f.config,
      inventory: { source: 'kubernetes' as const },
      kubernetes: { ...f.config.kubernetes, kubeconfig: join(dir, 'kc') },
      reconcile: { ...f.config.reconcile, debounce: 50 },
    };
    inv = (await openInventory(config, f.provider, { logger: silentLogger })) as NodeInventory;
    const leadership = new MemoryLeadership();
    const registry = new Registry();
    reporter = await openNodeReporter(
      { inventory: inv, leadership },
      { logger: silentLogger, registry, instance: 't' },
    );
    expect(reporter).toBeDefined();
    const rep = reporter as NodeReporter;
    const c = new Controller({
      config,
      provider: f.provider,
      inventory: inv,
      store: createMemoryStore(),
      leadership,
      logger: silentLogger,
      clock: new ManualClock(),
      reporter: rep,
    });
    const converge = async (): Promise<PassReport> => {
      let r = await c.runOnce({ full: true });
      for (let i = 0; i < 10 && (r.plan.changes.length > 0 || r.plan.findings.some((x) => x.kind === 'pending')); i++) {
        await new Promise((res) => setTimeout(res, 50));
        r = await c.runOnce({ full: true });
      }
      await rep.idle();
      return r;
    };
    const vmNodes = seeds.filter((s) => s.name !== 'garbage').map((s) => s.name);

    let r = await converge();
    for (const n of vmNodes) {
      expect(cond(n), n).toMatchObject({ status: 'False', reason: 'RouteCreated' });
      // True/NoRouteCreated came first: before the pass that created its route.
      expect(history.get(n), n).toEqual(['True', 'False']);
      expect(events('RouteCreated', n), n).toHaveLength(1);
    }
    expect(cond('garbage')).toMatchObject({ status: 'True', reason: 'NoRouteCreated' });
    expect(events('NoProviderID', 'garbage')).toHaveLength(1);
    expect(r.vms?.every((v) => v.state === 'active')).toBe(true);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/routesync_nodes\{state="active"\} 3/);
    expect(metrics).toMatch(/routesync_node_findings\{kind="(malformed|unknown-scheme)"\} 1/);

    // More passes at rest: no patch, no new Event.
    const patchesBefore = Object.values(emu.counters.snapshot().byAction['patch:nodes/status'] ?? {}).reduce(
      (a, b) => a + b,
      0,
    );
    await converge();
    await converge();
    const patchesAfter = Object.values(emu.counters.snapshot().byAction['patch:nodes/status'] ?? {}).reduce(
      (a, b) => a + b,
      0,
    );
    expect(patchesAfter).toBe(patchesBefore);
    expect(events('RouteCreated')).toHaveLength(3);
    expect(events('NoProviderID')).toHaveLength(1);

    // A route deleted behind routesync's back, while the cloud refuses route writes: True until restored.
    const lost = r.vms?.[0];
    if (!lost) throw new Error('no VM in the report');
    const lostNode = inv.nodeOf(lost.instanceId) as string;
    const table = r.tables[0]?.id as string;
    expect((await f.admin('DELETE', 'routes', { table, destination: lost.subnet })).status).toBe(200);
    for (const action of VOCABULARIES[kind].routeWrites)
      await f.admin('POST', 'faults', { rate: 1, error: '5xx', action });
    r = await c.runOnce({ full: true });
    await rep.idle();
    expect(r.vms?.find((v) => v.instanceId === lost.instanceId)?.state).toBe('lost');
    expect(cond(lostNode)).toMatchObject({ status: 'True', reason: 'NoRouteCreated' });
    expect(events('RouteLost', lostNode)).toHaveLength(1);
    await f.admin('DELETE', 'faults');
    r = await converge();
    expect(cond(lostNode)).toMatchObject({ status: 'False', reason: 'RouteCreated' });
    expect(history.get(lostNode)).toEqual(['True', 'False', 'True', 'False']);

    // The tables full: a new VM's Node is True with a RouteBlockedByQuota Event.
    const used = Math.max(...r.tables.map((t) => t.quota?.used ?? 0));
    await f.admin('POST', 'quota', { limit: used });
    const added = (await f.admin('POST', 'instances', { count: 1 })).json as { instances: EmuState['instances'] };
    const vm = added.instances[0] as EmuState['instances'][number];
    await fetch(`${emu.url}/_emulator/nodes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'full',
        providerID: providerIdFor(kind, vm, CLOUD_EMULATOR_TOPOLOGY),
        internalIP: vm.privateIp ?? '10.9.0.3',
        zone: vm.zone,
      }),
    });
    // Marked at once, from the watch's signal, before any pass.
    await until('the new Node marked True', () => cond('full')?.status === 'True', 10_000);
    r = await converge();
    expect(r.vms?.find((v) => v.instanceId === vm.id)?.state).toBe('blocked');
    expect(cond('full')).toMatchObject({ status: 'True', reason: 'NoRouteCreated' });
    expect(events('RouteBlockedByQuota', 'full')).toHaveLength(1);
    await converge();
    expect(events('RouteBlockedByQuota', 'full')).toHaveLength(1);
    for (const n of vmNodes) expect(cond(n), n).toMatchObject({ status: 'False' });
  });
});

describe('routesync run in Kubernetes mode', () => {
  it('wires the Node reporter: the Nodes go False/RouteCreated and /metrics shows them', async () => {
    const f = await startCloud('aws', { instances: 2 });
    const seeds = seedsFromCloudState('aws', (await f.admin('GET', 'state')).json as EmuState);
    const kube = await startKubeEmulator({ nodes: seeds });
    const dir = mkdtempSync(join(tmpdir(), 'k8s-cond-run-'));
    try {
      writeFileSync(join(dir, 'kc'), kube.kubeconfig({ token: 'controller' }));
      const config = {
        ...f.config,
        inventory: { source: 'kubernetes' as const },
        kubernetes: { ...f.config.kubernetes, kubeconfig: join(dir, 'kc') },
        reconcile: { ...f.config.reconcile, debounce: 50 },
        metrics: { ...f.config.metrics, listen: '127.0.0.1:0' },
      };
      const running = await startController(config, silentLogger);
      try {
        const cond = (name: string) =>
          (kube.store.list(findResource('', 'v1', 'nodes')!) as unknown as KNode[])
            .find((n) => n.metadata.name === name)
            ?.status?.conditions?.find((x) => x.type === 'NetworkUnavailable');
        await until('every Node False', () => seeds.every((s) => cond(s.name)?.status === 'False'), 20_000);
        const text = await (await fetch(`${running.url}/metrics`)).text();
        expect(text).toMatch(/routesync_nodes\{state="active",provider="aws"\} 2/);
      } finally {
        running.stop();
        await running.done;
      }
    } finally {
      await kube.close();
      await f.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a new Node', () => {
  it('is marked True/NoRouteCreated at the watch event, not a reconcile.debounce later', async () => {
    const f = await startCloud('aws', { instances: 1 });
    const kube = await startKubeEmulator({});
    const dir = mkdtempSync(join(tmpdir(), 'k8s-cond-new-'));
    let inv: NodeInventory | undefined;
    let reporter: NodeReporter | undefined;
    try {
      writeFileSync(join(dir, 'kc'), kube.kubeconfig({ token: 'controller' }));
      const config = {
        ...f.config,
        inventory: { source: 'kubernetes' as const },
        kubernetes: { ...f.config.kubernetes, kubeconfig: join(dir, 'kc') },
        // Long enough that waiting for it would fail the wait below.
        reconcile: { ...f.config.reconcile, debounce: 30_000 },
      };
      inv = (await openInventory(config, f.provider, { logger: silentLogger })) as NodeInventory;
      reporter = await openNodeReporter(
        { inventory: inv, leadership: new MemoryLeadership() },
        { logger: silentLogger, instance: 't' },
      );
      const signals: number[] = [];
      inv.watch?.(() => signals.push(Date.now()));
      const t0 = Date.now();
      await fetch(`${kube.url}/_emulator/nodes`, {
        method: 'POST',
        body: JSON.stringify({ name: 'fresh', providerID: 'aws:///us-east-1a/i-0123456789abcdef0' }),
      });
      const cond = () =>
        (kube.store.list(findResource('', 'v1', 'nodes')!) as unknown as KNode[])
          .find((n) => n.metadata.name === 'fresh')
          ?.status?.conditions?.find((x) => x.type === 'NetworkUnavailable');
      await until('the new Node marked True', () => cond()?.status === 'True', 10_000);
      expect(cond()).toMatchObject({ reason: 'NoRouteCreated' });
      // The controller's change signal came with it; the controller, not the watch, waits the debounce.
      expect(signals.length).toBeGreaterThan(0);
      expect((signals[0] as number) - t0).toBeLessThan(10_000);
    } finally {
      await reporter?.close();
      await inv?.close();
      await kube.close();
      await f.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
