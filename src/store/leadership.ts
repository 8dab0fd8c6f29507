// What every store's leadership shares (I4): the error a fence throws, the onLost callbacks, and the
// identity a leader is shown by. Each kind's own leadership lives in its folder beside its store.
import { hostname } from 'node:os';
import type { Logger } from '../log.ts';

export class LeadershipLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeadershipLostError';
  }
}

export function defaultIdentity(): string {
  return `${hostname()}/${process.pid}`;
}

/** onLost() subscribers; one that throws is logged and does not keep the others from hearing it. */
export class LostCallbacks {
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
