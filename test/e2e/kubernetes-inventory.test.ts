// inventory.source kubernetes end to end (issue 14 items 2 and 7): the controller reads the Nodes of the
// Kubernetes API emulator, maps them to the cloud emulator's VMs by providerID and routes them, on each
// cloud. A Node with a garbage providerID, one naming a VM the cloud does not have and one carrying the
// exclude label get no route and leave every other Node's route in place; the two bad ones are findings.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startKubeEmulator, type RunningKubeEmulator } from '../../emulators/kubernetes/server.ts';
import { CLOUD_EMULATOR_TOPOLOGY, providerIdFor, seedsFromCloudState } from '../../emulators/kubernetes/nodes.ts';
import { EMULATOR_PLUGINS } from '../../emulators/clouds.ts';
import { PROVIDER_KINDS, type ProviderKind } from '../../providers/plugins.ts';
import { Controller } from '../../src/controller.ts';
import { openInventory } from '../../src/inventory/index.ts';
import type { NodeInventory } from '../../src/inventory/kubernetes.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { MemoryLeadership } from '../../src/store/memory/leadership.ts';
import { createMemoryStore } from '../../src/store/memory/store.ts';
import { startCloud, type CloudFixture } from '../../testkit/clouds.ts';

interface EmuState {
  instances: Array<{ id: string; zone: string; state: string; privateIp?: string }>;
  tables: Array<{ id: string; routes: Array<{ destination: string; target: string | null }> }>;
}

describe.each(PROVIDER_KINDS.map((k) => [k] as [ProviderKind]))('Nodes as inventory on %s', (kind) => {
  let f: CloudFixture | undefined;
  let kube: RunningKubeEmulator | undefined;
  let inv: NodeInventory | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await inv?.close();
    await kube?.close();
    await f?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('routes each Node by its providerID; bad Nodes are findings with no route', async () => {
    f = await startCloud(kind, { instances: 4 });
    const state = (await f.admin('GET', 'state')).json as EmuState;
    const seeds = seedsFromCloudState(kind, state);
    const first = state.instances[0] as EmuState['instances'][number];
    const excluded = seeds[3]!;
    excluded.labels = { 'routesync.io/exclude': 'true' };
    seeds.push(
      { name: 'garbage', providerID: 'not-a-provider-id', internalIP: '10.9.0.1' },
      {
        name: 'ghost',
        providerID: providerIdFor(
          kind,
          // Of the cloud's form, in a zone the emulator serves, but no VM it has.
          { id: EMULATOR_PLUGINS[kind].sampleVm(99_999).id.replace(/^[^/]*\//, `${first.zone}/`), zone: first.zone },
          CLOUD_EMULATOR_TOPOLOGY,
        ),
        internalIP: '10.9.0.2',
      },
    );
    kube = await startKubeEmulator({ nodes: seeds });
    dir = mkdtempSync(join(tmpdir(), 'k8s-inv-'));
    writeFileSync(join(dir, 'kc'), kube.kubeconfig({ token: 'controller' }));
    const config = {
      ...f.config,
      inventory: { source: 'kubernetes' as const },
      kubernetes: { ...f.config.kubernetes, kubeconfig: join(dir, 'kc') },
    };
    inv = (await openInventory(config, f.provider, { logger: silentLogger })) as NodeInventory;
    expect(inv.kind).toBe('kubernetes');
    const c = new Controller({
      config,
      provider: f.provider,
      inventory: inv,
      store: createMemoryStore(),
      leadership: new MemoryLeadership(),
      logger: silentLogger,
      clock: new ManualClock(),
    });
    let r = await c.runOnce({ full: true });
    for (let i = 0; i < 8 && (r.plan.changes.length > 0 || r.plan.findings.some((x) => x.kind === 'pending')); i++) {
      await new Promise((res) => setTimeout(res, 50));
      r = await c.runOnce({ full: true });
    }
    const tables = new Set((await f.provider.routeTables()).map((t) => t.id));
    expect(tables.size).toBeGreaterThan(0);
    const after = (await f.admin('GET', 'state')).json as EmuState;
    for (const t of after.tables.filter((x) => tables.has(x.id))) {
      const targets = t.routes
        .filter((x) => x.destination.startsWith(config.clusterCIDR.split('.').slice(0, 2).join('.')))
        .map((x) => x.target);
      // Three Nodes routed: not the excluded one, not the garbage one, not the ghost.
      expect(targets, t.id).toHaveLength(3);
    }
    const kinds = Object.fromEntries(inv.findings().map((x) => [x.node, x.kind]));
    expect(kinds.ghost).toBe('vm-not-found');
    expect(kinds.garbage).toBeDefined();
    expect(kinds[excluded.name]).toBeUndefined();
    expect(Object.keys(kinds).sort()).toEqual(['garbage', 'ghost']);
  });
});
