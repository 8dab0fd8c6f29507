// store.type kubernetes beside inventory.source kubernetes, as the runtime wires them (src/wiring.ts): the
// store's load() reads the Nodes from the inventory's watch cache (no Node list per pass), and that cache
// has the Nodes the exclude label takes out too — an excluded Node still holds its podCIDR, so its subnet
// is in the snapshot and never handed to another Node (I1), though it gets no route.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Node } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { seedsFromCloudState } from '../../emulators/kubernetes/nodes.ts';
import { findResource } from '../../emulators/kubernetes/resources.ts';
import { startKubeEmulator, type RunningKubeEmulator } from '../../emulators/kubernetes/server.ts';
import type { Config } from '../../src/config.ts';
import { Controller } from '../../src/controller.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { openRuntime, type Runtime } from '../../src/wiring.ts';
import { startCloud, type CloudFixture } from '../../testkit/clouds.ts';

describe('store.type kubernetes on the inventory’s Node cache', () => {
  let f: CloudFixture | undefined;
  let kube: RunningKubeEmulator | undefined;
  let rt: Runtime | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await rt?.close();
    await kube?.close();
    await f?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads without listing Nodes, and keeps an excluded Node’s subnet held', async () => {
    f = await startCloud('aws', { instances: 3 });
    const seeds = seedsFromCloudState('aws', (await f.admin('GET', 'state')).json);
    const excluded = seeds[0]!;
    excluded.labels = { 'routesync.io/exclude': 'true' };
    // The lowest subnet of the pool, which the allocator would hand out first if it were free.
    excluded.podCIDR = '172.16.0.0/24';
    kube = await startKubeEmulator({ nodes: seeds });
    dir = mkdtempSync(join(tmpdir(), 'k8s-store-cache-'));
    writeFileSync(join(dir, 'kc'), kube.kubeconfig({ token: 'controller', namespace: 'routesync' }));
    const config = {
      ...f.config,
      inventory: { source: 'kubernetes' },
      store: { type: 'kubernetes' },
      kubernetes: { ...f.config.kubernetes, kubeconfig: join(dir, 'kc') },
    } as Config;
    rt = await openRuntime(config, { logger: silentLogger });
    await rt.leadership.campaign(new AbortController().signal);
    const lists = () =>
      Object.values(kube!.counters.snapshot().byAction['list:nodes'] ?? {}).reduce((a, b) => a + b, 0);

    const before = lists();
    const snap = await rt.store.load();
    expect(lists()).toBe(before);
    expect(snap.allocations.map((a) => [a.name, a.subnet])).toEqual([[excluded.name, '172.16.0.0/24']]);

    const c = new Controller({
      config,
      provider: rt.provider,
      inventory: rt.inventory,
      store: rt.store,
      leadership: rt.leadership,
      logger: silentLogger,
      clock: new ManualClock(),
    });
    let r = await c.runOnce({ full: true });
    for (let i = 0; i < 5 && r.plan.changes.length > 0; i++) r = await c.runOnce({ full: true });
    const nodes = kube.store.list(findResource('', 'v1', 'nodes')!) as unknown as V1Node[];
    const cidrs = new Map(nodes.map((n) => [n.metadata?.name as string, n.spec?.podCIDR]));
    // The two routed Nodes got subnets of their own; the excluded one kept its, and is not routed.
    expect(cidrs.get(excluded.name)).toBe('172.16.0.0/24');
    const others = seeds.slice(1).map((s) => cidrs.get(s.name));
    expect(others.every((x) => x !== undefined && x !== '172.16.0.0/24')).toBe(true);
    expect(new Set(others).size).toBe(2);
    expect(r.plan.changes.filter((x) => x.destination === '172.16.0.0/24')).toEqual([]);
    const states = Object.fromEntries((r.vms ?? []).map((v) => [v.subnet, v.state]));
    for (const o of others) expect(states[o as string]).toBe('active');
    // Held for its Node, which the inventory leaves out: no route is made for it.
    expect(states['172.16.0.0/24']).toBe('pending');
  });
});
