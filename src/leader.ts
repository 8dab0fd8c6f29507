// Who may write (I4). etcd: an etcd3 Election under `<prefix>/<cluster>/election`; file: a lock file next
// to the state file; memory: always the leader.
//
// Holding leadership is never assumed, it is checked before every write attempt: fence() first compares a
// local lease deadline on the monotonic clock (no I/O, so a leader resumed from a pause longer than its
// lease stops before sending anything), then reads the election in etcd (our key must be the oldest) and
// looks at the deadline again. The stores' own writes are conditional too: the etcd store compares our
// election key in every write txn, the file store re-reads its lock.
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Campaign, Election, Etcd3 } from 'etcd3';
import { systemClock, type Clock } from './lib/clock.ts';
import type { Logger } from './log.ts';
import type { Leadership } from './store/types.ts';

export class LeadershipLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeadershipLostError';
  }
}

export class LockHeldError extends Error {
  readonly holder: LockHolder;
  constructor(path: string, holder: LockHolder) {
    super(
      `store lock ${path} is held by pid ${holder.pid} on ${holder.hostname} since ${new Date(holder.startedAt).toISOString()}; stop that routesync first`,
    );
    this.name = 'LockHeldError';
    this.holder = holder;
  }
}

export function defaultIdentity(): string {
  return `${hostname()}/${process.pid}`;
}

class LostCallbacks {
  private cbs: Array<() => void> = [];
  add(cb: () => void): void {
    this.cbs.push(cb);
  }
  fire(logger: Logger): void {
    for (const cb of this.cbs) {
      try {
        cb();
      } catch (e) {
        logger.error({ err: e }, 'onLost callback threw');
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------

export class MemoryLeadership implements Leadership {
  private held = true;
  async campaign(signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw signal.reason;
    this.held = true;
  }
  isLeader(): boolean {
    return this.held;
  }
  async fence(): Promise<void> {
    this.checkNow();
  }
  checkNow(): void {
    if (!this.held) throw new LeadershipLostError('not the leader (resigned)');
  }
  async resign(): Promise<void> {
    this.held = false;
  }
  async leader(): Promise<string | undefined> {
    return this.held ? defaultIdentity() : undefined;
  }
  onLost(): void {}
  async close(): Promise<void> {
    this.held = false;
  }
}

// ---------------------------------------------------------------------------------------------------------

export interface LockHolder {
  pid: number;
  hostname: string;
  startedAt: number;
  token: string;
}

export interface FileLeadershipOptions {
  /** The lock file: `<store path>.lock`. */
  path: string;
  logger: Logger;
  clock?: Clock;
  /** How often campaign() retries and the holder re-checks its lock. */
  pollMs?: number;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The lock file is created by hard-linking a fully written temp file into place: link() fails if the
 * name exists, so creation is exclusive (like O_EXCL) and the lock is never seen empty or half-written.
 * A lock is stale only when its pid is dead on this very host; a lock from another host is never broken
 * automatically (the message names it).
 */
export class FileLeadership implements Leadership {
  readonly path: string;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly pollMs: number;
  private readonly me: LockHolder;
  private held = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly lost = new LostCallbacks();

  constructor(o: FileLeadershipOptions) {
    this.path = o.path;
    this.logger = o.logger;
    this.clock = o.clock ?? systemClock;
    this.pollMs = o.pollMs ?? 1000;
    this.me = {
      pid: process.pid,
      hostname: hostname(),
      startedAt: this.clock.now(),
      token: randomBytes(8).toString('hex'),
    };
  }

  private async readHolder(path = this.path): Promise<LockHolder | undefined> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`cannot read lock file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      const h = JSON.parse(text) as LockHolder;
      if (typeof h.pid !== 'number' || typeof h.hostname !== 'string') throw new Error('fields');
      return h;
    } catch {
      throw new Error(`lock file ${path} is unreadable; remove it if no routesync is running`);
    }
  }

  private async create(): Promise<boolean> {
    const tmp = `${this.path}.${this.me.pid}.${this.me.token}`;
    await mkdir(dirname(this.path), { recursive: true });
    // 0600 like the state file: the lock names the host and pid, and no one else needs to read it.
    await writeFile(tmp, JSON.stringify(this.me), { mode: 0o600 });
    try {
      await link(tmp, this.path);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw new Error(
        `cannot create lock file ${this.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  /** Moves a stale lock away, making sure it was the stale one that moved (not a fresh one just taken). */
  private async breakStale(stale: LockHolder): Promise<void> {
    const aside = `${this.path}.stale.${this.me.pid}.${this.me.token}`;
    try {
      await rename(this.path, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    const moved = await this.readHolder(aside).catch(() => undefined);
    if (moved && moved.token !== stale.token) {
      // We moved a live lock taken meanwhile: put it back if the name is still free.
      await link(aside, this.path).catch(() => undefined);
    } else {
      this.logger.warn({ lock: this.path, pid: stale.pid }, 'removed a stale store lock left by a dead process');
    }
    await unlink(aside).catch(() => undefined);
  }

  /** Takes the lock now or throws LockHeldError naming the holder (the CLI's fail-fast path). */
  async tryAcquire(): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.create()) return this.acquired();
      const holder = await this.readHolder();
      if (!holder) continue;
      if (holder.token === this.me.token) return this.acquired();
      if (holder.hostname === this.me.hostname && !pidAlive(holder.pid)) {
        await this.breakStale(holder);
        continue;
      }
      throw new LockHeldError(this.path, holder);
    }
    throw new Error(`could not take store lock ${this.path}: it keeps changing hands`);
  }

  private acquired(): void {
    this.held = true;
    this.timer = setInterval(() => {
      this.fence().catch(() => undefined);
    }, this.pollMs);
    this.timer.unref();
  }

  async campaign(signal: AbortSignal): Promise<void> {
    const waiting = new WaitNotice(this.logger, this.clock, this.path);
    for (;;) {
      if (signal.aborted) throw signal.reason;
      try {
        await this.tryAcquire();
        waiting.acquired();
        return;
      } catch (e) {
        if (!(e instanceof LockHeldError)) throw e;
        waiting.held(e.holder);
      }
      await this.clock.sleep(this.pollMs, signal);
    }
  }

  isLeader(): boolean {
    return this.held;
  }

  /** The lock cannot be lost to time: only another process taking it, which fence() reads. */
  checkNow(): void {
    if (!this.held) throw new LeadershipLostError(`not the leader: store lock ${this.path} is not ours`);
  }

  async fence(): Promise<void> {
    this.checkNow();
    let holder: LockHolder | undefined;
    try {
      holder = await this.readHolder();
    } catch (e) {
      throw new LeadershipLostError(`cannot confirm store lock ${this.path}: ${(e as Error).message}`);
    }
    if (holder?.token !== this.me.token) {
      this.loseIt();
      throw new LeadershipLostError(
        `store lock ${this.path} was ${holder ? `taken by pid ${holder.pid} on ${holder.hostname}` : 'removed'}`,
      );
    }
  }

  private loseIt(): void {
    if (!this.held) return;
    this.held = false;
    clearInterval(this.timer);
    this.logger.error({ lock: this.path }, 'lost the store lock');
    this.lost.fire(this.logger);
  }

  async resign(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    clearInterval(this.timer);
    const holder = await this.readHolder().catch(() => undefined);
    if (holder?.token === this.me.token) await unlink(this.path).catch(() => undefined);
  }

  async leader(): Promise<string | undefined> {
    const h = await this.readHolder();
    return h ? `${h.hostname}/${h.pid}` : undefined;
  }

  onLost(cb: () => void): void {
    this.lost.add(cb);
  }

  async close(): Promise<void> {
    await this.resign();
  }
}

/** How often a process waiting for the file store's lock says it still waits. */
export const LOCK_WAIT_NOTICE_MS = 60_000;

/**
 * What a process waiting for the store lock tells its operator: who holds it (pid, host, since) when it
 * starts waiting or the holder changes, then a reminder every LOCK_WAIT_NOTICE_MS, not a line per poll.
 */
class WaitNotice {
  private since: number | undefined;
  private lastToken: string | undefined;
  private lastSaid = 0;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly path: string;
  constructor(logger: Logger, clock: Clock, path: string) {
    this.logger = logger;
    this.clock = clock;
    this.path = path;
  }

  held(h: LockHolder): void {
    const now = this.clock.now();
    const changed = h.token !== this.lastToken;
    if (!changed && now - this.lastSaid < LOCK_WAIT_NOTICE_MS) return;
    this.since ??= now;
    this.lastToken = h.token;
    this.lastSaid = now;
    const holder = { pid: h.pid, hostname: h.hostname, since: new Date(h.startedAt).toISOString() };
    const waited = now - this.since;
    const still = waited > 0 && !changed ? ` (waiting for ${Math.round(waited / 1000)} s)` : '';
    this.logger.warn(
      { lock: this.path, holder, waitingMs: waited },
      `store lock ${this.path} is held by pid ${h.pid} on ${h.hostname} since ${holder.since}; waiting for it to be released${still} (the file store allows one routesync; stop the other one, or use etcd for several replicas)`,
    );
  }

  acquired(): void {
    if (this.since === undefined) return;
    this.logger.info(
      { lock: this.path, waitedMs: this.clock.now() - this.since },
      `took store lock ${this.path} after waiting`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------

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

/** What a store compares in each write txn (I4): our election key, still the one created when we were elected. */
export interface ElectionGuard {
  key: string;
  createRevision: string;
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
