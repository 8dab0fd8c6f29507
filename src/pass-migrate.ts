// The pass's migration step: store records an older version keyed by another id form (src/migrate-ids.ts
// decides the moves, purely) are moved in the snapshot this pass plans with; the store writes follow with
// the pass's other store writes (src/pass-write.ts persistMigration).
import type { InventoryView } from './inventory/view.ts';
import { type IdMigration, planIdMigration } from './migrate-ids.ts';
import type { PassDeps } from './pass-types.ts';
import type { StoreSnapshot } from './store/types.ts';

/**
 * The snapshot with the records of an older version moved to their VMs' current ids (a trusted inventory
 * only); a record no single VM matches stays as it is, and is a pass error until a human settles it.
 */
export function migrateRecords(
  deps: Pick<PassDeps, 'provider' | 'logger'>,
  loaded: StoreSnapshot,
  inv: InventoryView,
  errors: string[],
): { snapshot: StoreSnapshot; migration: IdMigration } {
  const formerId = deps.provider.formerId?.bind(deps.provider);
  if (!inv.ok || formerId === undefined) return { snapshot: loaded, migration: { moves: [], unresolved: [] } };
  const migration = planIdMigration({ allocations: loaded.allocations, instances: inv.instances, formerId });
  for (const u of migration.unresolved) {
    errors.push(u.detail);
    deps.logger.warn({ instanceId: u.instanceId, subnet: u.subnet }, u.detail);
  }
  if (migration.moves.length === 0) return { snapshot: loaded, migration };
  const to = new Map(migration.moves.map((m) => [m.from, m]));
  const allocations = loaded.allocations.map((a) => {
    const m = to.get(a.instanceId);
    return m ? { ...a, instanceId: m.to, name: m.name, privateIp: m.privateIp } : a;
  });
  return { snapshot: { ...loaded, allocations }, migration };
}
