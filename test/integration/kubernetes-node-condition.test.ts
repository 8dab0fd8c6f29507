// NetworkUnavailable (src/kubernetes/node-condition.ts) against the Kubernetes API emulator: the three
// states, patched through nodes/status as a strategic merge (the kubelet's conditions stay), not patched
// when already so, a conflict re-read and decided again, a Node deleted meanwhile, a 403, and the fence.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Node } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startKubeEmulator, type RunningKubeEmulator } from '../../emulators/kubernetes/server.ts';
import { LeadershipLostError } from '../../src/store/leadership.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { openKubeClient, type KubeClient } from '../../src/kubernetes/client.ts';
import { NodeConditionError, NodeConditions, networkCondition } from '../../src/kubernetes/node-condition.ts';

let emu: RunningKubeEmulator;
let kube: KubeClient;
let dir: string;
let fences = 0;
let fenceError: Error | undefined;
const clock = new ManualClock(Date.UTC(2026, 11, 1, 12, 0, 0));

beforeAll(async () => {
  emu = await startKubeEmulator({
    nodes: ['a', 'b', 'c', 'd', 'e'].map((n) => ({
      name: `node-${n}`,
      providerID: `gce://p-12345/us-central1-a/node-${n}`,
    })),
  });
  dir = mkdtempSync(join(tmpdir(), 'k8s-cond-'));
  writeFileSync(join(dir, 'kc'), emu.kubeconfig({ token: 'ctl' }));
  kube = await openKubeClient({ kubeconfig: join(dir, 'kc'), env: {} });
});
afterEach(async () => {
  fenceError = undefined;
  await fetch(`${emu.url}/_emulator/faults`, { method: 'DELETE' });
});
afterAll(async () => {
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function conditions(): NodeConditions {
  return new NodeConditions({
    kube,
    logger: silentLogger,
    clock,
    fence: async () => {
      fences++;
      if (fenceError) throw fenceError;
    },
  });
}

const read = (name: string): Promise<V1Node> => kube.core.readNode({ name });
const statusPatches = () => emu.counters.snapshot().byAction['patch:nodes/status'] ?? {};

describe('NetworkUnavailable', () => {
  it('True/NoRouteCreated for a new Node, False/RouteCreated once routed, True again when lost', async () => {
    const c = conditions();
    expect(await c.set(await read('node-a'), 'pending')).toBe('patched');
    let n = await read('node-a');
    expect(networkCondition(n)).toMatchObject({ status: 'True', reason: 'NoRouteCreated' });
    // A strategic merge by type: the kubelet's conditions are all still there.
    expect(n.status?.conditions?.map((x) => x.type).sort()).toEqual(
      ['DiskPressure', 'MemoryPressure', 'NetworkUnavailable', 'PIDPressure', 'Ready'].sort(),
    );
    const firstTransition = networkCondition(n)?.lastTransitionTime;
    clock.advance(60_000);
    expect(await c.set(n, 'active')).toBe('patched');
    n = await read('node-a');
    expect(networkCondition(n)).toMatchObject({ status: 'False', reason: 'RouteCreated' });
    expect(networkCondition(n)?.lastTransitionTime).not.toEqual(firstTransition);
    clock.advance(60_000);
    expect(await c.set(n, 'lost')).toBe('patched');
    n = await read('node-a');
    expect(networkCondition(n)).toMatchObject({ status: 'True', reason: 'NoRouteCreated' });
    expect(networkCondition(n)?.message).toMatch(/missing/);
  });

  it('is not patched when already so: no request at all', async () => {
    const c = conditions();
    await c.set(await read('node-b'), 'active');
    const n = await read('node-b');
    const before = statusPatches().ok ?? 0;
    const fencesBefore = fences;
    expect(await c.set(n, 'active')).toBe('unchanged');
    expect(await c.set(n, 'active')).toBe('unchanged');
    expect(statusPatches().ok ?? 0).toBe(before);
    expect(fences).toBe(fencesBefore);
    expect(c.patches).toBe(1);
  });

  it('a Node changed since it was read: 409, re-read, decided again', async () => {
    const c = conditions();
    const stale = await read('node-c');
    await kube.core.patchNode(
      { name: 'node-c', body: { metadata: { labels: { changed: 'yes' } } } },
      kube.options({ contentType: 'application/merge-patch+json' }),
    );
    const conflictsBefore = statusPatches().Conflict ?? 0;
    expect(await c.set(stale, 'pending')).toBe('patched');
    expect((statusPatches().Conflict ?? 0) - conflictsBefore).toBe(1);
    expect(networkCondition(await read('node-c'))).toMatchObject({ status: 'True', reason: 'NoRouteCreated' });
    // Another writer already set what we want: after the conflict the re-read shows it, nothing is written.
    const stale2 = await read('node-c');
    await conditions().set(stale2, 'active');
    const okBefore = statusPatches().ok ?? 0;
    expect(await c.set(stale2, 'active')).toBe('unchanged');
    expect(statusPatches().ok ?? 0).toBe(okBefore);
  });

  it('a Node deleted mid-pass is `gone`, not an error', async () => {
    const n = await read('node-d');
    await fetch(`${emu.url}/_emulator/nodes/node-d?force=1`, { method: 'DELETE' });
    expect(await conditions().set(n, 'pending')).toBe('gone');
  });

  it('a 403 is one line naming the Node and the missing permission', async () => {
    await fetch(`${emu.url}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ action: 'patch:nodes/status', rate: 1, error: 'forbidden' }),
    });
    const err = await conditions()
      .set(await read('node-e'), 'pending')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeConditionError);
    expect((err as NodeConditionError).code).toBe(403);
    expect((err as Error).message).toBe(
      'patching nodes/status of node-e: HTTP 403: nodes "node-e" is forbidden: User "ctl" cannot patch resource "nodes/status" in API group "" at the cluster scope',
    );
  });

  it('no leadership, no patch: the fence throws before anything is sent', async () => {
    fenceError = new LeadershipLostError('not the leader');
    const before = emu.counters.snapshot().byAction['patch:nodes/status'];
    await expect(conditions().set(await read('node-e'), 'active')).rejects.toThrow(LeadershipLostError);
    expect(emu.counters.snapshot().byAction['patch:nodes/status']).toEqual(before);
    expect(networkCondition(await read('node-e'))).toBeUndefined();
  });
});
