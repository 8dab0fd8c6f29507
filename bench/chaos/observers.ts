// What the chaos run watches while it runs: who etcd says leads (polled every 200 ms, for I4) and the
// emulator's tables (every second, for I2 and I5), plus the allocations as etcd holds them (I1).
import { Etcd3 } from 'etcd3';
import { noop } from 'cockatiel';
import {
  parseEtcdAllocations,
  quotaSamples,
  type CloudActions,
  type EmuState,
  type EtcdAllocations,
  type LeaderSample,
  type QuotaSample,
} from './invariants.ts';
import { CLUSTER, PREFIX, type ChaosRig, type Controller } from './rig.ts';

const LEADER_POLL_MS = 200;
/** A leader poll answered slower than this is not trusted to say who led at its midpoint. */
const LEADER_POLL_TRUST_MS = 250;
const STATE_POLL_MS = 1000;
const BASE = `${PREFIX}/${CLUSTER}/`;

export class Observers {
  readonly leaderSamples: LeaderSample[] = [];
  readonly snapshots: Array<{ at: number; state: EmuState }> = [];
  readonly quota: QuotaSample[] = [];
  private readonly rig: ChaosRig;
  private readonly actions: CloudActions;
  private readonly tables: readonly string[];
  private readonly etcd: Etcd3;
  private observing = true;
  private readonly loops: Array<Promise<void>>;

  constructor(rig: ChaosRig, actions: CloudActions, tables: readonly string[]) {
    this.rig = rig;
    this.actions = actions;
    this.tables = tables;
    // An instrument, not a client under test: etcd3's default circuit breaker opens after three slow answers
    // (the leader poll's 250 ms deadline on a loaded machine) and then refuses every call for 5 s, which
    // aborted whole chaos runs at the final allocation read. Each call here stands alone.
    this.etcd = new Etcd3({ hosts: rig.etcd.endpoints, faultHandling: { host: () => noop, global: noop } });
    this.loops = [this.leaderLoop(), this.stateLoop()];
  }

  private async leaderLoop(): Promise<void> {
    while (this.observing) {
      const a = Date.now();
      try {
        const kv = await this.etcd
          .getAll()
          .prefix(`${BASE}election/leader/`)
          .sort('Create', 'Ascend')
          .limit(1)
          .options({ deadline: a + LEADER_POLL_TRUST_MS })
          .strings();
        const b = Date.now();
        const leader = Object.values(kv)[0] ?? null;
        this.leaderSamples.push(
          b - a <= LEADER_POLL_TRUST_MS
            ? { at: (a + b) / 2, leader }
            : { at: (a + b) / 2, error: `slow answer (${b - a} ms)` },
        );
      } catch (err) {
        this.leaderSamples.push({ at: Date.now(), error: (err as Error).message.split('\n')[0] as string });
      }
      await new Promise((r) => setTimeout(r, LEADER_POLL_MS));
    }
  }

  private async stateLoop(): Promise<void> {
    while (this.observing) {
      await this.sample().catch(() => undefined);
      await new Promise((r) => setTimeout(r, STATE_POLL_MS));
    }
  }

  /** One snapshot of the emulator's state, kept for I2 and I5. */
  async sample(): Promise<EmuState> {
    const at = Date.now();
    const s = await this.rig.state();
    this.snapshots.push({ at, state: s });
    this.quota.push(...quotaSamples(at, s, this.actions, this.tables));
    return s;
  }

  /** The controller named leader by an answer less than a second old. */
  currentLeader(): Controller | undefined {
    const last = this.leaderSamples[this.leaderSamples.length - 1];
    if (!last || last.error !== undefined || Date.now() - last.at > 1000) return undefined;
    return this.rig.controllers.find((c) => c.identity === last.leader);
  }

  async allocations(): Promise<EtcdAllocations> {
    return parseEtcdAllocations(await this.etcd.getAll().prefix(BASE).strings(), BASE);
  }

  async stop(): Promise<void> {
    this.observing = false;
    await Promise.all(this.loops);
  }

  async close(): Promise<void> {
    await this.stop();
    this.etcd.close();
  }
}
