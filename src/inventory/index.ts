// The configured inventory source (`inventory.source`): one line per kind.
import type { Logger } from 'pino';
import type { CloudProvider, InstanceLister } from '../../providers/types.ts';
import type { Config } from '../config.ts';
import type { Clock } from '../lib/clock.ts';
import { cloudInventory } from './cloud.ts';
import type { InventorySource } from './source.ts';

/**
 * `cloud` wraps the configured cloud's own listing (`lister`); `kubernetes` reads the Nodes (./kubernetes.ts).
 * `listOnly`: a one-off command's source, read once, with no change signal (no watch).
 */
export async function openInventory(
  config: Pick<Config, 'inventory' | 'kubernetes' | 'reconcile' | 'provider'> &
    Partial<Pick<Config, 'clusterCIDR' | 'subnetLen'>>,
  provider: InstanceLister & Pick<CloudProvider, 'lookupInstances'>,
  deps: { logger: Logger; clock?: Clock; listOnly?: boolean },
): Promise<InventorySource> {
  switch (config.inventory.source) {
    case 'cloud':
      return cloudInventory(provider);
    case 'kubernetes': {
      // Loaded only here: the Kubernetes client costs memory a cloud-inventory process does not need.
      const { openNodeInventory } = await import('./kubernetes.ts');
      return openNodeInventory(config, provider, deps);
    }
  }
}
