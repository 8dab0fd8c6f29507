// The report step in Kubernetes mode (src/kubernetes/node-reporter.ts) against the Kubernetes API emulator:
// a refused patch (403, 5xx) is one log line and a metric while the other Nodes are patched; a dry run's
// report and a process that does not lead write nothing; Events follow transitions, not passes; the
// controller's call returns before anything is sent.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Node } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findResource } from '../../emulators/kubernetes/resources.ts';
import { startKubeEmulator, type RunningKubeEmulator } from '../../emulators/kubernetes/server.ts';
import { openKubeClient, type KubeClient } from '../../src/kubernetes/client.ts';
import { NodeEvents } from '../../src/kubernetes/events.ts';
import { NodeConditions } from '../../src/kubernetes/node-condition.ts';
import { NodeMetrics } from '../../src/kubernetes/node-metrics.ts';
import { NodeReporter } from '../../src/kubernetes/node-reporter.ts';
import { NodeWatch } from '../../src/kubernetes/node-watch.ts';
import { silentLogger } from '../../src/log.ts';
import type { PassReport } from '../../src/pass-types.ts';
import type { VmRoute, VmRouteState } from '../../src/pass-vm-routes.ts';
import { LeadershipLostError } from '../../src/store/leadership.ts';

const NAMES = ['a', 'b', 'c'];
let emu: RunningKubeEmulator;
let kube: KubeClient;
let dir: string;
let watch: NodeWatch;
let reporter: NodeReporter;
let registry: Registry;
let lines: Array<{ level: number; msg: string }>;
let leading = true;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'k8s-reporter-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeEach(async () => {
  emu = await startKubeEmulator({
    nodes: NAMES.map((n) => ({ name: n, providerID: `gce://p-12345/us-central1-a/${n}` })),
  });
  writeFileSync(join(dir, 'kc'), emu.kubeconfig({ token: 'ctl' }));
  kube = await openKubeClient({ kubeconfig: join(dir, 'kc'), env: {} });
  watch = new NodeWatch({ kube, logger: silentLogger, debounceMs: 20 });
  await watch.start();
  lines = [];
  leading = true;
  const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  const fence = async () => {
    if (!leading) throw new LeadershipLostError('not the leader');
  };
  registry = new Registry();
  reporter = new NodeReporter({
    nodes: watch,
    inventory: { nodeOf: (vm) => (NAMES.includes(vm) ? vm : undefined), findings: () => [] },
    conditions: new NodeConditions({ kube, logger, fence }),
    events: new NodeEvents({ kube, logger, fence, instance: 'test' }),
    isLeader: () => true,
    logger,
    metrics: new NodeMetrics(registry),
  });
});
afterEach(async () => {
  await reporter.close();
  await watch.stop();
  await emu.close();
});

const vm = (name: string, state: VmRouteState): VmRoute => ({
  instanceId: name,
  name,
  subnet: `10.244.${NAMES.indexOf(name)}.0/24`,
  state,
  tables: { t1: state === 'active' ? 'active' : 'missing' },
});
const report = (states: Record<string, VmRouteState>, dryRun = false) =>
  ({ dryRun, vms: Object.entries(states).map(([n, s]) => vm(n, s)) }) as unknown as PassReport;
const allActive = () => report({ a: 'active', b: 'active', c: 'active' });

const node = (name: string) =>
  (emu.store.list(findResource('', 'v1', 'nodes')!) as unknown as V1Node[]).find((n) => n.metadata?.name === name);
const cond = (name: string) => node(name)?.status?.conditions?.find((c) => c.type === 'NetworkUnavailable');
const events = (reason: string) =>
  (emu.store.list(findResource('', 'v1', 'events')!) as unknown as Array<{ reason: string }>).filter(
    (e) => e.reason === reason,
  );
const sent = (action: string) =>
  Object.values(emu.counters.snapshot().byAction[action] ?? {}).reduce((a, b) => a + b, 0);
const fault = (rule: Record<string, unknown>) =>
  fetch(`${emu.url}/_emulator/faults`, { method: 'POST', body: JSON.stringify(rule) });
/** The watch has caught up with what was written, as between two passes. */
const caughtUp = async () => {
  const listed = (await kube.core.listNode({})).items;
  const behind = () =>
    listed.some(
      (n) =>
        watch.current().nodes.get(n.metadata?.name as string)?.metadata?.resourceVersion !==
        n.metadata?.resourceVersion,
    );
  for (let i = 0; i < 200 && behind(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(behind()).toBe(false);
};

describe('NodeReporter', () => {
  it('a refused patch is one line and a metric; the other Nodes are patched, and it is retried next pass', async () => {
    await fault({ action: 'patch:nodes/status', rate: 1, error: 'forbidden', count: 1 });
    reporter.passDone(allActive());
    await reporter.idle();
    const refused = NAMES.filter((n) => cond(n)?.status !== 'False');
    expect(refused).toHaveLength(1);
    const warns = lines.filter((l) => l.level === 40);
    expect(warns).toHaveLength(1);
    expect(warns[0]?.msg).toMatch(new RegExp(`patching nodes/status of ${refused[0]}: HTTP 403: .*forbidden`));
    expect(await registry.metrics()).toMatch(
      /routesync_node_condition_patches_total\{status="False",outcome="403"\} 1/,
    );
    await caughtUp();
    reporter.passDone(allActive());
    await reporter.idle();
    expect(NAMES.map((n) => cond(n)?.status)).toEqual(['False', 'False', 'False']);
    // Each Node announced once, the refused one too once it was written.
    expect(events('RouteCreated')).toHaveLength(3);
  });

  it('a 5xx that lasts is one line per Node, not one per pass', async () => {
    await fault({ action: 'patch:nodes/status', rate: 1, error: '5xx' });
    for (let i = 0; i < 3; i++) {
      reporter.passDone(allActive());
      await reporter.idle();
    }
    expect(lines.filter((l) => l.level === 40)).toHaveLength(3);
    expect(NAMES.map((n) => cond(n))).toEqual([undefined, undefined, undefined]);
    expect(events('RouteCreated')).toHaveLength(0);
  });

  it('returns before anything is sent; a dry run or a process that does not lead sends nothing', async () => {
    reporter.passDone(report({ a: 'active' }, true));
    await reporter.idle();
    expect(sent('patch:nodes/status')).toBe(0);
    leading = false;
    reporter.passDone(allActive());
    expect(sent('patch:nodes/status')).toBe(0);
    await reporter.idle();
    expect(sent('patch:nodes/status')).toBe(0);
    expect(sent('create:events')).toBe(0);
    expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
      'Node conditions and Events not written this round',
    ]);
  });

  it('Events follow transitions: created once, lost, created again; unknown changes nothing', async () => {
    reporter.passDone(allActive());
    await reporter.idle();
    await caughtUp();
    reporter.passDone(allActive());
    await reporter.idle();
    expect(events('RouteCreated')).toHaveLength(3);
    await caughtUp();
    const patches = sent('patch:nodes/status');
    reporter.passDone(report({ a: 'lost', b: 'unknown', c: 'active' }));
    await reporter.idle();
    expect(sent('patch:nodes/status')).toBe(patches + 1);
    expect(cond('a')).toMatchObject({ status: 'True', reason: 'NoRouteCreated' });
    expect(cond('b')).toMatchObject({ status: 'False' });
    expect(events('RouteLost')).toHaveLength(1);
    await caughtUp();
    reporter.passDone(allActive());
    await reporter.idle();
    expect(cond('a')).toMatchObject({ status: 'False', reason: 'RouteCreated' });
    // The same Event again within minutes: counted into the first one (as client-go's correlator does).
    expect(events('RouteCreated')).toHaveLength(3);
    expect(await registry.metrics()).toMatch(
      /routesync_node_events_total\{reason="RouteCreated",outcome="deferred"\} 1/,
    );
  });

  it('before a pass, a Node without the condition is marked True; one that has it is left to the pass', async () => {
    reporter.passDone(report({ a: 'active' }));
    await reporter.idle();
    await caughtUp();
    reporter.passStarting();
    await reporter.idle();
    expect(cond('a')).toMatchObject({ status: 'False' });
    expect(cond('b')).toMatchObject({ status: 'True', reason: 'NoRouteCreated' });
    expect(cond('c')).toMatchObject({ status: 'True', reason: 'NoRouteCreated' });
  });
});
