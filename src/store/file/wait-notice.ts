// What a process waiting for the file store's lock tells its operator.
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../log.ts';

/** Who holds the lock, as the lock file says (./lock.ts writes it). */
interface Holder {
  pid: number;
  hostname: string;
  startedAt: number;
  token: string;
}

/** How often a process waiting for the file store's lock says it still waits. */
export const LOCK_WAIT_NOTICE_MS = 60_000;

/**
 * What a process waiting for the store lock tells its operator: who holds it (pid, host, since) when it
 * starts waiting or the holder changes, then a reminder every LOCK_WAIT_NOTICE_MS, not a line per poll.
 */
export class WaitNotice {
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

  held(h: Holder): void {
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
