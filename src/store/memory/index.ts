// store.type memory: tests and demos; always the leader.
import type { StoreKind } from '../kind.ts';
import { MemoryLeadership } from './leadership.ts';
import { MemoryStore } from './store.ts';

export const memoryStore: StoreKind = {
  location: () => ({ type: 'memory' }),
  async open() {
    return { store: new MemoryStore(), leadership: new MemoryLeadership() };
  },
};
