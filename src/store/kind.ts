// What one store kind provides to the table in ./index.ts: where it lives (for status) and, on demand, the
// store together with the leadership that guards it. Each kind's folder exports one of these.
import type { Config } from '../config.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../log.ts';
import type { Leadership, Store } from './types.ts';

export type StoreType = Config['store']['type'];

/** The parts of a config a store needs: the pool bounds let a load refuse records that cannot be ours. */
export type StoreConfig = Pick<Config, 'cluster' | 'store'> & Partial<Pick<Config, 'clusterCIDR' | 'subnetLen'>>;

export interface StoreDeps {
  logger: Logger;
  clock?: Clock;
  /** Leader identity shown by `leader()`; default hostname/pid. */
  identity?: string;
}

/** Which store a config uses, as `status` and /status show it: the file store's absolute path, etcd's endpoints and keys. */
export interface StoreLocation {
  type: StoreType;
  /** file: the state file (absolute). */
  path?: string;
  /** etcd: client URLs and the key prefix of this cluster. */
  endpoints?: string[];
  keys?: string;
}

/** A store and its leadership; the store's own writes are conditional on that leadership (I4). */
export interface StoreParts<S extends Store = Store> {
  store: S;
  leadership: Leadership;
}

export interface StoreKind {
  /** Synchronous and without loading the kind's client library: `status` shows it even when the store is down. */
  location(config: StoreConfig): StoreLocation;
  /**
   * Builds the store and its leadership and binds them. Loads the kind's client library (etcd's gRPC client
   * costs ~40 MB of RSS) only here, so a process pays only for the store it is configured with. Throws on a
   * config the kind cannot use (one line naming the field); does no I/O beyond reading files it names.
   */
  open(config: StoreConfig, deps: StoreDeps): Promise<StoreParts>;
}

/** The pool bounds to check stored records against, when the config has them. */
export function poolOf(config: StoreConfig): { pool?: { clusterCIDR: string; subnetLen: number } } {
  return config.clusterCIDR !== undefined && config.subnetLen !== undefined
    ? { pool: { clusterCIDR: config.clusterCIDR, subnetLen: config.subnetLen } }
    : {};
}
