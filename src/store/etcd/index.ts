// store.type etcd: several replicas share one etcd; the leader is elected there, and every store write
// compares the leader's election key in its txn (I4). The etcd client (gRPC, ~40 MB of RSS) is loaded only
// when a config names this kind.
import { poolOf, type StoreKind } from '../kind.ts';
import { etcdBase } from './keys.ts';

export const etcdStore: StoreKind = {
  location: (config) => ({
    type: 'etcd',
    endpoints: [...(config.store.endpoints ?? [])],
    keys: etcdBase(config.store.prefix, config.cluster),
  }),
  async open(config, deps) {
    const s = config.store;
    if (!s.endpoints?.length) throw new Error('store.endpoints: is required for store.type etcd');
    const [{ EtcdStore }, { EtcdLeadership }] = await Promise.all([import('./store.ts'), import('./election.ts')]);
    const store = new EtcdStore({
      endpoints: s.endpoints,
      prefix: s.prefix,
      cluster: config.cluster,
      ...(s.tls ? { tls: s.tls } : {}),
      ...poolOf(config),
      logger: deps.logger,
    });
    const leadership = new EtcdLeadership({
      client: store.client,
      base: store.base,
      ttlMs: s.electionTTL,
      logger: deps.logger,
      ...(deps.identity ? { identity: deps.identity } : {}),
      ...(deps.clock ? { clock: deps.clock } : {}),
    });
    store.guardWith(() => leadership.writeGuard());
    return { store, leadership };
  },
};
