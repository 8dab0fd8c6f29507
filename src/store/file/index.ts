// store.type file: one JSON state file (the embedded single-replica default), led by whoever holds its lock.
import { resolve } from 'node:path';
import { poolOf, type StoreKind } from '../kind.ts';
import { FileLeadership } from './lock.ts';
import { DEFAULT_STORE_PATH, FileStore } from './store.ts';

export const fileStore: StoreKind = {
  location: (config) => ({ type: 'file', path: resolve(config.store.path ?? DEFAULT_STORE_PATH) }),
  async open(config, deps) {
    const store = new FileStore(config.store.path ?? DEFAULT_STORE_PATH, poolOf(config));
    const leadership = new FileLeadership({
      path: `${store.path}.lock`,
      logger: deps.logger,
      ...(deps.clock ? { clock: deps.clock } : {}),
    });
    // The store's own writes re-read the lock first (I4), not only fenced by their callers.
    store.guardWith(() => leadership.fence());
    return { store, leadership };
  },
};
