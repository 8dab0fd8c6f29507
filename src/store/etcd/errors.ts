// The etcd store's errors: one line each, naming what failed; a refused write says nothing was written.

export class EtcdStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EtcdStoreError';
  }
}

/** A store write refused because this process does not (or no longer) lead: nothing of it was written. */
export class NotLeaderError extends EtcdStoreError {
  constructor(what: string, why: string) {
    super(`etcd ${what} refused: ${why}; nothing was written`);
    this.name = 'NotLeaderError';
  }
}

/** An etcd client failure as one EtcdStoreError line (our own errors pass through unchanged). */
export function wrapEtcdError(what: string, e: unknown): EtcdStoreError {
  return e instanceof EtcdStoreError
    ? e
    : new EtcdStoreError(`etcd ${what} failed: ${(e as Error).message?.split('\n')[0] ?? String(e)}`, { cause: e });
}
