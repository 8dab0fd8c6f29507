// GCE writes: routes are immutable, so a change is an insert, a delete, or both; every write is an
// operation waited on to DONE, paced by its rate group and fenced as it goes on the wire.
import { onTheWire } from '../wire-fence.ts';
import { ProviderError, type RouteTable } from '../types.ts';
import { OperationPendingError, operationError } from './errors.ts';
import type { GceLookup } from './inventory.ts';
import { gceIdOfInstanceUrl } from './instance-id.ts';
import { isMarked, ownerMark, routeName } from './names.ts';
import type { GceSession } from './session.ts';
import { checkKind, type Done, malformed, opId, PRIORITY, type RawOperation, type RawRoute } from './wire.ts';

export type GceOperations = ReturnType<typeof gceOperations>;
export type GceWrites = ReturnType<typeof gceWrites>;

/** Waiting on operations, and reading one route back. */
export function gceOperations(s: GceSession) {
  const { project, caller, sdk, clock, timeScale, polls, waits, opTimeoutMs, waitCallTimeoutMs } = s;
  /** Waits for a global operation to be DONE (server-side wait, polls spaced provider-wide). */
  async function waitOperation(op: RawOperation, action: string, signal: AbortSignal): Promise<RawOperation> {
    checkKind(action, op, 'compute#operation');
    if (typeof op.name !== 'string') throw malformed(action, 'operation without name');
    const deadline = clock.now() + opTimeoutMs;
    let cur = op;
    while (cur.status !== 'DONE') {
      if (clock.now() > deadline)
        throw new OperationPendingError(
          'busy',
          'OperationPending',
          `${action}: operation ${op.name} not DONE after ${opTimeoutMs * timeScale} ms; the next pass waits on it again`,
          { action, requestId: op.name },
        );
      const next = await waits.use(async () => {
        const [r] = await caller.retrying(
          'globalOperations.wait',
          async () => {
            await polls.take(signal);
            return caller.once(
              'globalOperations.wait',
              (o) => sdk().operations.wait({ project, operation: op.name as string }, o),
              signal,
              waitCallTimeoutMs,
            );
          },
          signal,
        );
        return r;
      }, signal);
      checkKind('globalOperations.wait', next, 'compute#operation');
      cur = next as RawOperation;
    }
    const err = operationError(cur, action);
    if (err) throw err;
    return cur;
  }

  async function getRoute(name: string, signal: AbortSignal): Promise<RawRoute | null> {
    try {
      const [r] = await caller.call('routes.get', (o) => sdk().routes.get({ project, route: name }, o), signal);
      checkKind('routes.get', r, 'compute#route');
      return r as RawRoute;
    } catch (e) {
      if (e instanceof ProviderError && e.kind === 'notFound') return null;
      throw e;
    }
  }
  /**
   * Waits on the operation of a write a previous pass sent (`key` in pendingOps): its outcome when it is
   * DONE, null when it failed (the write is to be made afresh). Still not DONE: OperationPendingError again.
   */
  async function awaitPending(key: string, action: string, signal: AbortSignal): Promise<Done | null> {
    const op = s.pendingOps.get(key);
    if (!op) return null;
    try {
      await waitOperation(op, action, signal);
      s.pendingOps.delete(key);
      return { outcome: 'applied', ...opId(op) };
    } catch (e) {
      if (e instanceof OperationPendingError) throw e;
      s.pendingOps.delete(key);
      signal.throwIfAborted();
      s.log.info(
        { action, operation: op.name, err: e instanceof Error ? e.message : String(e) },
        'earlier write failed',
      );
      return null;
    }
  }

  /** Waits on a write's operation just sent, remembered until DONE so a pass that stops waiting does not resend. */
  async function awaitSent(key: string, op: RawOperation, action: string, signal: AbortSignal): Promise<void> {
    s.pendingOps.set(key, op);
    try {
      await waitOperation(op, action, signal);
      s.pendingOps.delete(key);
    } catch (e) {
      if (!(e instanceof OperationPendingError)) s.pendingOps.delete(key);
      throw e;
    }
  }
  return { waitOperation, getRoute, awaitPending, awaitSent };
}

/** The two writes (routes are immutable): insert and delete, each waited on to DONE. */
export function gceWrites(s: GceSession, deps: Pick<GceLookup, 'instanceLink'> & GceOperations) {
  const { project, cluster, log, caller, sdk, writeTokens, writes, selfLinks } = s;
  const { instanceLink, getRoute, awaitPending, awaitSent } = deps;
  type SdkCall = Parameters<typeof caller.once<unknown[]>>[1];
  /**
   * One write on the wire: a write slot, a token of its rate group, the fence (once the slot is ours: many
   * lanes queue here, and the world may change while they do), then the request, fenced again as it is sent.
   */
  async function send(
    action: string,
    call: SdkCall,
    signal: AbortSignal,
    fence: () => Promise<void>,
    fenceNow?: () => void,
  ): Promise<RawOperation> {
    const [lro] = await writes.use(async () => {
      await writeTokens.take(signal);
      await fence();
      return onTheWire(fenceNow, () => caller.once(action, call, signal));
    }, signal);
    return (lro as { latestResponse: RawOperation }).latestResponse;
  }
  /** Deletes a route by name and waits; a route already gone counts as done. The operation names the change. */
  async function deleteByName(
    name: string,
    signal: AbortSignal,
    fence: () => Promise<void>,
    fenceNow?: () => void,
  ): Promise<Done> {
    const key = `delete:${name}`;
    const earlier = await awaitPending(key, 'routes.delete', signal);
    if (earlier) return earlier;
    return caller.retrying(
      'routes.delete',
      async () => {
        let op: RawOperation;
        try {
          op = await send(
            'routes.delete',
            (o) => sdk().routes.delete({ project, route: name }, o),
            signal,
            fence,
            fenceNow,
          );
        } catch (e) {
          if (e instanceof ProviderError && e.kind === 'notFound') return { outcome: 'alreadyDone' };
          throw e;
        }
        try {
          await awaitSent(key, op, 'routes.delete', signal);
        } catch (e) {
          if (e instanceof ProviderError && e.kind === 'notFound') return { outcome: 'alreadyDone', ...opId(op) };
          throw e;
        }
        return { outcome: 'applied', ...opId(op) };
      },
      signal,
    );
  }

  /** Inserts our route for `destination` → `target` and waits; 409 with the same next hop is success. */
  async function insert(
    table: RouteTable,
    destination: string,
    target: string,
    signal: AbortSignal,
    fence: () => Promise<void>,
    fenceNow?: () => void,
  ): Promise<Done> {
    const link = await instanceLink(target, signal);
    if (!link)
      throw new ProviderError(
        'notFound',
        'InstanceNotFound',
        `routes.insert: instance ${target} not found in project ${project}`,
        { action: 'routes.insert' },
      );
    const name = routeName(cluster, destination);
    const key = `insert:${name}`;
    const earlier = await awaitPending(key, 'routes.insert', signal);
    if (earlier) return earlier;
    const resource = {
      name,
      network: `projects/${project}/global/networks/${table.id}`,
      destRange: destination,
      nextHopInstance: link,
      priority: PRIORITY,
      description: ownerMark(cluster),
    };
    return caller.retrying(
      'routes.insert',
      async () => {
        let op: RawOperation;
        try {
          op = await send(
            'routes.insert',
            (o) => sdk().routes.insert({ project, routeResource: resource }, o),
            signal,
            fence,
            fenceNow,
          );
        } catch (e) {
          // The VM may have been recreated elsewhere since the listing: look it up afresh next time.
          if (e instanceof ProviderError && e.kind === 'notFound') selfLinks.delete(target);
          if (!(e instanceof ProviderError && e.kind === 'alreadyExists')) throw e;
          const existing = await getRoute(name, signal);
          // Held by an insert still in flight (a racing controller's, or ours from before a restart): looked at
          // again next pass, not re-sent in a loop of 409s now.
          if (!existing)
            throw new OperationPendingError(
              'busy',
              'RouteNotReady',
              `routes.insert: ${name} exists but is not readable yet (an insert is running)`,
              { action: 'routes.insert' },
            );
          if (
            existing.destRange === destination &&
            existing.nextHopInstance &&
            gceIdOfInstanceUrl(existing.nextHopInstance) === target
          )
            return { outcome: 'alreadyDone' };
          if (!isMarked(cluster, String(existing.name), existing.description)) throw e;
          // Ours, but pointing elsewhere: routes are immutable, so delete and insert again.
          log.info(
            { route: name, was: existing.nextHopInstance, want: target },
            'route exists with another next hop; recreating',
          );
          await deleteByName(name, signal, fence, fenceNow);
          throw new ProviderError('busy', 'Recreate', `routes.insert: ${name} recreated`, { action: 'routes.insert' });
        }
        await awaitSent(key, op, 'routes.insert', signal);
        return { outcome: 'applied', ...opId(op) };
      },
      signal,
    );
  }
  return { deleteByName, insert };
}
