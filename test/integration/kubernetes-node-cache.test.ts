// The Node watch cache keeps the part of each Node that is read (src/kubernetes/node-watch.ts slimNode), from
// the list and from every watch event: name, uid, resourceVersion, labels, deletionTimestamp, the spec
// (providerID, podCIDR(s)), conditions and addresses — not the kubelet's status.images, nodeInfo, capacity
// or annotations, which are most of a real Node's bytes and which nothing reads. Against the API emulator,
// with Nodes carrying 50 images each, as a kubelet reports them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeletImages } from '../../bench/kubernetes-rest.ts';
import { findResource } from '../../emulators/kubernetes/resources.ts';
import { startKubeEmulator, type RunningKubeEmulator } from '../../emulators/kubernetes/server.ts';
import type { Obj } from '../../emulators/kubernetes/status.ts';
import { openKubeClient, type KubeClient } from '../../src/kubernetes/client.ts';
import { NodeWatch } from '../../src/kubernetes/node-watch.ts';
import { silentLogger } from '../../src/log.ts';
import { until } from '../../testkit/wait.ts';

let emu: RunningKubeEmulator;
let kube: KubeClient;
let dir: string;
const NODES = findResource('', 'v1', 'nodes')!;

function withImages(name: string, i: number): void {
  const n = emu.registry.get(NODES, undefined, name);
  emu.registry.update(
    NODES,
    undefined,
    name,
    { ...n, status: { ...(n.status as Obj), images: kubeletImages(50, i) } },
    'status',
  );
}

beforeAll(async () => {
  emu = await startKubeEmulator({
    nodes: Array.from({ length: 4 }, (_, i) => ({
      name: `n-${i}`,
      providerID: `aws:///us-east-1a/i-${String(i).padStart(17, '0')}`,
      internalIP: `10.0.0.${i + 1}`,
      labels: { 'team.example.com/pool': 'blue' },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
      ...(i === 0 ? { podCIDR: '10.64.0.0/24' } : {}),
    })),
  });
  for (let i = 0; i < 4; i++) withImages(`n-${i}`, i);
  dir = mkdtempSync(join(tmpdir(), 'k8s-cache-'));
  writeFileSync(join(dir, 'kc'), emu.kubeconfig({ token: 'cache' }));
  kube = await openKubeClient({ kubeconfig: join(dir, 'kc'), env: {} });
});
afterAll(async () => {
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Node watch cache', () => {
  it('keeps what is read, drops images/nodeInfo/capacity/annotations, from the list and from watch events', async () => {
    const w = new NodeWatch({ kube, logger: silentLogger, debounceMs: 20, pageSize: 3 });
    await w.start();
    try {
      const check = () => {
        const nodes = w.allNodes();
        expect(nodes).toHaveLength(4);
        for (const n of nodes) {
          const full = emu.registry.get(NODES, undefined, n.metadata?.name as string) as {
            metadata: Obj;
            spec: Obj;
            status: { conditions: unknown[]; addresses: unknown[] };
          };
          expect(n.metadata).toMatchObject({
            name: full.metadata.name,
            uid: full.metadata.uid,
            resourceVersion: full.metadata.resourceVersion,
            labels: full.metadata.labels,
          });
          expect(JSON.parse(JSON.stringify(n.spec))).toEqual(full.spec);
          // The list hands back client-node's typed objects (Dates for times), a watch event plain JSON.
          const conds = (cs: unknown) =>
            (cs as Array<{ type: string; status: string; reason?: string }>).map((c) => [c.type, c.status, c.reason]);
          expect(conds(n.status?.conditions)).toEqual(conds(full.status.conditions));
          expect(JSON.parse(JSON.stringify(n.status?.addresses))).toEqual(full.status.addresses);
          expect(n.status?.images).toBeUndefined();
          expect(n.status?.nodeInfo).toBeUndefined();
          expect(n.status?.capacity).toBeUndefined();
          expect(n.metadata?.annotations).toBeUndefined();
          // What is held per Node is a small part of the Node the API server sends.
          expect(JSON.stringify(n).length).toBeLessThan(JSON.stringify(full).length / 4);
        }
      };
      check();
      // A watch event (the kubelet re-reporting its images, and a label change) is slimmed the same way.
      const before = w.allNodes().find((n) => n.metadata?.name === 'n-2')?.metadata?.resourceVersion;
      const n2 = emu.registry.get(NODES, undefined, 'n-2');
      emu.registry.update(
        NODES,
        undefined,
        'n-2',
        { ...n2, metadata: { ...(n2.metadata as Obj), labels: { ...((n2.metadata as Obj).labels as Obj), x: 'y' } } },
        undefined,
      );
      withImages('n-2', 9);
      await until(
        'the events',
        () =>
          w.allNodes().find((n) => n.metadata?.name === 'n-2')?.metadata?.resourceVersion ===
          (emu.registry.get(NODES, undefined, 'n-2').metadata as Obj).resourceVersion,
        5_000,
      );
      expect(w.allNodes().find((n) => n.metadata?.name === 'n-2')?.metadata?.resourceVersion).not.toBe(before);
      expect(w.allNodes().find((n) => n.metadata?.name === 'n-2')?.metadata?.labels?.x).toBe('y');
      check();
    } finally {
      await w.stop();
    }
  });
});
