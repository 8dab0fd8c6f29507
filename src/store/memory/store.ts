// In-process store for tests and `store.type: memory`: the same rules as the others, no persistence.
import {
  allocateIn,
  emptyState,
  purgeReleasedIn,
  rekeyIn,
  releaseIn,
  setMissingIn,
  snapshotOf,
  type State,
} from '../state.ts';
import type { AllocateResult, AllocationRequest, IdMove, Released, Store, StoreSnapshot } from '../types.ts';

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private state: State = emptyState();
  private closed = false;

  private check(): void {
    if (this.closed) throw new Error('memory store is closed');
  }

  async ping(): Promise<void> {
    this.check();
  }

  async load(): Promise<StoreSnapshot> {
    this.check();
    return snapshotOf(this.state);
  }

  async allocate(requests: AllocationRequest[]): Promise<AllocateResult> {
    this.check();
    return allocateIn(this.state, requests);
  }

  async setMissing(updates: Array<{ instanceId: string; missingSince: number | null }>): Promise<void> {
    this.check();
    setMissingIn(this.state, updates);
  }

  async rekey(moves: IdMove[]): Promise<IdMove[]> {
    this.check();
    return rekeyIn(this.state, moves);
  }

  async release(instanceIds: string[], at: number): Promise<Released[]> {
    this.check();
    return releaseIn(this.state, instanceIds, at);
  }

  async purgeReleased(before: number): Promise<void> {
    this.check();
    purgeReleasedIn(this.state, before);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export function createMemoryStore(): MemoryStore {
  return new MemoryStore();
}
