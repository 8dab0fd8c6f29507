// The configured inventory source (`inventory.source`): one line per kind.
import type { InstanceLister } from '../../providers/types.ts';
import type { Config } from '../config.ts';
import { cloudInventory } from './cloud.ts';
import type { InventorySource } from './source.ts';

/** `cloud` wraps the configured cloud's own listing (`lister`, the provider's instance listing). */
export function openInventory(config: Pick<Config, 'inventory'>, lister: InstanceLister): InventorySource {
  switch (config.inventory.source) {
    case 'cloud':
      return cloudInventory(lister);
    case 'kubernetes':
      throw new Error('inventory.source: kubernetes is not available in this build yet; use cloud');
  }
}
