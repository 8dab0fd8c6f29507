// Leadership by a coordination.k8s.io/v1 Lease, the way client-go's leaderelection does it, behind the same
// Leadership shape the etcd election has (src/store/types.ts), so the controller's fencing is unchanged:
// - acquire: a Lease held by another is taken only once its record has not changed for leaseDuration as
//   measured here, from when we observed it (never from its renewTime: the clocks of two hosts differ);
// - every write is an update carrying the resourceVersion we read (optimistic concurrency): of two
//   contenders racing for an expired Lease one gets 409 Conflict and re-reads; that is what gives I1;
// - renew every retryPeriod; a leader that could not renew for renewDeadline steps down;
// - the local deadline (checkNow) is on the monotonic clock and counts from the moment the last successful
//   renewal was *sent*: no other contender can take the Lease before that moment + leaseDuration, and we
//   stop writing at + renewDeadline. A process paused (SIGSTOP) for longer than the lease finds the deadline
//   passed the moment it runs again, before it sends anything.
import { randomBytes } from 'node:crypto';
import type { V1Lease } from '@kubernetes/client-node';
import { defaultIdentity, LeadershipLostError } from '../store/leadership.ts';
import { systemClock, type Clock } from '../lib/clock.ts';
import type { Logger } from '../log.ts';
import type { Leadership } from '../store/types.ts';
import { apiCode, apiMessage, type KubeClient } from './client.ts';

/** client-go's defaults (leaderelection.LeaderElectionConfig as kube-controller-manager sets them). */
export const LEASE_DEFAULTS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } as const;
/** client-go's JitterFactor: the renew deadline must leave room for a jittered retry. */
const JITTER = 1.2;

export interface LeaseLeadershipOptions {
  kube: Pick<KubeClient, 'coordination' | 'options'>;
  namespace: string;
  /** The Lease's name, e.g. `routesync-<cluster>`. */
  name: string;
  /** Unique per process: a restarted process must not mistake its predecessor's Lease for its own. */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: Logger;
  clock?: Clock;
}

/** Lease times are metav1.MicroTime: the API server parses exactly six fractional digits. */
class MicroTime extends Date {
  override toISOString(): string {
    return `${super.toISOString().slice(0, -1)}000Z`;
  }
}

/** client-node types MicroTime as a Date but hands back the wire's string: either, as text. */
function timeText(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  return typeof v === 'string' ? v : '';
}

/** Checks the timings as client-go's NewLeaderElector does; throws naming the field. */
export function checkLeaseTimings(t: {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}): void {
  if (!(t.retryPeriodMs > 0)) throw new Error(`lease.retryPeriod: must be positive (got ${t.retryPeriodMs} ms)`);
  if (!(t.renewDeadlineMs > JITTER * t.retryPeriodMs))
    throw new Error(
      `lease.renewDeadline: must be more than ${JITTER} × retryPeriod (${t.renewDeadlineMs} ms ≤ ${JITTER * t.retryPeriodMs} ms)`,
    );
  if (!(t.leaseDurationMs > t.renewDeadlineMs))
    throw new Error(
      `lease.duration: must be more than renewDeadline (${t.leaseDurationMs} ms ≤ ${t.renewDeadlineMs} ms)`,
    );
  if (t.leaseDurationMs % 1000 !== 0)
    throw new Error(`lease.duration: whole seconds only, as the Lease stores it (got ${t.leaseDurationMs} ms)`);
}

type Attempt = 'ours' | 'held' | 'conflict';

export class LeaseLeadership implements Leadership {
  private readonly o: LeaseLeadershipOptions;
  private readonly identity: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly requestTimeoutMs: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private held = false;
  /** Monotonic time the last successful acquire/renew request was sent. */
  private renewedAt = Number.NEGATIVE_INFINITY;
  /** The Lease record as last seen (holder, renewTime, resourceVersion) and when it was first seen so. */
  private observedKey = '';
  private observedAt = Number.NEGATIVE_INFINITY;
  private renewing: AbortController | undefined;
  private readonly lostCbs: Array<() => void> = [];
  /** Resource version of our last write. */
  private myRv: string | undefined;
  /** The Lease as our last write left it: a renewal updates it without reading it first. */
  private mine: V1Lease | undefined;
  /** The renewal in flight, if any: resign() waits for it. */
  private inflight: Promise<unknown> = Promise.resolve();

  constructor(o: LeaseLeadershipOptions) {
    this.o = o;
    this.identity = o.identity ?? `${defaultIdentity()}_${randomBytes(4).toString('hex')}`;
    this.leaseDurationMs = o.leaseDurationMs ?? LEASE_DEFAULTS.leaseDurationMs;
    this.renewDeadlineMs = o.renewDeadlineMs ?? LEASE_DEFAULTS.renewDeadlineMs;
    this.retryPeriodMs = o.retryPeriodMs ?? LEASE_DEFAULTS.retryPeriodMs;
    checkLeaseTimings({
      leaseDurationMs: this.leaseDurationMs,
      renewDeadlineMs: this.renewDeadlineMs,
      retryPeriodMs: this.retryPeriodMs,
    });
    // One request may not use up the renew deadline on its own.
    this.requestTimeoutMs = Math.max(500, Math.min(this.retryPeriodMs, this.renewDeadlineMs / 3));
    this.clock = o.clock ?? systemClock;
    this.logger = o.logger.child({ lease: `${o.namespace}/${o.name}`, identity: this.identity });
  }

  get holderIdentity(): string {
    return this.identity;
  }

  private opts() {
    return this.o.kube.options({ timeoutMs: this.requestTimeoutMs });
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      return await this.o.kube.coordination.readNamespacedLease(
        { namespace: this.o.namespace, name: this.o.name },
        this.opts(),
      );
    } catch (e) {
      if (apiCode(e) === 404) return undefined;
      throw e;
    }
  }

  private spec(holder: string, prev: V1Lease['spec'] | undefined, ours: boolean): NonNullable<V1Lease['spec']> {
    const now = new MicroTime(this.clock.now());
    return {
      holderIdentity: holder,
      leaseDurationSeconds: this.leaseDurationMs / 1000,
      acquireTime:
        ours && Date.parse(timeText(prev?.acquireTime)) ? new MicroTime(Date.parse(timeText(prev?.acquireTime))) : now,
      renewTime: now,
      leaseTransitions: (prev?.leaseTransitions ?? 0) + (ours || prev === undefined ? 0 : 1),
    };
  }

  /** One acquire-or-renew round: client-go's tryAcquireOrRenew. */
  private async attempt(): Promise<Attempt> {
    const lease = await this.read();
    if (!lease) {
      const sentAt = this.clock.monotonic();
      try {
        const made = await this.o.kube.coordination.createNamespacedLease(
          {
            namespace: this.o.namespace,
            body: { metadata: { name: this.o.name }, spec: this.spec(this.identity, undefined, false) },
          },
          this.opts(),
        );
        this.ours(made, sentAt);
        return 'ours';
      } catch (e) {
        if (apiCode(e) === 409) return 'conflict';
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const key = `${holder}|${timeText(spec.renewTime)}|${lease.metadata?.resourceVersion ?? ''}`;
    if (key !== this.observedKey) {
      this.observedKey = key;
      this.observedAt = this.clock.monotonic();
    }
    const theirs = (spec.leaseDurationSeconds ?? this.leaseDurationMs / 1000) * 1000;
    const mine = holder === this.identity;
    if (holder !== '' && !mine && this.clock.monotonic() < this.observedAt + theirs) return 'held';
    const sentAt = this.clock.monotonic();
    try {
      const updated = await this.o.kube.coordination.replaceNamespacedLease(
        {
          namespace: this.o.namespace,
          name: this.o.name,
          body: { metadata: { ...lease.metadata }, spec: this.spec(this.identity, spec, mine) },
        },
        this.opts(),
      );
      this.ours(updated, sentAt);
      return 'ours';
    } catch (e) {
      if (apiCode(e) === 409) return 'conflict';
      throw e;
    }
  }

  /**
   * client-go's fast path for the leader (tryAcquireOrRenew, 1.27+): update the record we last wrote,
   * without reading it first. Its resourceVersion is the precondition, so a Lease anyone else wrote since
   * is a 409 and the full round (read, then decide) follows; undefined when there is nothing to try.
   * Halves the Lease calls of a leader at rest (one update per retryPeriod instead of a get and an update).
   */
  private async renewFast(): Promise<'ours' | undefined> {
    const last = this.mine;
    if (!last?.metadata?.resourceVersion || last.spec?.holderIdentity !== this.identity) return undefined;
    const sentAt = this.clock.monotonic();
    try {
      const updated = await this.o.kube.coordination.replaceNamespacedLease(
        {
          namespace: this.o.namespace,
          name: this.o.name,
          body: { metadata: { ...last.metadata }, spec: this.spec(this.identity, last.spec, true) },
        },
        this.opts(),
      );
      this.ours(updated, sentAt);
      return 'ours';
    } catch {
      // Conflict, refusal or no answer: the full round reads what is there and decides.
      this.mine = undefined;
      return undefined;
    }
  }

  private ours(lease: V1Lease, sentAt: number): void {
    this.renewedAt = Math.max(this.renewedAt, sentAt);
    this.mine = lease;
    this.myRv = lease.metadata?.resourceVersion;
    this.observedKey = `${this.identity}|${timeText(lease.spec?.renewTime)}|${this.myRv ?? ''}`;
    this.observedAt = this.clock.monotonic();
  }

  async campaign(signal: AbortSignal): Promise<void> {
    if (this.held) return;
    let said = false;
    for (;;) {
      if (signal.aborted) throw signal.reason;
      let r: Attempt | Error;
      try {
        r = await this.attempt();
      } catch (e) {
        r = new Error(apiMessage(e));
      }
      if (r === 'ours') break;
      if (r instanceof Error) this.logger.warn({ err: r.message }, 'lease: cannot read or take the Lease; retrying');
      else if (!said) {
        said = true;
        this.logger.info('lease held by another candidate; waiting');
      }
      // Jittered like client-go's wait.JitterUntil, so that candidates do not move in lockstep.
      await this.clock.sleep(this.retryPeriodMs * (1 + Math.random() * (JITTER - 1)), signal);
    }
    this.held = true;
    this.logger.info('elected leader (Lease acquired)');
    this.renewing = new AbortController();
    void this.renewLoop(this.renewing.signal);
  }

  private async renewLoop(signal: AbortSignal): Promise<void> {
    while (this.held && !signal.aborted) {
      try {
        await this.clock.sleep(this.retryPeriodMs, signal);
      } catch {
        return;
      }
      if (!this.held || signal.aborted) return;
      let r: Attempt | Error;
      try {
        const p = this.renewFast().then((fast) => fast ?? this.attempt());
        this.inflight = p.catch(() => undefined);
        r = await p;
      } catch (e) {
        r = new Error(apiMessage(e));
      }
      if (!this.held || signal.aborted) return;
      if (r === 'held') {
        this.loseIt('another candidate holds the Lease');
        return;
      }
      const since = this.clock.monotonic() - this.renewedAt;
      if (r !== 'ours') {
        this.logger.warn(
          { err: r instanceof Error ? r.message : 'conflict', sinceRenewMs: Math.round(since) },
          'lease: renewal failed',
        );
      }
      if (since > this.renewDeadlineMs)
        this.loseIt(`no renewal for ${Math.round(since)} ms, past the ${this.renewDeadlineMs} ms renew deadline`);
    }
  }

  isLeader(): boolean {
    return this.held;
  }

  /**
   * The local deadline, synchronous and without I/O: throws (and steps down) once the last renewal we know
   * succeeded was sent more than renewDeadline ago. Run right before each write goes on the wire.
   */
  checkNow(): void {
    if (!this.held) throw new LeadershipLostError('not the leader');
    const since = this.clock.monotonic() - this.renewedAt;
    if (since > this.renewDeadlineMs) {
      const why = `no Lease renewal for ${Math.round(since)} ms, past the ${this.renewDeadlineMs} ms renew deadline`;
      this.loseIt(why);
      throw new LeadershipLostError(`leadership lost: ${why}`);
    }
  }

  /** checkNow, then the Lease must still name us, then checkNow again (the read may have waited out a pause). */
  async fence(): Promise<void> {
    this.checkNow();
    let lease: V1Lease | undefined;
    try {
      lease = await this.read();
    } catch (e) {
      this.checkNow();
      throw new LeadershipLostError(`cannot confirm leadership, Lease unreadable: ${apiMessage(e)}`);
    }
    const holder = lease?.spec?.holderIdentity ?? '';
    if (holder !== this.identity) {
      const why = lease ? (holder ? `the Lease is held by ${holder}` : 'the Lease was released') : 'the Lease is gone';
      this.loseIt(why);
      throw new LeadershipLostError(`leadership lost: ${why}`);
    }
    this.checkNow();
  }

  private loseIt(why: string): void {
    if (!this.held) return;
    this.held = false;
    this.renewing?.abort();
    this.logger.error({ why }, 'leadership lost');
    for (const cb of this.lostCbs) {
      try {
        cb();
      } catch (e) {
        this.logger.error({ err: e }, 'onLost callback threw');
      }
    }
  }

  /** Hands over at once: the Lease is emptied (if it is still the record we wrote), so no one waits it out. */
  async resign(): Promise<void> {
    const was = this.held;
    this.held = false;
    this.renewing?.abort();
    if (!was) return;
    try {
      // A renewal may be in flight: let it land first. The update below carries the resourceVersion read
      // here, so a record someone else wrote meanwhile is never released.
      await this.inflight;
      const lease = await this.read();
      if (!lease || lease.spec?.holderIdentity !== this.identity) return;
      await this.o.kube.coordination.replaceNamespacedLease(
        {
          namespace: this.o.namespace,
          name: this.o.name,
          body: {
            metadata: { ...lease.metadata },
            spec: {
              ...this.spec('', lease.spec, true),
              leaseDurationSeconds: 1,
            },
          },
        },
        this.opts(),
      );
      this.logger.info('resigned: Lease released');
    } catch (e) {
      this.logger.warn({ err: apiMessage(e) }, 'resign: could not release the Lease; it expires on its own');
    }
  }

  async leader(): Promise<string | undefined> {
    const lease = await this.read();
    return lease?.spec?.holderIdentity || undefined;
  }

  onLost(cb: () => void): void {
    this.lostCbs.push(cb);
  }

  async close(): Promise<void> {
    await this.resign();
  }
}
