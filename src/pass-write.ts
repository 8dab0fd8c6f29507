// The store writes of one pass (src/reconcile.ts). Each waits until the plan is made (and approved) and
// goes behind the fence (I4): adoptions, missing marks and new allocations before the cloud writes,
// releases after them, once the plan's deletes freed the subnet in every table.
import type { Logger } from 'pino';
import type { ChangeResult, RouteTable } from '../providers/types.ts';
import type { Adoption } from './adopt.ts';
import type { Plan } from './plan.ts';
import type { AllocateResult, Allocation, AllocationRequest, IdMove, Store } from './store/types.ts';

export interface WriteDeps {
  store: Store;
  logger: Logger;
  fence: () => Promise<void> | void;
}

/** Records of an older version moved to their VMs' current ids; the moves another writer beat are left out. */
export async function persistMigration(deps: WriteDeps, moves: IdMove[]): Promise<IdMove[]> {
  if (moves.length === 0) return [];
  await deps.fence();
  const done = await deps.store.rekey(moves);
  for (const m of done)
    deps.logger.info(
      { from: m.from, instanceId: m.to, subnet: m.subnet },
      'store record of an older version moved to the VM id (same subnet)',
    );
  return done;
}

/** Adopted allocations the store took; the ones that lost a race to another writer are left out. */
export async function persistAdoptions(deps: WriteDeps, adopted: Adoption[], now: number): Promise<Adoption[]> {
  if (adopted.length === 0) return [];
  await deps.fence();
  const r = await deps.store.allocate(adopted.map((a) => a.request));
  const won = new Set(r.committed.map((c) => c.instanceId));
  for (const c of r.conflicts)
    deps.logger.warn(
      { instanceId: c.request.instanceId, subnet: c.request.subnet, reason: c.reason },
      'adoption lost a race: retried next pass',
    );
  const kept = adopted.filter((a) => won.has(a.request.instanceId));
  const missing = kept.filter((a) => a.missing).map((a) => ({ instanceId: a.request.instanceId, missingSince: now }));
  if (missing.length > 0) await deps.store.setMissing(missing);
  return kept;
}

/** Starts (or stops) the release countdown of VMs the trusted inventory left out (or listed again). */
export async function persistMissing(
  deps: WriteDeps,
  setMissing: Array<{ instanceId: string; missingSince: number | null }>,
): Promise<void> {
  if (setMissing.length === 0) return;
  await deps.fence();
  await deps.store.setMissing(setMissing);
  for (const u of setMissing) {
    if (u.missingSince !== null)
      deps.logger.info(
        { instanceId: u.instanceId },
        'VM missing from the inventory: its subnet and route are kept until releaseAfter',
      );
  }
}

/** What a refused request says; undefined: the store said it already, once while it lasts. */
const CONFLICT_LINES: Record<AllocateResult['conflicts'][number]['reason'], string | undefined> = {
  'subnet-taken': 'allocation lost a race: retried next pass',
  'instance-has-subnet': 'allocation lost a race: retried next pass',
  'no-node': 'no Node runs this VM (any more): no subnet, no route; retried next pass',
  refused: undefined,
};

/** New VMs' subnets as committed; a request that lost its race gets none this pass. */
export async function persistRequests(
  deps: WriteDeps,
  requests: AllocationRequest[],
): Promise<{ committed: AllocationRequest[]; conflicts: number }> {
  if (requests.length === 0) return { committed: [], conflicts: 0 };
  await deps.fence();
  const r = await deps.store.allocate(requests);
  for (const c of r.conflicts) {
    const line = CONFLICT_LINES[c.reason];
    if (line) deps.logger.warn({ instanceId: c.request.instanceId, subnet: c.request.subnet, reason: c.reason }, line);
  }
  for (const a of r.committed) deps.logger.info({ instanceId: a.instanceId, subnet: a.subnet }, 'subnet allocated');
  return { committed: r.committed, conflicts: r.conflicts.length };
}

const changeKey = (c: { table: string; destination: string; providerId?: string }) =>
  `${c.table}\u0000${c.destination}\u0000${c.providerId ?? ''}`;

/**
 * The releasing VMs whose subnet has no route of ours left: every table was read, and every delete of the
 * plan's gate for the subnet succeeded with none kept (never a subnet with a live route).
 */
export function clearedForRelease(
  releasing: readonly string[],
  allocations: readonly Allocation[],
  plan: Plan,
  tables: readonly RouteTable[],
  readTables: ReadonlySet<string>,
  results: readonly ChangeResult[],
): string[] {
  if (!tables.every((t) => readTables.has(t.id))) return [];
  const deleted = new Set(
    results
      .filter((r) => r.change.op === 'delete' && (r.outcome === 'applied' || r.outcome === 'alreadyDone'))
      .map((r) => changeKey(r.change)),
  );
  return releasing.filter((id) => {
    const a = allocations.find((x) => x.instanceId === id);
    if (!a) return false;
    const gate = plan.releases[a.subnet];
    return gate === undefined || (gate.kept === 0 && gate.deletes.every((c) => deleted.has(changeKey(c))));
  });
}

/** Frees the cleared VMs' subnets (into their cool-down) and drops released records past reuseAfter. */
export async function releaseSubnets(
  deps: WriteDeps,
  clear: string[],
  now: () => number,
  reuseAfter: number,
): Promise<string[]> {
  let released: string[] = [];
  if (clear.length > 0) {
    await deps.fence();
    const rel = await deps.store.release(clear, now());
    released = rel.map((r) => r.instanceId);
    for (const r of rel)
      deps.logger.info({ instanceId: r.instanceId, subnet: r.subnet }, 'subnet released (cool-down before reuse)');
  }
  await deps.fence();
  await deps.store.purgeReleased(now() - reuseAfter);
  return released;
}
