// The agent only reads its allocation. The file store is a few lines of node:fs; the etcd client (gRPC)
// costs ~40 MB of RSS, so it is loaded only when the config names etcd — agents run on every VM.
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { DEFAULT_STORE_PATH, FileStore } from '../store/file/store.ts';
import type { Store } from '../store/types.ts';

export async function openAgentStore(config: Config, logger: Logger): Promise<Store> {
  if (config.store.type === 'file') return new FileStore(config.store.path ?? DEFAULT_STORE_PATH);
  // The store only: its leadership is never campaigned for, so the agent cannot write (I4).
  const { openStore } = await import('../store/index.ts');
  return (await openStore(config, { logger })).store;
}
