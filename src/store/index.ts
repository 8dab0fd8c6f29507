// Builds the configured store and its matching Leadership: etcd → Election, file → lock file, memory → always.
import type { Config } from '../config.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../log.ts';
import { EtcdLeadership, FileLeadership, MemoryLeadership } from '../leader.ts';
import { EtcdStore } from './etcd.ts';
import { resolve } from 'node:path';
import { DEFAULT_STORE_PATH, FileStore } from './file.ts';
import { MemoryStore } from './memory.ts';
import type { Leadership, Store } from './types.ts';

export interface StoreDeps {
  logger: Logger;
  clock?: Clock;
  /** Leader identity shown by `leader()`; default hostname/pid. */
  identity?: string;
}

/** Which store a config uses, as `status` and /status show it: the file store's absolute path, etcd's endpoints and keys. */
export interface StoreLocation {
  type: Config['store']['type'];
  /** file: the state file (absolute). */
  path?: string;
  /** etcd: client URLs and the key prefix of this cluster. */
  endpoints?: string[];
  keys?: string;
}

export function storeLocation(config: Pick<Config, 'cluster' | 'store'>): StoreLocation {
  const s = config.store;
  if (s.type === 'file') return { type: 'file', path: resolve(s.path ?? DEFAULT_STORE_PATH) };
  if (s.type === 'etcd')
    return {
      type: 'etcd',
      endpoints: [...(s.endpoints ?? [])],
      keys: `${s.prefix === '/' ? '' : s.prefix}/${config.cluster}/`,
    };
  return { type: s.type };
}

export function createStore(
  config: Pick<Config, 'cluster' | 'store'> & Partial<Pick<Config, 'clusterCIDR' | 'subnetLen'>>,
  deps: StoreDeps,
): Store {
  const s = config.store;
  const pool =
    config.clusterCIDR !== undefined && config.subnetLen !== undefined
      ? { pool: { clusterCIDR: config.clusterCIDR, subnetLen: config.subnetLen } }
      : {};
  switch (s.type) {
    case 'memory':
      return new MemoryStore();
    case 'file':
      return new FileStore(s.path ?? DEFAULT_STORE_PATH, pool);
    case 'etcd':
      if (!s.endpoints?.length) throw new Error('store.endpoints: is required for store.type etcd');
      return new EtcdStore({
        endpoints: s.endpoints,
        prefix: s.prefix,
        cluster: config.cluster,
        ...(s.tls ? { tls: s.tls } : {}),
        ...pool,
        logger: deps.logger,
      });
  }
}

export function createLeadership(config: Pick<Config, 'cluster' | 'store'>, store: Store, deps: StoreDeps): Leadership {
  // The store's own writes are conditional on this leadership (I4), not only fenced by their callers.
  if (store instanceof EtcdStore) {
    const l = new EtcdLeadership({
      client: store.client,
      base: store.base,
      ttlMs: config.store.electionTTL,
      logger: deps.logger,
      ...(deps.identity ? { identity: deps.identity } : {}),
      ...(deps.clock ? { clock: deps.clock } : {}),
    });
    store.guardWith(() => l.writeGuard());
    return l;
  }
  if (store instanceof FileStore) {
    const l = new FileLeadership({
      path: `${store.path}.lock`,
      logger: deps.logger,
      ...(deps.clock ? { clock: deps.clock } : {}),
    });
    store.guardWith(() => l.fence());
    return l;
  }
  return new MemoryLeadership();
}
