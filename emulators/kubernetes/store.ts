// Versioned object storage, as etcd is to the apiserver: one resourceVersion counter across every kind,
// a bounded history of changes (watch replays it; a start older than the history gets 410 Gone) and
// point-in-time snapshots rebuilt from that history, so paginated lists stay consistent across pages.
import type { ResourceDef } from './resources.ts';
import type { Obj } from './status.ts';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  type: ChangeType;
  rv: number;
  resource: ResourceDef;
  key: string;
  /** The object after the change (for DELETED: its last state, stamped with the deletion's resourceVersion). */
  obj: Obj;
  /** The object before the change; absent for ADDED. */
  prev?: Obj;
}

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function meta(o: Obj): Obj {
  return o.metadata as Obj;
}

export class ObjectStore {
  private rv = 0;
  private readonly byResource = new Map<ResourceDef, Map<string, Obj>>();
  private readonly history: Change[] = [];
  /** Changes with rv <= this are forgotten. */
  private compactedRv = 0;
  private readonly listeners = new Set<(c: Change) => void>();
  private readonly historyLimit: number;

  constructor(historyLimit = 10_000) {
    this.historyLimit = historyLimit;
  }

  currentRv(): number {
    return this.rv;
  }

  oldestRv(): number {
    return this.compactedRv;
  }

  private table(r: ResourceDef): Map<string, Obj> {
    let t = this.byResource.get(r);
    if (!t) {
      t = new Map();
      this.byResource.set(r, t);
    }
    return t;
  }

  get(r: ResourceDef, key: string): Obj | undefined {
    const o = this.table(r).get(key);
    return o ? structuredClone(o) : undefined;
  }

  /** Current objects, in key order (etcd's order), optionally in one namespace. */
  list(r: ResourceDef, namespace?: string): Obj[] {
    return sortByKey(this.table(r), namespace).map(([, o]) => structuredClone(o));
  }

  /** Stores `obj` at a new resourceVersion and returns the stored copy. */
  put(r: ResourceDef, key: string, obj: Obj): Obj {
    const t = this.table(r);
    const prev = t.get(key);
    const rv = ++this.rv;
    const stored = structuredClone(obj);
    meta(stored).resourceVersion = String(rv);
    t.set(key, stored);
    this.record({ type: prev ? 'MODIFIED' : 'ADDED', rv, resource: r, key, obj: stored, ...(prev ? { prev } : {}) });
    return structuredClone(stored);
  }

  /** Removes the object; the DELETED change carries its last state at the deletion's resourceVersion. */
  remove(r: ResourceDef, key: string): Obj | undefined {
    const t = this.table(r);
    const prev = t.get(key);
    if (!prev) return undefined;
    t.delete(key);
    const rv = ++this.rv;
    const last = structuredClone(prev);
    meta(last).resourceVersion = String(rv);
    this.record({ type: 'DELETED', rv, resource: r, key, obj: last, prev });
    return structuredClone(last);
  }

  private record(c: Change): void {
    this.history.push(c);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.compactedRv = (dropped[dropped.length - 1] as Change).rv;
    }
    for (const l of [...this.listeners]) l(c);
  }

  /** Forgets all history: any resourceVersion before now is "too old" (what etcd compaction does). */
  compact(): void {
    this.history.length = 0;
    this.compactedRv = this.rv;
  }

  /** Changes to `r` after `rv`, or undefined when `rv` is older than the history kept. */
  changesSince(r: ResourceDef, rv: number): Change[] | undefined {
    if (rv < this.compactedRv) return undefined;
    return this.history.filter((c) => c.rv > rv && c.resource === r);
  }

  /** The objects of `r` as they were at `rv`, in key order; undefined when that is before the history kept. */
  snapshotAt(r: ResourceDef, rv: number, namespace?: string): Obj[] | undefined {
    if (rv < this.compactedRv) return undefined;
    const state = new Map(this.table(r));
    for (let i = this.history.length - 1; i >= 0; i--) {
      const c = this.history[i] as Change;
      if (c.rv <= rv) break;
      if (c.resource !== r) continue;
      if (c.type === 'ADDED') state.delete(c.key);
      else state.set(c.key, c.prev as Obj);
    }
    return sortByKey(state, namespace).map(([, o]) => structuredClone(o));
  }

  subscribe(fn: (c: Change) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [r, t] of this.byResource) {
      const name = r.group === '' ? r.plural : `${r.plural}.${r.group}`;
      out[name] = t.size;
    }
    return out;
  }
}

function sortByKey(t: Map<string, Obj>, namespace: string | undefined): [string, Obj][] {
  return [...t]
    .filter(([, o]) => namespace === undefined || meta(o).namespace === namespace)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
