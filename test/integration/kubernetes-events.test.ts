// Events on Nodes (src/kubernetes/events.ts) against the Kubernetes API emulator and the real kubectl:
// `kubectl describe node` shows them; a recurring finding is one Event whose count is bumped, at most once
// per interval, never a flood; an Event expired on the server is started anew; refusals are logged, the
// fence comes first.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { V1Node } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeEmulator, type RunningKubeEmulator } from '../../emulators/kubernetes/server.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { openKubeClient, type KubeClient } from '../../src/kubernetes/client.ts';
import { EVENT_NAMESPACE, NodeEvents } from '../../src/kubernetes/events.ts';

const run = promisify(execFile);
let emu: RunningKubeEmulator;
let kube: KubeClient;
let dir: string;
let fenceError: Error | undefined;
const clock = new ManualClock(Date.UTC(2026, 11, 1, 12, 0, 0));

beforeAll(async () => {
  emu = await startKubeEmulator({ nodes: [{ name: 'node-1' }, { name: 'node-2' }] });
  dir = mkdtempSync(join(tmpdir(), 'k8s-events-'));
  writeFileSync(join(dir, 'kc'), emu.kubeconfig({ token: 'ctl' }));
  kube = await openKubeClient({ kubeconfig: join(dir, 'kc'), env: {} });
});
afterAll(async () => {
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function recorder(): NodeEvents {
  return new NodeEvents({
    kube,
    logger: silentLogger,
    clock,
    instance: 'routesync-0',
    bumpEveryMs: 300_000,
    fence: async () => {
      if (fenceError) throw fenceError;
    },
  });
}

const node = (name: string): Promise<V1Node> => kube.core.readNode({ name });
const events = async (name: string) =>
  (await kube.core.listNamespacedEvent({ namespace: EVENT_NAMESPACE })).items.filter(
    (e) => e.involvedObject.name === name,
  );

describe('Node Events', () => {
  it('shows in kubectl describe node', async () => {
    const r = recorder();
    expect(await r.record(await node('node-1'), 'route-created', 'route 10.244.1.0/24 created in rtb-1, rtb-2')).toBe(
      'created',
    );
    const { stdout } = await run(
      '/usr/bin/kubectl',
      ['--kubeconfig', join(dir, 'kc'), '--cache-dir', join(dir, 'cache'), 'describe', 'node', 'node-1'],
      { timeout: 15_000 },
    );
    const section = stdout.slice(stdout.indexOf('Events:'));
    expect(section).toMatch(/Normal\s+RouteCreated\s+.*routesync\s+route 10\.244\.1\.0\/24 created in rtb-1, rtb-2/);
  });

  it('a recurring finding is one Event, its count bumped at most once per interval', async () => {
    const r = recorder();
    const n = await node('node-2');
    const msg = 'route for 10.244.2.0/24 blocked: table rtb-1 has no quota left (50 of 50)';
    expect(await r.record(n, 'blocked:quota', msg)).toBe('created');
    for (let i = 0; i < 9; i++) {
      clock.advance(30_000);
      expect(await r.record(n, 'blocked:quota', msg)).toBe('deferred');
    }
    expect(r.writes).toBe(1);
    clock.advance(60_000);
    expect(await r.record(n, 'blocked:quota', msg)).toBe('bumped');
    const evs = (await events('node-2')).filter((e) => e.reason === 'RouteBlockedByQuota');
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({ type: 'Warning', count: 11, message: msg, reportingInstance: 'routesync-0' });
    expect(r.writes).toBe(2);
    // Another finding on the same Node is its own Event.
    expect(await r.record(n, 'no-provider-id', 'providerID "": not yet set')).toBe('created');
    expect((await events('node-2')).length).toBe(2);
  });

  it('an Event expired on the server is created again, carrying the count', async () => {
    const r = recorder();
    const n = await node('node-2');
    await r.record(n, 'conflict', 'a foreign route holds 10.244.2.0/24 in rtb-1');
    const [ev] = (await events('node-2')).filter((e) => e.reason === 'RouteConflict');
    await kube.core.deleteNamespacedEvent({ namespace: EVENT_NAMESPACE, name: ev!.metadata!.name! });
    clock.advance(400_000);
    expect(await r.record(n, 'conflict', 'a foreign route holds 10.244.2.0/24 in rtb-1')).toBe('created');
    const again = (await events('node-2')).filter((e) => e.reason === 'RouteConflict');
    expect(again).toHaveLength(1);
    expect(again[0]?.count).toBe(2);
  });

  it('refused or fenced: logged, not thrown, nothing sent', async () => {
    const r = recorder();
    const before = emu.counters.snapshot().byAction['create:events'] ?? {};
    fenceError = new Error('not the leader');
    expect(await r.record(await node('node-1'), 'cannot-forward', 'source/dest check is on')).toBe('failed');
    fenceError = undefined;
    expect(emu.counters.snapshot().byAction['create:events'] ?? {}).toEqual(before);
    await fetch(`${emu.url}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ action: 'create:events', rate: 1, error: 'forbidden', count: 1 }),
    });
    expect(await r.record(await node('node-1'), 'cannot-forward', 'source/dest check is on')).toBe('failed');
  });
});
