// The etcd store's leadership (I4): an etcd3 Election under `<prefix>/<cluster>/election`.
//
// Holding leadership is never assumed, it is checked before every write attempt: fence() first compares a
// local lease deadline on the monotonic clock (no I/O, so a leader resumed from a pause longer than its
// lease stops before sending anything), then reads the election in etcd (our key must be the oldest) and
// looks at the deadline again. The store's own writes are conditional too: the etcd store compares our
// election key (writeGuard()) in every write txn.
import type { Campaign, Election, Etcd3 } from 'etcd3';
import { systemClock, type Clock } from '../../lib/clock.ts';
import type { Logger } from '../../log.ts';
import { defaultIdentity, LeadershipLostError, LostCallbacks } from '../leadership.ts';
import type { Leadership } from '../types.ts';
import type { ElectionGuard } from './txn.ts';

export interface EtcdLeadershipOptions {
  client: Etcd3;
  /** `<prefix>/<cluster>/` */
  base: string;
  /** Lease TTL in ms (store.electionTTL); etcd leases count whole seconds, at least 1. */
  ttlMs: number;
  identity?: string;
  logger: Logger;
  /** Its monotonic() measures the renew deadline. */
  clock?: Clock;
}

/**
 * The share of the TTL within which a lease renewal must have been confirmed for us to write, as client-go's
 * renewDeadline (10 s) sits inside its leaseDuration (15 s). etcd3 renews every TTL/3, so one renewal may be
 * late by a third of the TTL before writes pause; the last third is the margin for round trips and a slow
 * event loop between our clock reading and etcd's.
 */
export const RENEW_DEADLINE_FRACTION = 2 / 3;

/** The part of etcd3's Lease a Campaign keeps private: its keep-alive events tell when a renewal was sent. */
interface LeaseEvents {
  on(
    event: 'keepaliveFired' | 'keepaliveEstablished' | 'keepaliveFailed' | 'keepaliveSucceeded',
    cb: () => void,
  ): unknown;
}

export class EtcdLeadership implements Leadership {
  private readonly client: Etcd3;
  private readonly election: Election;
  private readonly ttlMs: number;
  private readonly renewDeadlineMs: number;
  private readonly identity: string;
  private readonly logger: Logger;
  private readonly clock: Clock;
  /** The election's keys: `<base>election/leader/<lease id>`. */
  private readonly electionPrefix: string;
  private campaignObj: Campaign | undefined;
  private myKey: string | undefined;
  private myRevision: string | undefined;
  private held = false;
  /**
   * Monotonic time at which the latest renewal etcd confirmed was sent (the grant, before the first). etcd
   * expires the lease no sooner than TTL after it received that renewal, so until renewedAt + TTL the lease
   * is ours, whatever happened to this process in between (a SIGSTOP, a stalled event loop).
   */
  private renewedAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private readonly lost = new LostCallbacks();

  constructor(o: EtcdLeadershipOptions) {
    this.client = o.client;
    this.ttlMs = Math.max(1000, Math.ceil(o.ttlMs / 1000) * 1000);
    this.renewDeadlineMs = Math.floor(this.ttlMs * RENEW_DEADLINE_FRACTION);
    this.identity = o.identity ?? defaultIdentity();
    this.logger = o.logger;
    this.clock = o.clock ?? systemClock;
    this.election = o.client.namespace(o.base).election('leader', this.ttlMs / 1000);
    this.electionPrefix = `${o.base}election/leader/`;
  }

  private checkTimeoutMs(): number {
    return Math.min(2000, Math.max(200, this.ttlMs / 3));
  }

  /**
   * Follows the campaign's lease renewals. etcd answers a keep-alive stream's requests in order, so each
   * answer belongs to the oldest request still unanswered on that stream; a new or failed stream starts over.
   */
  private followRenewals(c: Campaign): void {
    // etcd3 does not expose a Campaign's lease; its events are the only record of when renewals were sent.
    const lease = (c as unknown as { lease: LeaseEvents }).lease;
    const sent: number[] = [];
    lease.on('keepaliveEstablished', () => (sent.length = 0));
    lease.on('keepaliveFailed', () => (sent.length = 0));
    lease.on('keepaliveFired', () => sent.push(this.clock.monotonic()));
    lease.on('keepaliveSucceeded', () => {
      const at = sent.shift();
      if (at !== undefined && c === this.campaignObj) this.renewedAt = Math.max(this.renewedAt, at);
    });
  }

  async campaign(signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw signal.reason;
    if (this.held) return;
    // Read before the campaign asks for its lease: etcd grants the TTL from a moment after this.
    const grantAt = this.clock.monotonic();
    const c = this.election.campaign(this.identity);
    this.campaignObj = c;
    this.renewedAt = grantAt;
    this.followRenewals(c);
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        c.resign().catch(() => undefined);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      c.once('elected', () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      c.on('error', (err) => {
        signal.removeEventListener('abort', onAbort);
        if (this.held) this.loseIt(`campaign failed: ${err.message}`);
        reject(err);
      });
    });
    // The key's create revision is what the store's txns compare; without it we cannot write, so step down.
    let key: string;
    let revision: string | undefined;
    try {
      key = await c.getCampaignKey();
      const kv = (
        await this.client
          .get(key)
          .options({ deadline: Date.now() + this.checkTimeoutMs() })
          .exec()
      ).kvs[0];
      revision = kv ? String(kv.create_revision) : undefined;
    } catch (e) {
      c.resign().catch(() => undefined);
      throw e;
    }
    if (revision === undefined) {
      c.resign().catch(() => undefined);
      throw new LeadershipLostError('elected, but our election key is gone (lease expired)');
    }
    this.myKey = key;
    this.myRevision = revision;
    this.held = true;
    this.logger.info({ identity: this.identity }, 'elected leader');
    this.timer = setInterval(() => {
      this.fence().catch(() => undefined);
    }, this.ttlMs / 3);
    this.timer.unref();
  }

  isLeader(): boolean {
    return this.held;
  }

  /** For the store's txns; undefined when we do not lead, so a store write fails before it is sent. */
  writeGuard(): ElectionGuard | undefined {
    return this.held && this.myKey !== undefined && this.myRevision !== undefined
      ? { key: this.myKey, createRevision: this.myRevision }
      : undefined;
  }

  /** The election's oldest key (the leader's), read with a short deadline. */
  private oldestCandidate() {
    return this.client
      .getAll()
      .prefix(this.electionPrefix)
      .sort('Create', 'Ascend')
      .limit(1)
      .options({ deadline: Date.now() + this.checkTimeoutMs() });
  }

  private async currentLeaderKey(): Promise<string | undefined> {
    return (await this.oldestCandidate().keys())[0];
  }

  /**
   * The local lease deadline, on the monotonic clock and without any I/O: a process that was paused past it
   * learns so before it sends anything. Past the renew deadline writes wait for the next confirmed renewal
   * (the lease may still be ours); past the TTL etcd may have expired it, so leadership is given up.
   */
  checkNow(): void {
    this.checkDeadline();
  }

  private checkDeadline(): void {
    if (!this.held) throw new LeadershipLostError('not the leader');
    const since = this.clock.monotonic() - this.renewedAt;
    if (since > this.ttlMs) {
      const why = `no lease renewal confirmed for ${Math.round(since)} ms, longer than the ${this.ttlMs} ms TTL`;
      this.loseIt(why);
      throw new LeadershipLostError(`leadership lost: ${why}`);
    }
    if (since > this.renewDeadlineMs) {
      throw new LeadershipLostError(
        `cannot confirm leadership: last lease renewal confirmed ${Math.round(since)} ms ago, past the ${this.renewDeadlineMs} ms renew deadline`,
      );
    }
  }

  /**
   * Throws unless we lead now: the local deadline first (synchronously, before any I/O), then etcd's answer
   * that our key is the oldest, then the deadline again, since the answer may have waited out a pause.
   * Meant to run immediately before each write request is sent, every retry included.
   */
  async fence(): Promise<void> {
    this.checkDeadline();
    let key: string | undefined;
    try {
      key = await this.currentLeaderKey();
    } catch (e) {
      this.checkDeadline();
      throw new LeadershipLostError(
        `cannot confirm leadership, etcd unreachable: ${(e as Error).message.split('\n')[0]}`,
      );
    }
    if (!this.held) throw new LeadershipLostError('not the leader');
    if (key !== this.myKey) {
      this.loseIt(key ? 'another candidate leads' : 'our election key is gone');
      throw new LeadershipLostError(
        `leadership lost: ${key ? 'another candidate leads' : 'our election key is gone (lease expired)'}`,
      );
    }
    this.checkDeadline();
  }

  private loseIt(why: string): void {
    if (!this.held) return;
    this.held = false;
    clearInterval(this.timer);
    this.logger.error({ why }, 'leadership lost');
    // Revoke if etcd is reachable, so our key cannot linger and block the next leader.
    this.campaignObj?.resign().catch(() => undefined);
    this.lost.fire(this.logger);
  }

  async resign(): Promise<void> {
    const c = this.campaignObj;
    this.held = false;
    clearInterval(this.timer);
    this.campaignObj = undefined;
    if (c) await c.resign();
  }

  async leader(): Promise<string | undefined> {
    return Object.values(await this.oldestCandidate().strings())[0];
  }

  onLost(cb: () => void): void {
    this.lost.add(cb);
  }

  async close(): Promise<void> {
    await this.resign().catch(() => undefined);
  }
}
