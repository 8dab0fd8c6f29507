// Applying one network's changes on GCE: deletes first (they free quota), then replaces (delete + insert:
// routes are immutable), then creates within the project's remaining ROUTES quota, each phase in bounded
// parallel lanes. A refused fence stops everything not yet sent (FencedError); a quota refusal stops the creates.
import { forEachBounded } from '../../src/lib/pool.ts';
import {
  FencedError,
  ProviderError,
  type ApplyOptions,
  type Change,
  type ChangeResult,
  type RouteTable,
} from '../types.ts';
import { Semaphore } from './call.ts';
import { routeName } from './names.ts';
import type { GceQuota } from './routes.ts';
import type { GceSession } from './session.ts';
import type { GceWrites } from './writes.ts';

type Deps = GceWrites & GceQuota;

/** One apply's shared state: what its lanes learn (fence refused, quota gone) stops the others. */
interface Run {
  s: GceSession;
  deps: Deps;
  table: RouteTable;
  changes: Change[];
  opts: ApplyOptions;
  results: (ChangeResult | undefined)[];
  fenceError?: FencedError;
  /** Creates the project still has room for. */
  slots: number;
  quotaError?: ProviderError;
  /** The cloud's own quota refusal, met by one lane: the creates still queued stop. */
  refusedByCloud?: ProviderError;
  /** Without the cloud's own quota figure, creates wait for their operations within `concurrency` lanes. */
  blindCreates?: Semaphore;
}

export async function applyGce(
  s: GceSession,
  deps: Deps,
  table: RouteTable,
  changes: Change[],
  opts: ApplyOptions,
): Promise<ChangeResult[]> {
  const { signal } = opts;
  signal.throwIfAborted();
  opts.onProgress?.({ type: 'start', table: table.id, total: changes.length });
  const run: Run = {
    s,
    deps,
    table,
    changes,
    opts,
    results: new Array(changes.length),
    slots: Number.POSITIVE_INFINITY,
  };

  // Quota first: creates beyond what the project has left are not attempted.
  let quotaKnown = false;
  if (changes.some((c) => c.op === 'create')) {
    try {
      const q = opts.quota ?? (await deps.quota(table, signal));
      run.slots = Math.max(0, q.limit - q.used);
      quotaKnown = q.source === 'api';
    } catch (e) {
      signal.throwIfAborted();
      s.log.warn(
        { err: e instanceof Error ? e.message : String(e) },
        'quota unknown before creates; relying on the cloud to refuse',
      );
    }
  }
  // Without the cloud's own quota figure (unreadable, or a configured/default guess) only the cloud can
  // say stop: creates then wait for their operations within `concurrency` lanes, so a full project costs
  // at most that many refused inserts.
  if (!quotaKnown) run.blindCreates = new Semaphore(s.config.concurrency);

  // Deletes first (they free quota), then replaces, then creates, each phase with bounded parallelism.
  const order = (op: Change['op']) => changes.map((c, i) => (c.op === op ? i : -1)).filter((i) => i >= 0);
  // The lanes only wait; `writes` and `waits` bound what they hold on the wire.
  const lanes = s.maxWrites + s.maxWaits;
  for (const phase of [order('delete'), order('replace'), order('create')])
    await forEachBounded(phase, lanes, (i) => applyOne(run, i), signal);
  signal.throwIfAborted();
  return run.results.map((r, i) => r ?? { change: changes[i] as Change, outcome: 'skipped' });
}

function emit(run: Run, i: number, r: ChangeResult): void {
  run.results[i] = r;
  run.opts.onProgress?.({ type: 'result', table: run.table.id, result: r });
}

/** The caller's fence, once refused always refused: every later write of this apply sees the same error. */
async function fence(run: Run): Promise<void> {
  if (run.fenceError) throw run.fenceError;
  try {
    await run.opts.fence?.();
  } catch (e) {
    run.fenceError = new FencedError(e);
    throw run.fenceError;
  }
}

async function applyOne(run: Run, i: number): Promise<void> {
  const { s, deps, table, opts } = run;
  const { signal } = opts;
  const c = run.changes[i] as Change;
  if (run.fenceError) return emit(run, i, { change: c, outcome: 'skipped', error: run.fenceError });
  const fenced = () => fence(run);
  try {
    if (c.table !== table.id)
      throw new ProviderError('invalid', 'WrongTable', `change for table ${c.table} given to apply on ${table.id}`, {
        action: 'apply',
      });
    if (c.op === 'delete') {
      const name = c.providerId ?? routeName(s.cluster, c.destination);
      const done = await deps.deleteByName(name, signal, fenced, opts.fenceNow);
      run.slots++;
      return emit(run, i, { change: c, ...done });
    }
    if (c.target === null)
      throw new ProviderError('invalid', 'NoTarget', `${c.op} ${c.destination}: target is required`, {
        action: 'apply',
      });
    if (c.op === 'replace') {
      const old = c.providerId ?? routeName(s.cluster, c.destination);
      await deps.deleteByName(old, signal, fenced, opts.fenceNow);
      const done = await deps.insert(table, c.destination, c.target, signal, fenced, opts.fenceNow);
      // The insert's operation is the one that put the new route in place.
      return emit(run, i, { change: c, outcome: 'applied', ...(done.requestId ? { requestId: done.requestId } : {}) });
    }
    return await createOne(run, i, c, c.target);
  } catch (e) {
    signal.throwIfAborted();
    const pe =
      e instanceof ProviderError
        ? e
        : new ProviderError('unavailable', 'Unexpected', String(e), { action: 'apply', cause: e });
    if (pe === run.fenceError) return emit(run, i, { change: c, outcome: 'skipped', error: pe });
    if (pe.kind === 'quota' && c.op === 'create') {
      run.quotaError ??= pe;
      run.refusedByCloud ??= pe;
    }
    s.log.warn({ op: c.op, destination: c.destination, kind: pe.kind, code: pe.code }, 'route change failed');
    return emit(run, i, {
      change: c,
      outcome: 'failed',
      error: pe,
      ...(pe.requestId ? { requestId: pe.requestId } : {}),
    });
  }
}

/** A create within the room left: none is attempted once the quota is known to be gone. */
async function createOne(run: Run, i: number, c: Change, target: string): Promise<void> {
  const { s, deps, table, opts } = run;
  const { signal } = opts;
  if (run.quotaError) return emit(run, i, { change: c, outcome: 'failed', error: run.quotaError });
  if (run.slots <= 0) {
    run.quotaError = new ProviderError(
      'quota',
      'QUOTA_EXCEEDED',
      `routes.insert: project ${s.project} has no ROUTES quota left`,
      { action: 'routes.insert' },
    );
    return emit(run, i, { change: c, outcome: 'failed', error: run.quotaError });
  }
  run.slots--;
  try {
    // The cloud's refusal met by another lane stops the creates still queued for a write slot.
    const createFence = async () => {
      await fence(run);
      if (run.refusedByCloud) throw run.refusedByCloud;
    };
    const create = () =>
      deps.insert(table, c.destination, target, signal, createFence, opts.fenceNow).catch((e: unknown) => {
        // Noted before the lane is handed on, so the next queued create sees it.
        if (e instanceof ProviderError && e.kind === 'quota') run.refusedByCloud ??= e;
        throw e;
      });
    const done = await (run.blindCreates ? run.blindCreates.use(create, signal) : create());
    if (done.outcome === 'alreadyDone') run.slots++;
    return emit(run, i, { change: c, ...done });
  } catch (e) {
    run.slots++;
    throw e;
  }
}
