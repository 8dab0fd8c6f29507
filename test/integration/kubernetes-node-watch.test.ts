// The Nodes list-then-watch (src/kubernetes/node-watch.ts) against the Kubernetes API emulator: every page
// of a list, a partial list failing as a whole, debounced change signals (heartbeats signal nothing), the
// exclusion label, and the watch's restarts: ended, stalled (silence), refused with 429/5xx (backoff), and
// 410 Gone (relist, which also finds a deletion the watch never delivered).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startKubeEmulator, type RunningKubeEmulator } from '../../emulators/kubernetes/server.ts';
import type { NodeSeed } from '../../emulators/kubernetes/nodes.ts';
import { silentLogger } from '../../src/log.ts';
import { openKubeClient, type KubeClient } from '../../src/kubernetes/client.ts';
import { EXCLUDE_LABEL, NodeListError, NodeWatch, type NodeWatchOptions } from '../../src/kubernetes/node-watch.ts';
import { until } from '../../testkit/wait.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const seed = (i: number): NodeSeed => ({
  name: `node-${i}`,
  providerID: `aws:///us-east-1a/i-${i.toString(16).padStart(17, '0')}`,
  internalIP: `10.0.0.${i}`,
});

let emu: RunningKubeEmulator;
let kube: KubeClient;
let dir: string;
const watches: NodeWatch[] = [];

beforeAll(async () => {
  emu = await startKubeEmulator({ nodes: Array.from({ length: 7 }, (_, i) => seed(i + 1)), bookmarkIntervalMs: 100 });
  dir = mkdtempSync(join(tmpdir(), 'k8s-watch-'));
  writeFileSync(join(dir, 'kc'), emu.kubeconfig({ token: 'watcher' }));
  kube = await openKubeClient({ kubeconfig: join(dir, 'kc'), env: {} });
});
afterEach(async () => {
  await Promise.all(watches.splice(0).map((w) => w.stop()));
  await admin('DELETE', 'faults');
});
afterAll(async () => {
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
  const r = await fetch(`${emu.url}/_emulator/${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return r.json();
}

function watcher(o: Partial<NodeWatchOptions> = {}): { w: NodeWatch; signals: Set<string>[] } {
  const w = new NodeWatch({
    kube,
    logger: silentLogger,
    debounceMs: 150,
    pageSize: 2,
    silenceMs: 600,
    backoffInitialMs: 50,
    backoffMaxMs: 400,
    requestTimeoutMs: 5_000,
    ...o,
  });
  const signals: Set<string>[] = [];
  w.onChange((names) => signals.push(new Set(names)));
  watches.push(w);
  return { w, signals };
}

const seen = (signals: Set<string>[], name: string) => signals.some((s) => s.has(name));

async function label(name: string, labels: Record<string, string | null>): Promise<void> {
  await kube.core.patchNode(
    { name, body: { metadata: { labels } } },
    kube.options({ contentType: 'application/merge-patch+json' }),
  );
}

describe('NodeWatch', () => {
  it('lists every page into one snapshot, then follows changes with debounced signals', async () => {
    const { w, signals } = watcher();
    await w.start();
    const snap = w.current();
    expect([...snap.nodes.keys()].sort()).toEqual(Array.from({ length: 7 }, (_, i) => `node-${i + 1}`).sort());
    expect(w.stats.listPages).toBe(4);
    expect(snap.resourceVersion).toMatch(/^\d+$/);
    // A burst of changes is one signal (or two if it straddles the debounce), naming every changed Node.
    await admin('POST', 'nodes', { nodes: [seed(20), seed(21), seed(22)] });
    await label('node-1', { 'topology.kubernetes.io/zone': 'us-east-1b', [EXCLUDE_LABEL]: null });
    await kube.core.patchNode(
      { name: 'node-2', body: { spec: { podCIDR: '10.244.2.0/24', podCIDRs: ['10.244.2.0/24'] } } },
      kube.options({ contentType: 'application/merge-patch+json' }),
    );
    await until(
      'the burst signalled',
      () => ['node-20', 'node-21', 'node-22', 'node-2'].every((n) => seen(signals, n)),
      5_000,
    );
    expect(signals.length).toBeLessThanOrEqual(2);
    expect(w.current().nodes.get('node-2')?.spec?.podCIDR).toBe('10.244.2.0/24');
    // node-1's label change touches nothing routing reads: no signal for it.
    expect(seen(signals, 'node-1')).toBe(false);
  });

  it('heartbeats signal nothing; the exclusion label takes a Node out and back', async () => {
    const { w, signals } = watcher();
    await w.start();
    await kube.core.patchNodeStatus(
      {
        name: 'node-3',
        body: { status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: new Date() }] } },
      },
      kube.options({ contentType: 'application/strategic-merge-patch+json' }),
    );
    await label('node-4', { [EXCLUDE_LABEL]: 'true' });
    await until('node-4 excluded', () => seen(signals, 'node-4'), 5_000);
    expect(seen(signals, 'node-3')).toBe(false);
    expect(w.current().nodes.has('node-4')).toBe(false);
    expect(w.current().excluded).toContain('node-4');
    await label('node-4', { [EXCLUDE_LABEL]: null });
    await until('node-4 back', () => w.current().nodes.has('node-4'), 5_000);
  });

  it('takes the configured exclusion label (kubernetes.excludeLabel), not the default', async () => {
    const { w, signals } = watcher({ exclude: { key: 'example.com/no-routes', value: 'yes' } });
    await w.start();
    await label('node-6', { 'example.com/no-routes': 'yes' });
    await until('node-6 excluded', () => seen(signals, 'node-6'), 5_000);
    expect(w.current().excluded).toEqual(['node-6']);
    await label('node-6', { 'example.com/no-routes': null, [EXCLUDE_LABEL]: 'true' });
    await until('node-6 back', () => w.current().nodes.has('node-6'), 5_000);
    await label('node-6', { [EXCLUDE_LABEL]: null });
  });

  it('a partial list is a failed read: start rejects naming the page, current() throws, a retry succeeds', async () => {
    await admin('POST', 'faults', { action: 'list:nodes', rate: 1, error: '503', after: 1, count: 1 });
    const { w } = watcher();
    await expect(w.start()).rejects.toThrow(NodeListError);
    expect(() => w.current()).toThrow(/^Nodes not known: listing Nodes \(page 2\): HTTP 503/);
    // Retried once the API server answers again: every page, the same Nodes as before the fault.
    await w.start();
    expect(w.current().nodes.size).toBeGreaterThanOrEqual(7);
    await expect(w.start()).rejects.toThrow(/already started/);
  });

  it('a watch that ends is restarted from its resourceVersion, without a relist', async () => {
    const { w, signals } = watcher();
    await w.start();
    await until('watching', () => emu.watchCount() > 0, 5_000);
    emu.dropWatches();
    await label('node-5', { [EXCLUDE_LABEL]: 'true' });
    await until('the change after the drop', () => seen(signals, 'node-5'), 5_000);
    expect(w.stats.lists).toBe(1);
    expect(w.stats.watches).toBeGreaterThanOrEqual(2);
    await label('node-5', { [EXCLUDE_LABEL]: null });
  });

  it('a stalled watch (no event, no bookmark) is taken for dead and restarted', async () => {
    const { w, signals } = watcher();
    await w.start();
    await until('a bookmark', () => w.stats.bookmarks > 0, 5_000);
    const before = w.stats.watches;
    emu.stallWatches();
    await label('node-6', { [EXCLUDE_LABEL]: 'true' });
    await until('the change, after the silent watch was replaced', () => seen(signals, 'node-6'), 10_000);
    expect(w.stats.watches).toBeGreaterThan(before);
    expect(w.stats.lists).toBe(1);
    await label('node-6', { [EXCLUDE_LABEL]: null });
  });

  it('watches refused with 429 and 5xx back off and recover', async () => {
    const { w, signals } = watcher();
    await admin('POST', 'faults', { action: 'watch:nodes', rate: 1, error: 'throttle', count: 2 });
    await admin('POST', 'faults', { action: 'watch:nodes', rate: 1, error: '5xx', count: 2 });
    await w.start();
    await label('node-7', { [EXCLUDE_LABEL]: 'true' });
    await until('the change once the watch got through', () => seen(signals, 'node-7'), 10_000);
    expect(w.stats.watches).toBeGreaterThanOrEqual(5);
    await label('node-7', { [EXCLUDE_LABEL]: null });
  });

  it('410 Gone relists, and the relist finds a deletion the watch never delivered', async () => {
    const { w, signals } = watcher();
    await w.start();
    await until('watching', () => emu.watchCount() > 0, 5_000);
    expect(w.current().nodes.has('node-22')).toBe(true);
    emu.stallWatches();
    await admin('DELETE', 'nodes/node-22?force=1');
    await admin('POST', 'compact');
    emu.dropWatches();
    await until('the relist', () => w.stats.relists > 0, 10_000);
    await until('the deletion signalled', () => seen(signals, 'node-22'), 5_000);
    expect(w.current().nodes.has('node-22')).toBe(false);
    expect(w.stats.lists).toBe(2);
  });
});
