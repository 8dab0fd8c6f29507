// What the chaos run stands on: a real etcd, one emulated cloud whose every answered request is logged
// with real time and its client, and the `routesync run` processes under test (a distinct dummy access
// key each, so the emulator attributes every request to its sender).
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { RequestLogEntry } from '../../emulators/shared/counters.ts';
import { startEmulator, type RunningEmulator } from '../../emulators/shared/server.ts';
import { EMULATORS } from '../../emulators/clouds.ts';
import type { ProviderKind } from '../../providers/plugins.ts';
import { spawnRun } from '../../testkit/cli.ts';
import { emulatorConfigDoc, scaledPacing } from '../../testkit/clouds.ts';
import { startEtcd, type EtcdServer } from '../../testkit/etcd.ts';
import type { EmuState, LoggedRequest } from './invariants.ts';

export const CLUSTER = 'chaos';
export const TAG = { key: 'routesync-cluster', value: CLUSTER };
export const PREFIX = '/routesync';
export const CLUSTER_CIDR = '172.16.0.0/16';
export const SUBNET_LEN = 24;
export const INTERVAL_MS = 3000;
export const RELEASE_AFTER_MS = 6000;
export const ELECTION_TTL = '2s';
export const ELECTION_TTL_MS = 2000;

export interface Controller {
  client: string;
  /** The identity its election key carries: `<hostname>/<pid>`. */
  identity: string;
  child: ChildProcess;
}

export interface RigOptions {
  provider: ProviderKind;
  vms: number;
  seed: number;
  timeScale: number;
  routeQuota: number;
  /** Config file and controller logs. */
  dir: string;
}

export class ChaosRig {
  /** Every request the emulator served, stamped with real time as it was logged (the log's own `at` is emulated time). */
  readonly log: LoggedRequest[] = [];
  readonly controllers: Controller[] = [];
  readonly dead: Controller[] = [];
  readonly etcd: EtcdServer;
  readonly emu: RunningEmulator;
  private readonly writes = new Map<string, number>();
  private readonly configFile: string;
  private readonly dir: string;
  private spawned = 0;
  private readonly onExit = () => {
    for (const c of this.controllers) {
      c.child.kill('SIGCONT');
      c.child.kill('SIGKILL');
    }
  };

  private constructor(etcd: EtcdServer, emu: RunningEmulator, o: RigOptions) {
    this.etcd = etcd;
    this.emu = emu;
    this.dir = o.dir;
    this.configFile = join(o.dir, 'routesync.yaml');
    // Tapping the counters in-process also proves the log is complete: no ring-buffer loss.
    const counters = emu.counters;
    const record = counters.record.bind(counters);
    counters.record = (entry: RequestLogEntry) => {
      record(entry);
      const now = Date.now();
      // The emulator's own stamps are emulated ms: how long it held the request, in real ms.
      const heldMs = entry.receivedAt === undefined ? 0 : (entry.at - entry.receivedAt) / o.timeScale;
      this.log.push({
        at: now,
        arrivedAt: now - heldMs,
        client: entry.client,
        action: entry.action,
        outcome: entry.outcome,
        mutating: entry.mutating,
      });
      if (entry.mutating) this.writes.set(entry.client, this.writesOf(entry.client) + 1);
    };
    const doc = emulatorConfigDoc(o.provider, emu.url, {
      cluster: CLUSTER,
      clusterCIDR: CLUSTER_CIDR,
      subnetLen: SUBNET_LEN,
      // The children pace AWS writes in real time; the ×timeScale emulator refills its buckets that much faster.
      provider: { instanceFilter: `${TAG.key}=${TAG.value}`, concurrency: 4, ...scaledPacing(o.provider, o.timeScale) },
      store: { type: 'etcd', endpoints: etcd.endpoints, prefix: PREFIX, electionTTL: ELECTION_TTL },
      reconcile: {
        interval: `${INTERVAL_MS}ms`,
        debounce: '200ms',
        releaseAfter: `${RELEASE_AFTER_MS}ms`,
        reuseAfter: '12s',
      },
      metrics: { listen: '127.0.0.1:0' },
      log: { level: 'info' },
    });
    writeFileSync(this.configFile, stringify(doc));
    process.once('exit', this.onExit);
  }

  static async start(o: RigOptions): Promise<ChaosRig> {
    const etcd = await startEtcd();
    try {
      const emu = await startEmulator(EMULATORS[o.provider], {
        profile: 'realistic',
        timeScale: o.timeScale,
        instances: o.vms,
        instanceTag: TAG,
        seed: o.seed,
        routeQuota: o.routeQuota,
        timeoutFaultMs: 500,
      });
      return new ChaosRig(etcd, emu, o);
    } catch (e) {
      await etcd.stop({ keepData: false }).catch(() => undefined);
      throw e;
    }
  }

  get processes(): number {
    return this.spawned;
  }

  writesOf(client: string): number {
    return this.writes.get(client) ?? 0;
  }

  async admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const r = await fetch(`${this.emu.url}/_emulator/${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: r.status, json: await r.json() };
  }

  async state(): Promise<EmuState> {
    return (await this.admin('GET', 'state')).json as EmuState;
  }

  spawnController(): Controller {
    const client = `chaos-ctl-${++this.spawned}`;
    const child = spawnRun(this.configFile, client, { stderr: join(this.dir, `${client}.log`) });
    const c = { client, identity: `${hostname()}/${child.pid}`, child };
    this.controllers.push(c);
    return c;
  }

  /** SIGSTOP: the process keeps its sockets and timers but runs nothing until resume(). */
  pause(c: Controller): void {
    c.child.kill('SIGSTOP');
  }

  resume(c: Controller): void {
    c.child.kill('SIGCONT');
  }

  kill(victim: Controller): void {
    victim.child.kill('SIGKILL');
    this.controllers.splice(this.controllers.indexOf(victim), 1);
    this.dead.push(victim);
  }

  identities(): Record<string, string> {
    return Object.fromEntries([...this.controllers, ...this.dead].map((c) => [c.client, c.identity]));
  }

  async close(): Promise<void> {
    await Promise.all(this.controllers.map((c) => stopChild(c.child)));
    await this.emu.close().catch(() => undefined);
    await this.etcd.stop({ keepData: false }).catch(() => undefined);
    process.removeListener('exit', this.onExit);
  }
}

/** SIGTERM (clean resign), SIGKILL after 3 s. */
function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    // A paused child (the SIGSTOP act, cut short) only sees the SIGTERM once resumed.
    child.kill('SIGCONT');
    child.kill('SIGTERM');
  });
}
