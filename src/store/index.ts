// The store kinds: `store.type` → the folder that provides that store and the leadership guarding it. A new
// kind is one folder under src/store/ and one line here (and its `store.type` value in the config schema).
// Each kind loads its client library only when opened, so a process pays only for the store it uses.
import { etcdStore } from './etcd/index.ts';
import { fileStore } from './file/index.ts';
import { kubernetesStore } from './kubernetes/index.ts';
import type { StoreConfig, StoreDeps, StoreKind, StoreLocation, StoreParts, StoreType } from './kind.ts';
import { memoryStore } from './memory/index.ts';

export type { StoreConfig, StoreDeps, StoreKind, StoreLocation, StoreParts, StoreType } from './kind.ts';

export const STORE_KINDS: { readonly [K in StoreType]: StoreKind } = {
  etcd: etcdStore,
  file: fileStore,
  kubernetes: kubernetesStore,
  memory: memoryStore,
};

export function storeLocation(config: StoreConfig): StoreLocation {
  return STORE_KINDS[config.store.type].location(config);
}

/** The configured store and its leadership, bound so that the store's own writes are conditional on it (I4). */
export function openStore(config: StoreConfig, deps: StoreDeps): Promise<StoreParts> {
  return STORE_KINDS[config.store.type].open(config, deps);
}
