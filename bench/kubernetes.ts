// Kubernetes-mode figures (issue 14), printed, not asserted.
//   1. Node created → NetworkUnavailable=False, per cloud: the controller (src/controller.ts with
//      inventory.source kubernetes, store.type kubernetes, the Node reporter) in this process against the
//      Kubernetes API emulator and the cloud's emulator on its realistic profile, time-scaled (the
//      controller's debounce and interval scaled with it); N Nodes (each with its VM) added one by one, then
//      N in one burst, next to the floor: the cloud's own write + settle time for that many routes.
//   2. Node created → spec.podCIDR written, p50/p99 (the store's and the inventory's half alone).
//   3. At rest with 1,000 Nodes: API calls per pass (goal: no relist, no writes) and the controller's RSS.
//   4. Lease failover: two controllers, the leader SIGKILLed or SIGSTOPped while Nodes keep arriving;
//      time from the signal to the new leader's first write (the record ConfigMap), against the lease.
// 2–4 run bench/kube-controller-child.ts in its own process per controller (Lease + wire fence, NodeWatch,
// store.type kubernetes), against the Kubernetes API emulator in this process (time scale 1: real time),
// each with its own bearer token so that the emulator's request log tells them apart.
// node bench/kubernetes.ts [--nodes 100] [--rest-nodes 1000] [--trials 2] [--clouds aws,gce] [--time-scale 10]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findResource } from '../emulators/kubernetes/resources.ts';
import { startKubeEmulator, type RunningKubeEmulator } from '../emulators/kubernetes/server.ts';
import type { RequestLogEntry } from '../emulators/shared/counters.ts';
import { CLOUD_EMULATOR_TOPOLOGY, providerIdFor } from '../emulators/kubernetes/nodes.ts';
import { PROVIDER_KINDS, type ProviderKind } from '../providers/plugins.ts';
import { Controller } from '../src/controller.ts';
import { openInventory } from '../src/inventory/index.ts';
import { systemClock } from '../src/lib/clock.ts';
import { silentLogger } from '../src/log.ts';
import { openStore } from '../src/store/index.ts';
import { openNodeReporter } from '../src/wiring.ts';
import { until } from '../testkit/wait.ts';
import { bound, startBenchCloud, table } from './common.ts';
import { benchFlags, clouds, int, num, oneOf } from './flags.ts';
import { BENCH_PROJECT } from './kube-controller-child.ts';

const CHILD = fileURLToPath(new URL('./kube-controller-child.ts', import.meta.url));
const ZONE = 'europe-west1-b';
const node = (name: string, i: number) => ({
  name,
  providerID: `gce://${BENCH_PROJECT}/${ZONE}/${name}`,
  internalIP: `10.240.${(i >> 8) & 255}.${i & 255}`,
  zone: ZONE,
});

interface Child {
  proc: ChildProcess;
  events: Array<{ event: string; t: number; rss?: number; n?: number }>;
}

function startChild(dir: string, emu: RunningKubeEmulator, id: string, intervalMs: number, lease = [15, 10, 2]): Child {
  const kc = join(dir, `${id}.kubeconfig`);
  writeFileSync(kc, emu.kubeconfig({ token: id, namespace: 'routesync' }));
  const proc = spawn(process.execPath, [CHILD, kc, id, String(intervalMs), ...lease.map(String)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const c: Child = { proc, events: [] };
  let buf = '';
  proc.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        c.events.push(JSON.parse(line));
      } catch {
        // not ours
      }
    }
  });
  return c;
}

async function stop(c: Child): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill('SIGCONT');
  c.proc.kill('SIGKILL');
  await new Promise((r) => c.proc.once('exit', r));
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number);
};

/** ms from each Node's creation to the moment its spec.podCIDR was stored, seen in the emulator's store. */
function podCidrTimes(emu: RunningKubeEmulator) {
  const created = new Map<string, number>();
  const written = new Map<string, number>();
  const off = emu.store.subscribe((c) => {
    if (c.resource.plural !== 'nodes') return;
    const o = c.obj as { metadata?: { name?: string }; spec?: { podCIDR?: string } };
    const name = o.metadata?.name as string;
    if (c.type === 'ADDED') created.set(name, performance.now());
    if (o.spec?.podCIDR && !written.has(name)) written.set(name, performance.now());
  });
  return {
    latencies: (names: string[]) => names.map((n) => (written.get(n) ?? Number.NaN) - (created.get(n) ?? Number.NaN)),
    done: (names: string[]) => names.every((n) => written.has(n)),
    off,
  };
}

async function admin(emu: RunningKubeEmulator, path: string, body: unknown): Promise<void> {
  const r = await fetch(`${emu.url}/_emulator/${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
}

export async function nodeToPodCidr(n: number): Promise<Array<Record<string, string | number>>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-k8s-'));
  const emu = await startKubeEmulator({ tokens: ['a'] });
  const seen = podCidrTimes(emu);
  const c = startChild(dir, emu, 'a', 60_000);
  try {
    await until('wait', () => c.events.some((e) => e.event === 'leader'), 30_000);
    const one: string[] = [];
    for (let i = 0; i < n; i++) {
      const name = `one-${i}`;
      one.push(name);
      await admin(emu, 'nodes', node(name, i));
      await until('wait', () => seen.done([name]), 30_000);
    }
    const burst = Array.from({ length: n }, (_, i) => `burst-${i}`);
    await admin(emu, 'nodes', { nodes: burst.map((b, i) => node(b, 1000 + i)) });
    await until('wait', () => seen.done(burst), 120_000);
    const row = (how: string, names: string[]) => {
      const l = seen.latencies(names);
      return {
        nodes: n,
        added: how,
        p50ms: Math.round(pct(l, 50)),
        p99ms: Math.round(pct(l, 99)),
        maxMs: Math.round(Math.max(...l)),
      };
    };
    return [row('one by one', one), row('one burst', burst)];
  } finally {
    seen.off();
    await stop(c);
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function atRest(n: number, passes = 10): Promise<Array<Record<string, string | number>>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-k8s-'));
  const emu = await startKubeEmulator({ tokens: ['a'], nodes: Array.from({ length: n }, (_, i) => node(`n-${i}`, i)) });
  const intervalMs = 1000;
  const c = startChild(dir, emu, 'a', intervalMs);
  try {
    const seen = podCidrTimes(emu);
    await until('wait', () => c.events.some((e) => e.event === 'leader'), 30_000);
    // Every Node has its podCIDR (the first passes wrote them, adopted nothing): from here on, at rest.
    await until(
      'wait',
      () =>
        emu.store
          .list(findResource('', 'v1', 'nodes')!)
          .every((x) => (x as { spec?: { podCIDR?: string } }).spec?.podCIDR),
      120_000,
    );
    seen.off();
    const from = c.events.filter((e) => e.event === 'pass').length;
    const t0 = Date.now();
    const before = emu.counters.snapshot();
    await until('wait', () => c.events.filter((e) => e.event === 'pass').length >= from + passes, 60_000);
    const secs = (Date.now() - t0) / 1000;
    const after = emu.counters.snapshot();
    const diff: Record<string, number> = {};
    for (const [action, outcomes] of Object.entries(after.byAction)) {
      const sum = (o: Record<string, number> | undefined) => Object.values(o ?? {}).reduce((a, b) => a + b, 0);
      const d = sum(outcomes) - sum(before.byAction[action]);
      if (d > 0) diff[action] = d;
    }
    const leaseCalls = Object.entries(diff)
      .filter(([a]) => a.endsWith(':leases'))
      .reduce((k, [, v]) => k + v, 0);
    const lists = diff['list:nodes'] ?? 0;
    const writes = Object.entries(diff)
      .filter(([a]) => !/^(get|list|watch):/.test(a) && !a.endsWith(':leases'))
      .reduce((k, [, v]) => k + v, 0);
    const gets = Object.entries(diff)
      .filter(([a]) => a.startsWith('get:') && !a.endsWith(':leases'))
      .reduce((k, [, v]) => k + v, 0);
    const rss = c.events.filter((e) => e.event === 'pass').at(-1)?.rss ?? 0;
    return [
      {
        nodes: n,
        passes,
        'calls/pass (not Lease)': (gets / passes).toFixed(1),
        'Node lists/pass': (lists / passes).toFixed(1),
        'writes/pass': (writes / passes).toFixed(1),
        'Lease calls/s': (leaseCalls / secs).toFixed(2),
        'controller RSS MB': Math.round(rss / 1e6),
        calls: JSON.stringify(diff),
      },
    ];
  } finally {
    await stop(c);
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function failover(
  signal: 'SIGKILL' | 'SIGSTOP',
  lease: [number, number, number],
): Promise<Record<string, string | number>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-k8s-'));
  const emu = await startKubeEmulator({ tokens: ['a', 'b'] });
  const a = startChild(dir, emu, 'a', 500, lease);
  let b: Child | undefined;
  let feeding = true;
  try {
    await until('wait', () => a.events.some((e) => e.event === 'leader'), 30_000);
    b = startChild(dir, emu, 'b', 500, lease);
    await new Promise((r) => setTimeout(r, 1500));
    // Nodes keep arriving, so a leader always has a podCIDR to write.
    let i = 0;
    const feed = (async () => {
      while (feeding) {
        await admin(emu, 'nodes', node(`f-${i}`, i)).catch(() => undefined);
        i++;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = Date.now();
    a.proc.kill(signal);
    const firstWrite = () => logOf(emu);
    await until(
      'wait',
      () => firstWrite().some((e) => e.client === 'b' && e.mutating && !e.action.endsWith(':leases') && e.at >= t0),
      60_000,
    );
    const w = firstWrite().find((e) => e.client === 'b' && e.mutating && !e.action.endsWith(':leases') && e.at >= t0)!;
    const elected = b.events.find((e) => e.event === 'leader')?.t ?? Number.NaN;
    // After a SIGSTOP: resume the old leader and check it sent no write after the new leader's first.
    let staleWrites = 0;
    if (signal === 'SIGSTOP') {
      a.proc.kill('SIGCONT');
      await new Promise((r) => setTimeout(r, 3000));
      staleWrites = logOf(emu).filter(
        (e) => e.client === 'a' && e.mutating && e.at >= w.at && !e.action.endsWith(':leases'),
      ).length;
    }
    feeding = false;
    await feed;
    return {
      signal,
      lease: `${lease[0]}s/${lease[1]}s/${lease[2]}s`,
      'to new leader s': ((elected - t0) / 1000).toFixed(2),
      'to its first write s': ((w.at - t0) / 1000).toFixed(2),
      'old leader writes after': signal === 'SIGSTOP' ? staleWrites : '-',
    };
  } finally {
    feeding = false;
    await stop(a);
    if (b) await stop(b);
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function logOf(emu: RunningKubeEmulator): RequestLogEntry[] {
  return emu.counters.snapshot().log;
}

/** ms from each Node's creation to the moment its NetworkUnavailable turned False, seen in the emulator. */
function networkReadyTimes(emu: RunningKubeEmulator) {
  const created = new Map<string, number>();
  const ready = new Map<string, number>();
  const off = emu.store.subscribe((c) => {
    if (c.resource.plural !== 'nodes') return;
    const o = c.obj as {
      metadata?: { name?: string };
      status?: { conditions?: Array<{ type?: string; status?: string }> };
    };
    const name = o.metadata?.name as string;
    if (c.type === 'ADDED') created.set(name, performance.now());
    const nu = o.status?.conditions?.find((x) => x.type === 'NetworkUnavailable');
    if (nu?.status === 'False' && !ready.has(name)) ready.set(name, performance.now());
  });
  return {
    latencies: (names: string[]) => names.map((n) => (ready.get(n) ?? Number.NaN) - (created.get(n) ?? Number.NaN)),
    done: (names: string[]) => names.every((n) => ready.has(n)),
    off,
  };
}

/**
 * Node created → NetworkUnavailable=False on one cloud: n Nodes one by one, then n in one burst. The cloud
 * emulator plays its realistic profile `timeScale`× faster, the provider waits in its time, and the
 * controller's debounce (2 s) and interval (60 s) are divided by the same factor, so every figure is in
 * cloud time (real ms × timeScale).
 */
export async function nodeToNetworkReady(
  kind: ProviderKind,
  n: number,
  timeScale: number,
): Promise<Array<Record<string, string | number>>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-k8s-nu-'));
  const kube = await startKubeEmulator({ tokens: ['ctl'] });
  const kc = join(dir, 'kubeconfig');
  writeFileSync(kc, kube.kubeconfig({ token: 'ctl', namespace: 'routesync' }));
  const cloud = await startBenchCloud(kind, {
    instances: 0,
    timeScale,
    config: {
      clusterCIDR: '172.16.0.0/12',
      subnetLen: 24,
      inventory: { source: 'kubernetes' },
      store: { type: 'kubernetes' },
      kubernetes: { kubeconfig: kc },
      reconcile: {
        debounce: `${Math.max(1, Math.round(2000 / timeScale))}ms`,
        interval: `${Math.max(1, Math.round(60 / timeScale))}s`,
      },
    },
  });
  await fetch(`${cloud.emu.url}/_emulator/quota`, { method: 'POST', body: JSON.stringify({ limit: 4 * n + 100 }) });
  const seen = networkReadyTimes(kube);
  const { config, provider } = cloud;
  const { store, leadership } = await openStore(config, { logger: silentLogger });
  const inventory = await openInventory(config, provider, { logger: silentLogger });
  const nodeWatch = (inventory as { nodeWatch?: { allNodes(): Iterable<never> } }).nodeWatch;
  (store as { useNodes?: (f: () => Iterable<never>) => void }).useNodes?.(() => nodeWatch?.allNodes() ?? []);
  const reporter = await openNodeReporter({ inventory, leadership }, { logger: silentLogger, instance: 'bench' });
  const controller = new Controller({
    config,
    provider,
    inventory,
    store,
    leadership,
    logger: silentLogger,
    clock: systemClock,
    ...(reporter ? { reporter } : {}),
  });
  const stop = new AbortController();
  const running = controller.run(stop.signal);
  const tables = (await provider.routeTables()).length;
  /** Adds `count` VMs to the cloud and their Nodes to the cluster, as a cloud-provider would register them. */
  const add = async (prefix: string, count: number): Promise<string[]> => {
    const r = await fetch(`${cloud.emu.url}/_emulator/instances`, { method: 'POST', body: JSON.stringify({ count }) });
    const vms = ((await r.json()) as { instances: Array<{ id: string; zone: string; privateIp: string }> }).instances;
    const nodes = vms.map((vm, i) => ({
      name: `${prefix}-${i}`,
      providerID: providerIdFor(kind, vm, CLOUD_EMULATOR_TOPOLOGY),
      internalIP: vm.privateIp,
      zone: vm.zone,
    }));
    await admin(kube, 'nodes', { nodes });
    return nodes.map((x) => x.name);
  };
  try {
    await until('leading', () => controller.currentState === 'leading', 60_000);
    const one: string[] = [];
    for (let i = 0; i < n; i++) {
      const [name] = await add(`one${i}`, 1);
      one.push(name as string);
      await until('NetworkUnavailable=False', () => seen.done([name as string]), 600_000);
    }
    const burst = await add('burst', n);
    await until('NetworkUnavailable=False', () => seen.done(burst), 1_800_000);
    const row = (how: string, names: string[], vms: number) => {
      const real = seen.latencies(names);
      const l = real.map((ms) => (ms * timeScale) / 1000);
      const floor = bound(kind, vms, tables);
      return {
        cloud: kind,
        nodes: n,
        added: how,
        'p50 s': pct(l, 50).toFixed(1),
        'p99 s': pct(l, 99).toFixed(1),
        'max s': Math.max(...l).toFixed(1),
        // Real time: what the controller's own work costs is not scaled, so it weighs timeScale× in the rows.
        'p50 real ms': Math.round(pct(real, 50)),
        'floor s': floor.seconds.toFixed(1),
        'floor limited by': floor.limitedBy,
      };
    };
    return [row('one by one', one, 1), row('one burst', burst, n)];
  } finally {
    stop.abort();
    await running.catch(() => undefined);
    seen.off();
    await reporter?.close();
    await inventory.close?.();
    await store.close();
    await cloud.close();
    await kube.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const f = benchFlags('kubernetes', 'node bench/kubernetes.ts: Kubernetes-mode figures (issue 14)', {
    nodes: { default: 100, read: int(1, 5000), help: 'Nodes added one by one, then in one burst' },
    restNodes: { default: 1000, read: int(1, 20000), help: 'Nodes at rest' },
    clouds: { default: [...PROVIDER_KINDS], read: clouds, help: 'clouds for Node created → NetworkUnavailable=False' },
    timeScale: {
      default: 10,
      read: num(0, undefined, true),
      help: 'emulated ms per real ms (NetworkUnavailable rows)',
    },
    only: {
      default: 'all',
      read: oneOf(['all', 'network-ready', 'podcidr', 'rest', 'failover']),
      help: 'network-ready, podcidr, rest, failover or all',
    },
  });
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const want = (x: string) => f.only === 'all' || f.only === x;
  if (want('network-ready')) {
    out(`## Node created → NetworkUnavailable=False (cloud time, emulators ×${f.timeScale})`);
    for (const kind of f.clouds) out(table(await nodeToNetworkReady(kind, f.nodes, f.timeScale)));
  }
  if (want('podcidr')) {
    out('\n## Node created → spec.podCIDR written');
    out(table(await nodeToPodCidr(f.nodes)));
  }
  if (want('rest')) {
    out('\n## At rest');
    out(table(await atRest(f.restNodes)));
  }
  if (want('failover')) {
    out('\n## Lease failover');
    const rows = [];
    for (const s of ['SIGKILL', 'SIGSTOP'] as const) rows.push(await failover(s, [15, 10, 2]));
    out(table(rows));
  }
}
