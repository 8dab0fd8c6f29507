// Records of an older version, keyed by an id form the provider no longer uses (GCE: the bare instance name,
// before ids carried the zone, names being unique per zone only). Pure, like the plan: each such record
// moves to the one VM of the trusted inventory whose former id and private IP are the record's. Anything
// else is not guessed: the record stays as it is (its VM is looked up by the old id before any release, so
// it is held while a VM of that name exists) and the pass reports it for a human to settle.
import type { Instance } from '../providers/types.ts';
import type { Allocation, IdMove } from './store/types.ts';

export interface IdMigrationInput {
  /** The store's allocations as loaded. */
  allocations: readonly Allocation[];
  /** A trusted inventory (a failed read migrates nothing). */
  instances: readonly Instance[];
  /** The id an older version stored this VM under, when it differs from `id` (CloudProvider.formerId). */
  formerId: (id: string) => string | undefined;
}

export interface IdMigration {
  moves: IdMove[];
  /** Records that an older version's id names but that no single VM matches by name and private IP. */
  unresolved: Array<{ instanceId: string; subnet: string; detail: string }>;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function planIdMigration(input: IdMigrationInput): IdMigration {
  const holders = new Set(input.allocations.map((a) => a.instanceId));
  const listed = new Set(input.instances.map((i) => i.id));
  // VMs that hold nothing under their own id, by the id an older version knew them by.
  const byFormer = new Map<string, Instance[]>();
  for (const vm of input.instances) {
    const f = input.formerId(vm.id);
    if (f === undefined || f === vm.id || holders.has(vm.id)) continue;
    byFormer.set(f, [...(byFormer.get(f) ?? []), vm]);
  }
  const out: IdMigration = { moves: [], unresolved: [] };
  const taken = new Set<string>();
  for (const a of [...input.allocations].sort((x, y) => cmp(x.instanceId, y.instanceId))) {
    if (listed.has(a.instanceId)) continue;
    const named = byFormer.get(a.instanceId);
    if (!named) continue;
    const matches = named.filter((vm) => vm.privateIp === a.privateIp && !taken.has(vm.id));
    if (matches.length === 1) {
      const vm = matches[0] as Instance;
      taken.add(vm.id);
      out.moves.push({ from: a.instanceId, to: vm.id, subnet: a.subnet, name: vm.name, privateIp: vm.privateIp });
      continue;
    }
    const ids = named.map((vm) => `${vm.id} (${vm.privateIp})`).join(', ');
    out.unresolved.push({
      instanceId: a.instanceId,
      subnet: a.subnet,
      detail:
        `store record ${a.instanceId} → ${a.subnet} (private IP ${a.privateIp || 'unknown'}, written by an older ` +
        `version) could be ${ids}: ${matches.length === 0 ? 'none has its private IP' : 'several have its private IP'}; ` +
        `not migrated, not released, its route left as it is; settle it by hand (\`routesync release ${a.instanceId} --yes --force\` frees the subnet and deletes its route)`,
    });
  }
  return out;
}
