// Where the cluster's VMs come from (DESIGN step 1): the cloud's instances by tag/label (cloud.ts, the
// default) or, later, Kubernetes Nodes. The engine reads a source, never a provider's listing.
import type { Instance } from '../../providers/types.ts';

export interface InventorySource {
  /** Names the source in logs and errors: `cloud`, `kubernetes`. */
  readonly kind: string;
  /**
   * Every VM of the cluster (all states), from every page. Throws on any failed or suspicious read: a
   * partial list must never reach the plan, which would take the VMs it leaves out as gone (I3).
   */
  list(signal?: AbortSignal): Promise<Instance[]>;
  /** What to check when the list is empty while VMs hold subnets (InstanceLister.emptyListingHint). */
  readonly emptyHint?: string;
  /**
   * Change signal, for sources that have one (a Kubernetes watch): `onChange` is called when the VM set may
   * have changed, and the controller runs a pass soon. The returned function stops watching. A source
   * without it is read on every pass only.
   */
  watch?(onChange: (reason: string) => void): () => void;
  /** Stops what the source keeps open (a watch); sources without it hold nothing. */
  close?(): Promise<void>;
}
