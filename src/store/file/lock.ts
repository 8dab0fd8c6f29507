// The file store's leadership: a lock file next to the state file (`<store path>.lock`). One routesync per
// state file; a second one waits (saying who holds the lock) or, for one-off commands, fails at once.
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { systemClock, type Clock } from '../../lib/clock.ts';
import type { Logger } from '../../log.ts';
import { LeadershipLostError, LostCallbacks } from '../leadership.ts';
import type { Leadership } from '../types.ts';
import { WaitNotice } from './wait-notice.ts';

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

  /** For one-off commands: the lock now, or an error naming its holder (no waiting next to a running routesync). */
  async takeNow(): Promise<void> {
    try {
      await this.tryAcquire();
    } catch (e) {
      if (e instanceof LockHeldError) throw new Error(`${e.message} (a routesync run holds this state file)`);
      throw e;
    }
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
