// Builds what a command needs from a config: provider, store and leadership. One place, so `run`,
// `reconcile`, `status` and `release` agree on how a config maps to parts.
import type { V1Node } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { loadProvider } from '../providers/plugins.ts';
import type { ApiObserver, CloudProvider } from '../providers/types.ts';
import type { Clock } from './lib/clock.ts';
import type { Config } from './config.ts';
import { openInventory } from './inventory/index.ts';
import type { NodeInventory } from './inventory/kubernetes.ts';
import type { InventorySource } from './inventory/source.ts';
import type { NodeReporter } from './kubernetes/node-reporter.ts';
import { openStore } from './store/index.ts';
import type { Leadership, Store } from './store/types.ts';

export interface Runtime {
  provider: CloudProvider;
  /** The cluster's VMs, from the configured source (`inventory.source`; the cloud's listing by default). */
  inventory: InventorySource;
  store: Store;
  leadership: Leadership;
  close(): Promise<void>;
}

export async function openRuntime(
  config: Config,
  /** `listOnly`: a one-off command's inventory, read once with no watch (inventory.source kubernetes). */
  deps: { logger: Logger; clock?: Clock; observer?: ApiObserver; listOnly?: boolean },
): Promise<Runtime> {
  const { logger } = deps;
  const { store, leadership } = await openStore(config, { logger, ...(deps.clock ? { clock: deps.clock } : {}) });
  const provider = await loadProvider(config.provider, {
    cluster: config.cluster,
    clusterCIDR: config.clusterCIDR,
    logger,
    ...(deps.observer ? { observer: deps.observer } : {}),
  });
  let inventory: InventorySource;
  try {
    inventory = await openInventory(config, provider, {
      logger,
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...(deps.listOnly ? { listOnly: true } : {}),
    });
  } catch (e) {
    await provider.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw e;
  }
  // store.type kubernetes reads its Nodes from the inventory's watch cache (every Node, excluded ones too):
  // a pass at rest costs one ConfigMap read, not a relist.
  const cache = (inventory as { nodeWatch?: { allNodes(): Iterable<V1Node> } }).nodeWatch;
  const kubeStore = store as Store & { useNodes?: (nodes: () => Iterable<V1Node>) => void };
  if (cache && typeof kubeStore.useNodes === 'function') kubeStore.useNodes(() => cache.allNodes());
  return {
    provider,
    inventory,
    store,
    leadership,
    async close() {
      // Leadership first: it may need the store's etcd client to resign. Bounded: a resign that cannot reach
      // etcd (or an aborted campaign that never got its lease) must not keep the process alive; the lease
      // then expires on its own within store.electionTTL.
      await Promise.race([leadership.close().catch(() => undefined), new Promise((r) => setTimeout(r, 3000).unref())]);
      await inventory.close?.().catch(() => undefined);
      await provider.close().catch(() => undefined);
      await store.close().catch(() => undefined);
    },
  };
}

/**
 * `run` in Kubernetes mode (inventory.source kubernetes): the report step that writes the Nodes'
 * NetworkUnavailable and Events after each pass (src/kubernetes/node-reporter.ts); undefined otherwise.
 */
export async function openNodeReporter(
  rt: Pick<Runtime, 'inventory' | 'leadership'> & { store?: Pick<Store, 'nodeRefusals'> },
  deps: { logger: Logger; clock?: Clock; registry?: Registry; instance: string },
): Promise<NodeReporter | undefined> {
  if (rt.inventory.kind !== 'kubernetes') return undefined;
  const { nodeReporterFor } = await import('./kubernetes/node-reporter.ts');
  const store = rt.store;
  return nodeReporterFor(rt.inventory as NodeInventory, {
    leadership: rt.leadership,
    ...deps,
    ...(store?.nodeRefusals ? { refusals: () => store.nodeRefusals?.() ?? [] } : {}),
  });
}

/**
 * One-off commands must not write next to a running controller: a store that can tell at once who leads
 * (the file lock) fails fast naming the holder; otherwise (etcd) the command campaigns for a short while and
 * names the current leader when it cannot lead.
 */
export async function takeLeadershipOnce(leadership: Leadership, timeoutMs: number): Promise<void> {
  if (leadership.takeNow) return leadership.takeNow();
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(new Error('timeout')), timeoutMs);
  try {
    await leadership.campaign(ac.signal);
  } catch (e) {
    if (!ac.signal.aborted) throw e;
    // Name the leader only when the store says who it is: a store that stopped answering mid-campaign
    // must not read as "another replica leads".
    let who: string | undefined;
    try {
      who = await leadership.leader();
    } catch (err) {
      throw new Error(
        `could not take leadership within ${timeoutMs} ms: the store stopped answering (${(err as Error).message.split('\n')[0]})`,
      );
    }
    if (who === undefined)
      throw new Error(
        `could not take leadership within ${timeoutMs} ms, and no replica holds it: the store is slow or unreachable`,
      );
    throw new Error(`could not take leadership within ${timeoutMs} ms: ${who} leads; stop it or use that replica`);
  } finally {
    clearTimeout(t);
  }
}
