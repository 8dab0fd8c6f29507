// store.type kubernetes against the Kubernetes API emulator: the store contract (with the cluster's side
// played by the harness: a Node appears for each VM allocated to, and is gone before its VM is released),
// then what only this kind does: podCIDR written to the Node, existing podCIDRs adopted, a subnet released
// only once its Node object is gone, a Node that went while no controller ran, fencing, and I1 with two
// controllers racing against one API server.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Node } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type KubeEmulatorOptions,
  startKubeEmulator,
  type RunningKubeEmulator,
} from '../../emulators/kubernetes/server.ts';
import { planAllocations, PoolExhaustedError, type PoolOptions } from '../../src/allocator.ts';
import { openKubeClient, type KubeClient } from '../../src/kubernetes/client.ts';
import { parseProviderId } from '../../src/kubernetes/provider-id.ts';
import { silentLogger } from '../../src/log.ts';
import { kubernetesStore, recordName } from '../../src/store/kubernetes/index.ts';
import { KubernetesStore } from '../../src/store/kubernetes/store.ts';
import { openStore } from '../../src/store/index.ts';
import type { StoreConfig } from '../../src/store/kind.ts';
import type { AllocationRequest, Store, StoreSnapshot } from '../../src/store/types.ts';
import { storeContract } from '../helpers/store-contract.ts';

const PROJECT = 'routesync-test';
const ZONE = 'europe-west1-b';
const providerID = (vm: string) => `gce://${PROJECT}/${ZONE}/${vm}`;
// The VMs here are all in ZONE, so the store's ids are their names (a GCE id is `<zone>/<name>`).
const vmOf = (n: V1Node) => {
  const r = parseProviderId(n.spec?.providerID, 'gce', { project: PROJECT });
  return r.ok ? r.ref.instanceId.slice(`${ZONE}/`.length) : undefined;
};

const dir = mkdtempSync(join(tmpdir(), 'k8s-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let kcN = 0;

async function emulator(opts: KubeEmulatorOptions = {}) {
  const emu = await startKubeEmulator(opts);
  const path = join(dir, `kc${++kcN}`);
  writeFileSync(path, emu.kubeconfig({ namespace: 'routesync' }));
  const kube = await openKubeClient({ kubeconfig: path, env: {} });
  return { emu, kube, path };
}

function storeOn(kube: KubeClient, extra: Partial<ConstructorParameters<typeof KubernetesStore>[0]> = {}) {
  return new KubernetesStore({
    kube,
    namespace: 'routesync',
    configMap: 'routesync-c-subnets',
    vmOf,
    pool: { clusterCIDR: '10.0.0.0/8', subnetLen: 24 },
    logger: silentLogger,
    ...extra,
  });
}

async function admin(emu: RunningKubeEmulator, method: string, path: string, body?: unknown): Promise<void> {
  const r = await fetch(`${emu.url}/_emulator/${path}`, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
}

/**
 * The cluster's side for the contract: before an allocation the VM's Node exists (a kubelet registered
 * it), before a release it is gone (the contract's release means "this VM is gone").
 */
function clusterPlayed(emu: RunningKubeEmulator, kube: KubeClient, store: Store): Store {
  const nodeOfVm = async () => {
    const list = await kube.core.listNode({});
    return new Map(list.items.map((n) => [vmOf(n) ?? '', n.metadata?.name as string]));
  };
  return {
    kind: store.kind,
    load: () => store.load(),
    ping: (t) => store.ping(t),
    setMissing: (u) => store.setMissing(u),
    rekey: (m) => store.rekey(m),
    purgeReleased: (b) => store.purgeReleased(b),
    close: () => store.close(),
    async allocate(requests: AllocationRequest[]) {
      const have = await nodeOfVm();
      const names = new Set(have.values());
      const nodes = requests
        .filter((r) => {
          if (!/^[a-z][-a-z0-9]*$/.test(r.instanceId) || have.has(r.instanceId) || names.has(r.name)) return false;
          have.set(r.instanceId, r.name);
          names.add(r.name);
          return true;
        })
        .map((r) => ({ name: r.name, providerID: providerID(r.instanceId), internalIP: r.privateIp, zone: ZONE }));
      if (nodes.length > 0) await admin(emu, 'POST', 'nodes', { nodes });
      return store.allocate(requests);
    },
    async release(ids, at) {
      const have = await nodeOfVm();
      for (const id of ids) {
        const name = have.get(id);
        if (name) await admin(emu, 'DELETE', `nodes/${name}?force=1`);
      }
      return store.release(ids, at);
    },
  };
}

storeContract('kubernetes', async () => {
  const { emu, kube } = await emulator();
  const store = clusterPlayed(emu, kube, storeOn(kube));
  return {
    store,
    reopen: async () => storeOn(kube),
    cleanup: async () => {
      await store.close();
      await emu.close();
    },
  };
});

const T0 = Date.UTC(2026, 11, 1);

describe('store.type kubernetes', () => {
  let emu: RunningKubeEmulator;
  let kube: KubeClient;
  let path: string;
  beforeAll(async () => {
    ({ emu, kube, path } = await emulator({
      nodes: [
        { name: 'old-1', providerID: providerID('old-1'), internalIP: '10.240.0.1', podCIDR: '10.1.7.0/24' },
        { name: 'new-1', providerID: providerID('new-1'), internalIP: '10.240.0.2' },
        { name: 'new-2', providerID: providerID('new-2'), internalIP: '10.240.0.3' },
        { name: 'odd', providerID: 'kind://docker/kind/odd', internalIP: '10.240.0.9', podCIDR: '10.1.9.0/24' },
        {
          name: 'leaving',
          providerID: providerID('leaving'),
          internalIP: '10.240.0.4',
          finalizers: ['example.com/hold'],
        },
      ],
    }));
  });
  afterAll(async () => {
    await emu?.close();
  });
  const node = (name: string) => kube.core.readNode({ name });
  const request = (vm: string, subnet: string): AllocationRequest => ({
    instanceId: vm,
    subnet,
    name: vm,
    privateIp: '',
    allocatedAt: T0,
  });
  const subnetOf = (s: StoreSnapshot, id: string) => s.allocations.find((a) => a.instanceId === id)?.subnet;

  it('adopts the podCIDRs Nodes already carry, also of a Node whose providerID names no VM of ours', async () => {
    const s = storeOn(kube);
    const snap = await s.load();
    expect(subnetOf(snap, 'old-1')).toBe('10.1.7.0/24');
    expect(subnetOf(snap, 'node:odd')).toBe('10.1.9.0/24');
    const r = await s.allocate([request('new-1', '10.1.7.0/24'), request('new-2', '10.1.9.0/24')]);
    expect(r.committed).toEqual([]);
    expect(r.conflicts.map((c) => c.reason)).toEqual(['subnet-taken', 'subnet-taken']);
    // The write listed the adopted ones in the record, which is the commit point for the next writer.
    const cm = await kube.core.readNamespacedConfigMap({ namespace: 'routesync', name: 'routesync-c-subnets' });
    expect(Object.keys(JSON.parse(cm.data?.allocations ?? '{}')).sort()).toEqual(['10.1.7.0/24', '10.1.9.0/24']);
  });

  it('writes the subnet to spec.podCIDR and spec.podCIDRs of the VM’s Node', async () => {
    const s = storeOn(kube);
    const r = await s.allocate([request('new-1', '10.1.1.0/24')]);
    expect(r.committed.map((c) => [c.instanceId, c.subnet, c.name])).toEqual([['new-1', '10.1.1.0/24', 'new-1']]);
    const n = await node('new-1');
    expect(n.spec?.podCIDR).toBe('10.1.1.0/24');
    expect(n.spec?.podCIDRs).toEqual(['10.1.1.0/24']);
    // A VM without a Node gets nothing, and says why.
    const none = await s.allocate([request('no-such-vm', '10.1.2.0/24')]);
    expect(none.conflicts.map((c) => c.reason)).toEqual(['no-node']);
  });

  it('a Node that got another podCIDR meanwhile keeps it: the request is refused and ours freed', async () => {
    await kube.core.patchNode(
      { name: 'new-2', body: { spec: { podCIDR: '10.1.3.0/24', podCIDRs: ['10.1.3.0/24'] } } },
      kube.options({ contentType: 'application/merge-patch+json' }),
    );
    const s = storeOn(kube);
    expect(subnetOf(await s.load(), 'new-2')).toBe('10.1.3.0/24');
    const r = await s.allocate([request('new-2', '10.1.4.0/24')]);
    expect(r.conflicts.map((c) => c.reason)).toEqual(['instance-has-subnet']);
    expect((await node('new-2')).spec?.podCIDR).toBe('10.1.3.0/24');
  });

  it('releases a subnet only once its Node object is gone, not at deletionTimestamp', async () => {
    const s = storeOn(kube);
    await s.allocate([request('leaving', '10.1.5.0/24')]);
    await kube.core.deleteNode({ name: 'leaving' });
    expect((await node('leaving')).metadata?.deletionTimestamp).toBeTruthy();
    expect(await s.release(['leaving'], T0 + 1)).toEqual([]);
    expect(subnetOf(await s.load(), 'leaving')).toBe('10.1.5.0/24');
    await admin(emu, 'DELETE', 'nodes/leaving?force=1');
    // Gone: still an allocation (its route is deleted first), until the controller releases it.
    const snap = await s.load();
    expect(subnetOf(snap, 'leaving')).toBe('10.1.5.0/24');
    await s.setMissing([{ instanceId: 'leaving', missingSince: T0 + 2 }]);
    expect((await s.load()).allocations.find((a) => a.instanceId === 'leaving')?.missingSince).toBe(T0 + 2);
    expect(await s.release(['leaving'], T0 + 3)).toEqual([
      { subnet: '10.1.5.0/24', releasedAt: T0 + 3, instanceId: 'leaving' },
    ]);
    // The cool-down record lives in the ConfigMap: the allocator keeps the subnet for reuseAfter.
    const after = await storeOn(kube).load();
    expect(after.released).toEqual([{ subnet: '10.1.5.0/24', releasedAt: T0 + 3, instanceId: 'leaving' }]);
    const o: PoolOptions = {
      clusterCIDR: '10.1.5.0/24',
      subnetLen: 24,
      reserved: [],
      reuseAfterMs: 60_000,
      now: T0 + 4,
    };
    expect(() =>
      planAllocations(o, after, [{ id: 'x', name: 'x', privateIp: '', zone: '', state: 'running' }]),
    ).toThrow(/cool-down/);
  });

  it('remembers the subnet of a Node that went while no controller ran', async () => {
    await admin(emu, 'POST', 'nodes', { name: 'brief', providerID: providerID('brief'), internalIP: '10.240.0.7' });
    await storeOn(kube).allocate([request('brief', '10.1.6.0/24')]);
    await admin(emu, 'DELETE', 'nodes/brief?force=1');
    const s = storeOn(kube);
    expect(subnetOf(await s.load(), 'brief')).toBe('10.1.6.0/24');
    await admin(emu, 'POST', 'nodes', { name: 'other', providerID: providerID('other'), internalIP: '10.240.0.8' });
    expect((await s.allocate([request('other', '10.1.6.0/24')])).conflicts.map((c) => c.reason)).toEqual([
      'subnet-taken',
    ]);
  });

  it('fails clearly, never empty, on an unreadable record or Node list', async () => {
    await fetch(`${emu.url}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ rate: 1, error: '5xx', action: 'list:nodes', count: 1 }),
      headers: { 'content-type': 'application/json' },
    });
    await expect(storeOn(kube).load()).rejects.toThrow(/listing Nodes \(page 1\): HTTP 5\d\d/);
    await kube.core.createNamespacedConfigMap({
      namespace: 'routesync',
      body: { metadata: { name: 'broken' }, data: { allocations: '{nope' } },
    });
    await expect(storeOn(kube, { configMap: 'broken' }).load()).rejects.toThrow(
      /ConfigMap routesync\/broken: data\.allocations is not valid JSON/,
    );
    await kube.core.createNamespacedConfigMap({
      namespace: 'routesync',
      body: {
        metadata: { name: 'foreign' },
        data: { released: JSON.stringify({ '192.168.0.0/24': { instanceId: 'x', releasedAt: 1 } }) },
      },
    });
    await expect(storeOn(kube, { configMap: 'foreign' }).load()).rejects.toThrow(
      /data\.released\["192\.168\.0\.0\/24"\] is not one of our records: .*outside clusterCIDR/,
    );
  });

  it('writes nothing, to the record or a Node, once its guard refuses', async () => {
    await admin(emu, 'POST', 'nodes', { name: 'fenced', providerID: providerID('fenced'), internalIP: '10.240.0.9' });
    await admin(emu, 'DELETE', 'requests');
    const s = storeOn(kube, {
      guard: () => {
        throw new Error('leadership lost: test');
      },
    });
    await expect(s.allocate([request('fenced', '10.1.8.0/24')])).rejects.toThrow(/leadership lost/);
    const by = emu.counters.snapshot().byAction;
    expect(Object.keys(by).filter((a) => !a.startsWith('get:') && !a.startsWith('list:'))).toEqual([]);
    expect((await node('fenced')).spec?.podCIDR ?? '').toBe('');
  });

  it('the kind: Lease leadership, and the wire fence refuses any write to the API server while not leading', async () => {
    const config = {
      cluster: 'kind',
      clusterCIDR: '10.0.0.0/8',
      subnetLen: 24,
      store: { type: 'kubernetes' },
      provider: { type: 'gce', project: PROJECT },
      kubernetes: { kubeconfig: path, namespace: 'routesync', lease: { name: 'routesync-kind' } },
    } as unknown as StoreConfig;
    expect(kubernetesStore.location(config).keys).toBe(
      "ConfigMap routesync/routesync-kind-subnets, Lease routesync/routesync-kind, Nodes' spec.podCIDR",
    );
    // (The admin API shares the origin: while the kind is open, its writes are fenced too.)
    await admin(emu, 'POST', 'nodes', { name: 'wired', providerID: providerID('wired'), internalIP: '10.240.0.10' });
    // Through the kinds table, as `routesync run` opens it.
    const { store, leadership } = await openStore(config, { logger: silentLogger });
    expect(store.kind).toBe('kubernetes');
    try {
      // Not leading: a write by any client of this process to this API server does not leave it.
      await expect(
        kube.core.patchNode(
          { name: 'wired', body: { metadata: { labels: { a: 'b' } } } },
          kube.options({ contentType: 'application/merge-patch+json' }),
        ),
      ).rejects.toThrow();
      expect((await node('wired')).metadata?.labels?.a).toBeUndefined();
      // The kinds table reads the providerID as the GCE provider names VMs: `<zone>/<name>`.
      const wired = { ...request(`${ZONE}/wired`, '10.2.0.0/24'), name: 'wired' };
      await expect(store.allocate([wired])).rejects.toThrow(/not the leader/);
      await leadership.campaign(new AbortController().signal);
      const lease = await kube.coordination.readNamespacedLease({ namespace: 'routesync', name: 'routesync-kind' });
      expect(lease.spec?.holderIdentity).toBeTruthy();
      const r = await store.allocate([wired]);
      expect(r.committed.map((c) => c.subnet)).toEqual(['10.2.0.0/24']);
      expect((await node('wired')).spec?.podCIDR).toBe('10.2.0.0/24');
      const cm = await kube.core.readNamespacedConfigMap({ namespace: 'routesync', name: recordName('kind') });
      expect(JSON.parse(cm.data?.allocations ?? '{}')['10.2.0.0/24']).toMatchObject({ instanceId: `${ZONE}/wired` });
    } finally {
      await leadership.close();
      await store.close();
    }
  });
});

describe('two controllers racing against one API server (I1)', () => {
  it('never give one subnet to two Nodes nor two subnets to one Node', async () => {
    const vms = Array.from({ length: 300 }, (_, i) => `vm-${i}`);
    const { emu, kube } = await emulator({
      nodes: vms.map((v, i) => ({ name: v, providerID: providerID(v), internalIP: `10.240.${i >> 8}.${i & 255}` })),
    });
    const a = storeOn(kube);
    const b = storeOn(kube);
    const o: PoolOptions = {
      clusterCIDR: '10.64.0.0/14',
      subnetLen: 24,
      reserved: ['10.64.0.0/24'],
      reuseAfterMs: 0,
      now: T0,
    };
    const inst = (v: string) => ({ id: v, name: v, privateIp: '', zone: ZONE, state: 'running' as const });
    const plan = (snap: StoreSnapshot, set: string[]) => {
      try {
        return planAllocations(o, snap, set.map(inst));
      } catch (e) {
        if (!(e instanceof PoolExhaustedError)) throw e;
        return e.partial;
      }
    };
    let conflicts = 0;
    try {
      for (let r = 0; r < 4; r++) {
        const setA = vms.slice(r * 50, r * 50 + 80);
        const setB = vms.slice(r * 50 + 40, r * 50 + 120);
        // Both plan from snapshots taken before either writes, so their plans collide for certain.
        const [sa, sb] = await Promise.all([a.load(), b.load()]);
        const [ra, rb] = await Promise.all([a.allocate(plan(sa, setA)), b.allocate(plan(sb, setB))]);
        conflicts += ra.conflicts.length + rb.conflicts.length;
      }
      await a.allocate(plan(await a.load(), vms));
      const nodes = (await kube.core.listNode({})).items;
      const cidrs = nodes.map((n) => n.spec?.podCIDR ?? '');
      expect(cidrs.filter((c) => c === '')).toEqual([]);
      expect(new Set(cidrs).size).toBe(vms.length);
      for (const n of nodes) expect(n.spec?.podCIDRs).toEqual([n.spec?.podCIDR]);
      // The record agrees with the Nodes, entry for entry.
      const cm = await kube.core.readNamespacedConfigMap({ namespace: 'routesync', name: 'routesync-c-subnets' });
      const ledger = JSON.parse(cm.data?.allocations ?? '{}') as Record<string, { node: string }>;
      expect(Object.entries(ledger).length).toBe(vms.length);
      for (const n of nodes) expect(ledger[n.spec?.podCIDR as string]?.node).toBe(n.metadata?.name);
      expect(conflicts).toBeGreaterThan(0);
    } finally {
      await a.close();
      await b.close();
      await emu.close();
    }
  });
});

describe('load() from the inventory’s watch cache', () => {
  it('costs one ConfigMap read and no Node list; a cache that is not synced fails the load', async () => {
    const { emu, kube } = await emulator({
      nodes: [{ name: 'n1', providerID: providerID('n1'), internalIP: '10.240.0.1', podCIDR: '10.3.0.0/24' }],
    });
    try {
      const s = storeOn(kube);
      const n1 = await kube.core.readNode({ name: 'n1' });
      let synced = true;
      s.useNodes(() => {
        if (!synced) throw new Error('Nodes not known: not listed yet');
        return [n1];
      });
      await fetch(`${emu.url}/_emulator/requests`, { method: 'DELETE' });
      expect((await s.load()).allocations.map((a) => a.subnet)).toEqual(['10.3.0.0/24']);
      expect(emu.counters.snapshot().byAction).toEqual({ 'get:configmaps': expect.anything() });
      synced = false;
      await expect(s.load()).rejects.toThrow(/Nodes not known/);
    } finally {
      await emu.close();
    }
  });
});

describe('store.type kubernetes: a record written before GCE ids carried the zone (issue 16, item 7)', () => {
  // As the kinds table reads a Node: the provider's id, `<zone>/<name>`.
  const zonedVmOf = (n: V1Node) => {
    const r = parseProviderId(n.spec?.providerID, 'gce', { project: PROJECT });
    return r.ok ? r.ref.instanceId : undefined;
  };

  it('keeps its subnets: a Node’s podCIDR takes the new id at once, a ledger entry moves by rekey', async () => {
    const { emu, kube } = await emulator({
      nodes: [
        { name: 'n-a', providerID: providerID('twin'), internalIP: '10.240.1.1', podCIDR: '10.3.1.0/24' },
        { name: 'n-b', providerID: providerID('late'), internalIP: '10.240.1.2' },
      ],
    });
    try {
      // The ledger as an older version wrote it: VMs by bare name; `late` committed, not yet patched.
      await kube.core.createNamespacedConfigMap({
        namespace: 'routesync',
        body: {
          metadata: { name: 'routesync-old-subnets' },
          data: {
            version: '1',
            allocations: JSON.stringify({
              '10.3.1.0/24': { instanceId: 'twin', node: 'n-a', privateIp: '10.240.1.1', allocatedAt: 1 },
              '10.3.2.0/24': { instanceId: 'late', node: 'n-b', privateIp: '10.240.1.2', allocatedAt: 2 },
            }),
            released: '{}',
          },
        },
      });
      const s = storeOn(kube, { configMap: 'routesync-old-subnets', vmOf: zonedVmOf });
      const held = async () => Object.fromEntries((await s.load()).allocations.map((a) => [a.instanceId, a.subnet]));
      expect(await held()).toEqual({ [`${ZONE}/twin`]: '10.3.1.0/24', late: '10.3.2.0/24' });
      const move = { from: 'late', to: `${ZONE}/late`, subnet: '10.3.2.0/24', name: 'n-b', privateIp: '10.240.1.2' };
      expect(await s.rekey([move, { ...move, from: 'nobody' }])).toEqual([move]);
      expect(await held()).toEqual({ [`${ZONE}/twin`]: '10.3.1.0/24', [`${ZONE}/late`]: '10.3.2.0/24' });
      const cm = await kube.core.readNamespacedConfigMap({ namespace: 'routesync', name: 'routesync-old-subnets' });
      expect(JSON.parse(cm.data?.allocations ?? '{}')['10.3.2.0/24']).toMatchObject({ instanceId: `${ZONE}/late` });
    } finally {
      await emu.close();
    }
  });
});
