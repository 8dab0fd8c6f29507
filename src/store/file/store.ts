// The embedded single-replica store: one JSON file, rewritten atomically on every change (temp file,
// fsync, rename, fsync of the directory) so a crash leaves either the old or the new state, never half.
// A missing file is a fresh start; anything else that cannot be read or parsed is an error: resetting to
// empty would hand out subnets that running VMs still route to.
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { writeFileAtomic } from '../../lib/write-atomic.ts';
import {
  allocateIn,
  emptyState,
  purgeReleasedIn,
  rekeyIn,
  releaseIn,
  setMissingIn,
  snapshotOf,
  stateFrom,
  storedSubnetProblem,
  type PoolShape,
  type State,
} from '../state.ts';
import type {
  AllocateResult,
  Allocation,
  AllocationRequest,
  IdMove,
  Released,
  Store,
  StoreSnapshot,
} from '../types.ts';

export const FILE_SCHEMA_VERSION = 1;
/** Relative to the config file's directory when the config comes from a file (config.ts anchorStorePath). */
export const DEFAULT_STORE_PATH = '.routesync/state.json';

interface FileDoc {
  version: number;
  allocations: Allocation[];
  released: Released[];
}

export class StoreCorruptError extends Error {
  constructor(path: string, why: string) {
    super(
      `store file ${path} is unreadable: ${why} (not resetting it; fix or restore it, or move it away to start empty)`,
    );
    this.name = 'StoreCorruptError';
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseDoc(path: string, text: string, pool: PoolShape | undefined): State {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new StoreCorruptError(path, `not valid JSON (${(e as Error).message})`);
  }
  if (!isObj(doc)) throw new StoreCorruptError(path, 'not a JSON object');
  if (doc.version !== FILE_SCHEMA_VERSION) {
    throw new StoreCorruptError(
      path,
      `schema version ${JSON.stringify(doc.version)}, this routesync reads version ${FILE_SCHEMA_VERSION}`,
    );
  }
  if (!Array.isArray(doc.allocations) || !Array.isArray(doc.released))
    throw new StoreCorruptError(path, 'allocations and released must be arrays');
  doc.allocations.forEach((a, i) => {
    if (
      !isObj(a) ||
      typeof a.instanceId !== 'string' ||
      typeof a.subnet !== 'string' ||
      typeof a.allocatedAt !== 'number'
    ) {
      throw new StoreCorruptError(path, `allocations[${i}] lacks instanceId, subnet or allocatedAt`);
    }
  });
  doc.released.forEach((r, i) => {
    if (!isObj(r) || typeof r.subnet !== 'string' || typeof r.releasedAt !== 'number') {
      throw new StoreCorruptError(path, `released[${i}] lacks subnet or releasedAt`);
    }
  });
  const snapshot = { allocations: doc.allocations as Allocation[], released: doc.released as Released[] };
  snapshot.allocations.forEach((a, i) => {
    const why = storedSubnetProblem(a.subnet, pool);
    if (why) throw new StoreCorruptError(path, `allocations[${i}] (${a.instanceId}): ${why}`);
  });
  snapshot.released.forEach((r, i) => {
    const why = storedSubnetProblem(r.subnet, pool);
    if (why) throw new StoreCorruptError(path, `released[${i}]: ${why}`);
  });
  const state = stateFrom(snapshot);
  if (state.subnets.size !== snapshot.allocations.length || state.instances.size !== snapshot.allocations.length) {
    throw new StoreCorruptError(path, 'a subnet or a VM appears in more than one allocation');
  }
  return state;
}

export class FileStore implements Store {
  readonly kind = 'file' as const;
  readonly path: string;
  /** Serialises read-modify-write cycles within this process; other processes are kept out by the lock. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private guard: (() => Promise<void>) | undefined;
  private readonly pool: PoolShape | undefined;

  /** With `pool`, every record read must be a /subnetLen inside clusterCIDR (else the load fails). */
  constructor(path: string = DEFAULT_STORE_PATH, opts: { pool?: PoolShape } = {}) {
    this.path = resolve(path);
    this.pool = opts.pool;
  }

  /**
   * Every write first confirms the lock is still ours (I4): `guard` throws when it is not, and nothing is
   * written. Bound to the lock file's FileLeadership by the file kind's open() (./index.ts).
   */
  guardWith(guard: () => Promise<void>): void {
    this.guard = guard;
  }

  private async read(): Promise<State> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return emptyState();
      throw new StoreCorruptError(this.path, `cannot read it (${code ?? (e as Error).message})`);
    }
    return parseDoc(this.path, text, this.pool);
  }

  private async write(state: State): Promise<void> {
    const doc: FileDoc = { version: FILE_SCHEMA_VERSION, ...snapshotOf(state) };
    await writeFileAtomic(this.path, `${JSON.stringify(doc, null, 1)}\n`);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`store ${this.path} is closed`));
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private mutate<T>(fn: (s: State) => { result: T; changed: boolean }): Promise<T> {
    return this.serial(async () => {
      const state = await this.read();
      const { result, changed } = fn(state);
      if (changed) {
        await this.guard?.();
        await this.write(state);
      }
      return result;
    });
  }

  load(): Promise<StoreSnapshot> {
    return this.serial(async () => snapshotOf(await this.read()));
  }

  /** A local file: reachable while its directory exists and can be written (where the next write goes). */
  async ping(): Promise<void> {
    if (this.closed) throw new Error(`store ${this.path} is closed`);
    const dir = dirname(this.path);
    try {
      await access(dir, constants.W_OK | constants.X_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A fresh start: the directory is made on the first write, so only a parent we cannot write is a problem.
      if (code === 'ENOENT') return;
      throw new StoreCorruptError(
        this.path,
        `its directory ${dir} cannot be written (${code ?? (e as Error).message})`,
      );
    }
  }

  allocate(requests: AllocationRequest[]): Promise<AllocateResult> {
    return this.mutate((s) => {
      const result = allocateIn(s, requests);
      return { result, changed: result.committed.length > 0 };
    });
  }

  setMissing(updates: Array<{ instanceId: string; missingSince: number | null }>): Promise<void> {
    return this.mutate((s) => {
      setMissingIn(s, updates);
      return { result: undefined, changed: updates.length > 0 };
    });
  }

  rekey(moves: IdMove[]): Promise<IdMove[]> {
    return this.mutate((s) => {
      const result = rekeyIn(s, moves);
      return { result, changed: result.length > 0 };
    });
  }

  release(instanceIds: string[], at: number): Promise<Released[]> {
    return this.mutate((s) => {
      const result = releaseIn(s, instanceIds, at);
      return { result, changed: result.length > 0 };
    });
  }

  purgeReleased(before: number): Promise<void> {
    return this.mutate((s) => {
      const n = s.released.size;
      purgeReleasedIn(s, before);
      return { result: undefined, changed: s.released.size !== n };
    });
  }

  async close(): Promise<void> {
    await this.queue;
    this.closed = true;
  }
}

export function createFileStore(path?: string): FileStore {
  return new FileStore(path);
}
