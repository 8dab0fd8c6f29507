// The default inventory: the cloud's own listing of the instances carrying the cluster tag/label.
import type { InstanceLister } from '../../providers/types.ts';
import type { InventorySource } from './source.ts';

/** The cloud's instance listing as an inventory source. It has no change signal: every pass reads it. */
export function cloudInventory(lister: InstanceLister): InventorySource {
  return {
    kind: 'cloud',
    list: (signal) => lister.listInstances(signal),
    ...(lister.emptyListingHint ? { emptyHint: lister.emptyListingHint } : {}),
  };
}
