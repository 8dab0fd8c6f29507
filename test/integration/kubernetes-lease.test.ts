// Lease leadership (src/kubernetes/lease.ts) against the Kubernetes API emulator:
// - the Lease record as client-go writes it (MicroTime, duration, transitions), renewals, resign = release;
// - I1/I4 with two contenders racing on one API server: each behind its own TCP proxy that the test cuts
//   (a partitioned leader, both partitioned and healed at once so that both go for the expired Lease);
//   from the server's request log, no write of a contender arrives after another took the Lease over;
// - a leader SIGSTOPped for longer than the lease, then resumed, writes nothing (its own process).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeconfigFor } from '../../emulators/kubernetes/kubeconfig.ts';
import { findResource } from '../../emulators/kubernetes/resources.ts';
import { startKubeEmulator, type RunningKubeEmulator } from '../../emulators/kubernetes/server.ts';
import type { RequestLogEntry } from '../../emulators/shared/counters.ts';
import { silentLogger } from '../../src/log.ts';
import { openKubeClient, type KubeClient } from '../../src/kubernetes/client.ts';
import { checkLeaseTimings, LeaseLeadership } from '../../src/kubernetes/lease.ts';
import { fenceKubeWrites, leasePaths } from '../../src/kubernetes/wire-fence.ts';
import { until } from '../../testkit/wait.ts';

const NS = 'routesync';
const CHILD = fileURLToPath(new URL('./kubernetes-lease-child.ts', import.meta.url));
let emu: RunningKubeEmulator;
let dir: string;

beforeAll(async () => {
  emu = await startKubeEmulator({ seed: 7 });
  dir = mkdtempSync(join(tmpdir(), 'k8s-lease-'));
});
afterAll(async () => {
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function client(token: string, server = emu.url): Promise<KubeClient> {
  const path = join(dir, `${token}.kubeconfig`);
  writeFileSync(path, kubeconfigFor(server, { token }));
  return openKubeClient({ kubeconfig: path, env: {} });
}

async function configMap(name: string): Promise<void> {
  const k = await client('setup');
  await k.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name }, data: {} } });
}

/**
 * A TCP proxy to the emulator that plays a network partition: `cut` drops every connection and refuses new
 * ones; `hold` also drops the open ones but keeps new ones waiting, their bytes buffered, until `open` lets
 * them all through at once (so two contenders' requests reach the server together).
 */
class Partition {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly waiting: Array<() => void> = [];
  private mode: 'open' | 'cut' | 'hold' = 'open';
  private readonly target: number;
  constructor(target: number) {
    this.target = target;
    this.server = createServer((s) => this.accept(s));
  }
  private accept(s: Socket): void {
    if (this.mode === 'cut') return void s.destroy();
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
    const buffered: Buffer[] = [];
    const onData = (d: Buffer) => buffered.push(d);
    s.on('data', onData);
    const forward = () => {
      if (s.destroyed) return;
      const up = connect(this.target, '127.0.0.1');
      this.sockets.add(up);
      up.on('close', () => this.sockets.delete(up));
      up.on('error', () => s.destroy());
      s.off('data', onData);
      for (const d of buffered) up.write(d);
      s.pipe(up).pipe(s);
    };
    if (this.mode === 'hold') this.waiting.push(forward);
    else forward();
  }
  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }
  set(mode: 'open' | 'cut' | 'hold'): void {
    if (mode !== 'open' && this.mode === 'open') for (const s of this.sockets) s.destroy();
    this.mode = mode;
    if (mode === 'open') for (const f of this.waiting.splice(0)) f();
  }
  async close(): Promise<void> {
    this.set('cut');
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/**
 * Server-side I4: for every write (a mutating request that is not on the Lease) by X, the last successful
 * Lease write the server took before it was X's. A takeover by Y changes the resourceVersion, so X's later
 * renewal cannot succeed: a write of X after Y's takeover has Y's Lease write before it.
 */
function writesAfterTakeover(log: RequestLogEntry[]): RequestLogEntry[] {
  let holder: string | undefined;
  const bad: RequestLogEntry[] = [];
  for (const e of log) {
    if (!e.mutating || e.outcome !== 'ok') continue;
    if (e.action === 'update:leases' || e.action === 'create:leases') holder = e.client;
    else if (e.client !== holder) bad.push(e);
  }
  return bad;
}

describe('Lease leadership', () => {
  it('checks its timings as client-go does', () => {
    expect(() =>
      checkLeaseTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }),
    ).not.toThrow();
    expect(() => checkLeaseTimings({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).toThrow(
      /^lease\.duration: must be more than renewDeadline/,
    );
    expect(() => checkLeaseTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(
      /^lease\.renewDeadline: /,
    );
    expect(() => checkLeaseTimings({ leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 200 })).toThrow(
      /^lease\.duration: whole seconds/,
    );
  });

  it('acquires, renews, and hands over at once on resign', async () => {
    const a = new LeaseLeadership({
      kube: await client('solo-a'),
      namespace: NS,
      name: 'solo',
      identity: 'a',
      leaseDurationMs: 3_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 200,
      logger: silentLogger,
    });
    const b = new LeaseLeadership({
      kube: await client('solo-b'),
      namespace: NS,
      name: 'solo',
      identity: 'b',
      leaseDurationMs: 3_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 200,
      logger: silentLogger,
    });
    try {
      await a.campaign(new AbortController().signal);
      expect(a.isLeader()).toBe(true);
      expect(() => a.checkNow()).not.toThrow();
      await a.fence();
      expect(await b.leader()).toBe('a');
      const rec = emu.store
        .list(findResource('coordination.k8s.io', 'v1', 'leases')!)
        .find((l) => (l.metadata as { name: string }).name === 'solo') as {
        spec: Record<string, unknown>;
      };
      expect(rec.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 3, leaseTransitions: 0 });
      expect(rec.spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      // b waits while a renews: well past the lease duration it still has not taken it.
      const bTook = b.campaign(AbortSignal.timeout(4_000)).then(
        () => true,
        () => false,
      );
      expect(await bTook).toBe(false);
      expect(a.isLeader()).toBe(true);
      const renewed = emu.counters.snapshot().byClient['solo-a']?.['update:leases']?.ok ?? 0;
      expect(renewed).toBeGreaterThan(5);
      // Resign releases the Lease: b takes it without waiting the lease out.
      await a.resign();
      expect(() => a.checkNow()).toThrow(/not the leader/);
      const released = emu.store
        .list(findResource('coordination.k8s.io', 'v1', 'leases')!)
        .find((l) => (l.metadata as { name: string }).name === 'solo') as { spec: Record<string, unknown> };
      expect(released.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
      await b.campaign(AbortSignal.timeout(10_000));
      expect(await a.leader()).toBe('b');
      await expect(a.fence()).rejects.toThrow(/not the leader/);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('I1/I4: two contenders, partitions and simultaneous heals; never a write after a takeover', async () => {
    await configMap('race');
    const proxies = [new Partition(emu.port), new Partition(emu.port)];
    const urls = await Promise.all(proxies.map((p) => p.start()));
    const tokens = ['race-a', 'race-b'];
    const kubes = await Promise.all(tokens.map((t, i) => client(t, urls[i])));
    const leases = kubes.map(
      (kube, i) =>
        new LeaseLeadership({
          kube,
          namespace: NS,
          name: 'race',
          identity: tokens[i] as string,
          leaseDurationMs: 1_000,
          renewDeadlineMs: 700,
          retryPeriodMs: 100,
          logger: silentLogger,
        }),
    );
    const gates = leases.map((l, i) => fenceKubeWrites(urls[i] as string, () => l.checkNow(), leasePaths(NS, 'race')));
    const stop = new AbortController();
    const led = [0, 0];
    const loops = leases.map(async (l, i) => {
      const kube = kubes[i] as KubeClient;
      let n = 0;
      while (!stop.signal.aborted) {
        if (!l.isLeader()) {
          await l.campaign(stop.signal).catch(() => undefined);
          if (l.isLeader()) led[i]!++;
          continue;
        }
        try {
          l.checkNow();
          await kube.core.patchNamespacedConfigMap(
            { namespace: NS, name: 'race', body: { data: { writer: tokens[i] as string, n: String(++n) } } },
            kube.options({ contentType: 'application/merge-patch+json', timeoutMs: 500 }),
          );
        } catch {
          // refused by the fence, or cut by the partition: the next round campaigns or retries
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    try {
      emu.counters.reset();
      const leader = () => leases.findIndex((l) => l.isLeader());
      for (let round = 0; round < 8; round++) {
        const cur = await until('a leader', () => (leader() >= 0 ? leader() : undefined), 10_000);
        await new Promise((r) => setTimeout(r, 150));
        if (round % 2 === 0) {
          // The leader alone is partitioned: the other takes over once the lease has run out.
          proxies[cur]!.set('cut');
          await until('the takeover', () => leases[1 - cur]!.isLeader(), 10_000);
          proxies[cur]!.set('open');
        } else {
          // Both held past the lease, then let through together: both go for the expired Lease.
          for (const p of proxies) p.set('hold');
          await new Promise((r) => setTimeout(r, 1_400));
          for (const p of proxies) p.set('open');
        }
      }
      await until('a leader', () => leader() >= 0, 10_000);
    } finally {
      stop.abort();
      await Promise.all(loops);
      for (const g of gates) g.close();
      await Promise.all(leases.map((l) => l.close()));
      await Promise.all(proxies.map((p) => p.close()));
    }
    const snap = emu.counters.snapshot();
    const writes = snap.log.filter((e) => e.action === 'patch:configmaps' && e.outcome === 'ok');
    // The scenario happened: both led, both wrote, and both went for the same Lease at least once.
    expect(led[0]).toBeGreaterThan(0);
    expect(led[1]).toBeGreaterThan(0);
    expect(new Set(writes.map((w) => w.client))).toEqual(new Set(tokens));
    const conflicts = snap.log.filter((e) => e.action === 'update:leases' && e.outcome === 'Conflict').length;
    expect(conflicts).toBeGreaterThan(0);
    expect(writesAfterTakeover(snap.log)).toEqual([]);
  }, 90_000);

  it('a leader paused past its lease writes nothing once resumed', async () => {
    await configMap('paused');
    emu.counters.reset();
    const kc = join(dir, 'child.kubeconfig');
    writeFileSync(kc, kubeconfigFor(emu.url, { token: 'child-a' }));
    const events: Array<{ event: string }> = [];
    const child: ChildProcess = spawn(process.execPath, [CHILD, kc, 'child-a', '3000', '2000', '300', NS, 'paused'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    createInterface({ input: child.stdout! }).on('line', (l) => events.push(JSON.parse(l) as { event: string }));
    const standby = new LeaseLeadership({
      kube: await client('standby-b'),
      namespace: NS,
      name: 'routesync',
      identity: 'standby-b',
      leaseDurationMs: 3_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 300,
      logger: silentLogger,
    });
    try {
      await until('the child to lead and write', () => events.some((e) => e.event === 'wrote'), 20_000);
      child.kill('SIGSTOP');
      await standby.campaign(AbortSignal.timeout(15_000));
      const b = await client('standby-b');
      await standby.fence();
      await b.core.patchNamespacedConfigMap(
        { namespace: NS, name: 'paused', body: { data: { writer: 'standby-b' } } },
        b.options({ contentType: 'application/merge-patch+json' }),
      );
      // Paused for well over the lease before it runs again.
      await new Promise((r) => setTimeout(r, 4_000));
      const before = events.length;
      child.kill('SIGCONT');
      await until('the resumed child to notice', () => events.slice(before).some((e) => e.event === 'lost'), 10_000);
      await new Promise((r) => setTimeout(r, 1_000));
      // A write the child sent before the stop may reach the server a moment later; what must not be there
      // is any write of the child after the standby's takeover.
      const log = emu.counters.snapshot().log;
      const takeover = log.findIndex(
        (e) => e.client === 'standby-b' && e.outcome === 'ok' && /^(update|create):leases$/.test(e.action),
      );
      expect(takeover).toBeGreaterThan(0);
      const childWrites = log
        .slice(takeover)
        .filter((e) => e.client === 'child-a' && e.mutating && !e.action.endsWith(':leases') && e.outcome === 'ok');
      expect(childWrites, JSON.stringify(events)).toEqual([]);
      // A write in flight at the SIGSTOP may be answered after the SIGCONT (the server took it before the
      // stop, see above); from the moment the child learns it lost, it writes nothing.
      const lost = events.findIndex((e, i) => i >= before && e.event === 'lost');
      expect(events.slice(lost).filter((e) => e.event === 'wrote')).toEqual([]);
      expect(writesAfterTakeover(emu.counters.snapshot().log)).toEqual([]);
    } finally {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await standby.close();
    }
  }, 60_000);
});
