// Turns an inventory source's listing into what one pass needs, and decides the safety valve (I3):
// a failed, empty or suspiciously shrunk inventory must never lead to deletions or releases.
import type { Instance } from '../../providers/types.ts';
import type { Allocation } from '../store/types.ts';

export interface InventoryView {
  ok: boolean;
  error?: string;
  /** Every instance listed (all states); empty when the read failed. */
  instances: Instance[];
  byId: Map<string, Instance>;
  /** Listed and not terminated: the VMs that still hold their subnet. */
  present: Set<string>;
  running: Set<string>;
  byState: Record<string, number>;
}

export function inventoryFrom(read: { instances: Instance[] } | { error: unknown }): InventoryView {
  if ('error' in read) {
    const msg = read.error instanceof Error ? read.error.message : String(read.error);
    return {
      ok: false,
      error: msg,
      instances: [],
      byId: new Map(),
      present: new Set(),
      running: new Set(),
      byState: {},
    };
  }
  const byId = new Map<string, Instance>();
  const byState: Record<string, number> = {};
  for (const i of read.instances) {
    byId.set(i.id, i);
    byState[i.state] = (byState[i.state] ?? 0) + 1;
  }
  const present = new Set([...byId.values()].filter((i) => i.state !== 'terminated').map((i) => i.id));
  const running = new Set([...byId.values()].filter((i) => i.state === 'running').map((i) => i.id));
  return { ok: true, instances: [...byId.values()], byId, present, running, byState };
}

export interface ValveInput {
  inventory: InventoryView;
  allocations: readonly Allocation[];
  /** Present-VM count of the last pass whose inventory was trusted (controller memory; absent for one-off runs). */
  baseline?: number;
  maxDeleteFraction: number;
  /** Said with an empty inventory's reason (InventorySource.emptyHint). */
  emptyHint?: string;
}

export interface Valve {
  held: boolean;
  reason?: string;
}

/** How many VMs may vanish between two trusted reads: the fraction, but at least one when the fraction allows any. */
export function allowedLoss(base: number, fraction: number): number {
  if (fraction <= 0) return 0;
  return Math.max(1, Math.floor(base * fraction));
}

export function safetyValve(v: ValveInput): Valve {
  if (!v.inventory.ok) return { held: true, reason: `inventory read failed: ${v.inventory.error ?? 'unknown error'}` };
  const present = v.inventory.present;
  if (present.size === 0 && v.allocations.length > 0) {
    const hint = v.emptyHint ? `: ${v.emptyHint}` : '';
    return { held: true, reason: `inventory is empty while ${v.allocations.length} VM(s) hold subnets${hint}` };
  }
  // Allocation holders that vanished since they were last seen: a deletion each, if trusted.
  const gone = v.allocations.filter((a) => !present.has(a.instanceId) && a.missingSince === undefined).length;
  const allowed = allowedLoss(v.allocations.length, v.maxDeleteFraction);
  if (gone > allowed) {
    return {
      held: true,
      reason: `${gone} of ${v.allocations.length} VMs holding subnets vanished at once (more than maxDeleteFraction ${v.maxDeleteFraction})`,
    };
  }
  if (v.baseline !== undefined && v.baseline - present.size > allowedLoss(v.baseline, v.maxDeleteFraction)) {
    return {
      held: true,
      reason: `inventory shrank from ${v.baseline} to ${present.size} VMs since the last good pass (more than maxDeleteFraction ${v.maxDeleteFraction})`,
    };
  }
  return { held: false };
}
