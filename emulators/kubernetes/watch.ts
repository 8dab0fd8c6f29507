// One watch stream: newline-delimited JSON events on a chunked 200 response, as the apiserver sends them.
// Starting points follow the API's resourceVersion rules: unset or "0" → synthetic ADDED events for what
// exists now, then changes; N → every change after N, or a 410 Expired ERROR event when N is older than
// the history kept. With a selector an object that stops matching is DELETED for this watcher, one that
// starts matching is ADDED. Bookmarks come every bookmarkIntervalMs when the client allows them.
import type { ServerResponse } from 'node:http';
import { matches, type ListQuery } from './api.ts';
import { apiVersionOf, type ResourceDef } from './resources.ts';
import { ApiError, expired, type Obj } from './status.ts';
import type { Change, ChangeType, ObjectStore } from './store.ts';
import { toTable, type IncludeObject } from './table.ts';

export interface WatchOptions {
  resource: ResourceDef;
  namespace?: string;
  query: ListQuery;
  resourceVersion: string | null;
  bookmarks: boolean;
  bookmarkIntervalMs: number;
  /** Real ms after which the server ends the watch (timeoutSeconds, time-scaled); none when undefined. */
  timeoutMs?: number;
  /** Table version when the client asked for as=Table. */
  table?: string;
  includeObject: IncludeObject;
  now: () => number;
}

export class WatchStream {
  private readonly res: ServerResponse;
  private readonly opts: WatchOptions;
  private readonly store: ObjectStore;
  private unsubscribe: (() => void) | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;
  /** A stalled watch keeps its connection but sends nothing more (client-node #596, #958). */
  stalled = false;
  private readonly onClose: () => void;
  /** The request's path and query, as the client sent them. */
  readonly url: string;

  constructor(res: ServerResponse, store: ObjectStore, opts: WatchOptions, onClose: () => void) {
    this.res = res;
    this.store = store;
    this.opts = opts;
    this.onClose = onClose;
    this.url = res.req.url ?? '';
    res.on('close', () => this.close());
  }

  /** Sends headers and the replay, then follows the store; `mode` plays the watch faults. */
  start(mode: 'normal' | 'stall' | 'drop' | 'gone' = 'normal'): void {
    this.res.writeHead(200, {
      'content-type': 'application/json',
      'cache-control': 'no-cache, private',
      'transfer-encoding': 'chunked',
    });
    this.res.flushHeaders();
    if (mode === 'drop') return this.end();
    if (mode === 'stall') {
      this.stalled = true;
      return;
    }
    if (mode === 'gone')
      return this.fail(
        expired(`too old resource version: ${this.opts.resourceVersion ?? '0'} (${this.store.currentRv()})`),
      );
    const r = this.opts.resource;
    const rvParam = this.opts.resourceVersion;
    const ns = this.opts.namespace;
    if (rvParam === null || rvParam === '' || rvParam === '0') {
      if (!r.alwaysEmpty)
        for (const o of this.store.list(r, ns)) if (matches(this.opts.query, o)) this.send('ADDED', o);
    } else {
      const rv = /^\d+$/.test(rvParam) ? Number(rvParam) : NaN;
      if (Number.isNaN(rv))
        return this.fail(new ApiError(400, 'BadRequest', `resourceVersion: invalid value "${rvParam}"`));
      if (rv > this.store.currentRv())
        return this.fail(
          new ApiError(504, 'Timeout', `Too large resource version: ${rv}, current: ${this.store.currentRv()}`),
        );
      const since = this.store.changesSince(r, rv);
      if (!since) return this.fail(expired(`too old resource version: ${rv} (${this.store.oldestRv() + 1})`));
      for (const c of since) this.deliver(c);
    }
    this.unsubscribe = this.store.subscribe((c) => {
      if (c.resource === r) this.deliver(c);
    });
    if (this.opts.bookmarks) {
      this.timers.push(setInterval(() => this.bookmark(), this.opts.bookmarkIntervalMs));
    }
    if (this.opts.timeoutMs !== undefined) this.timers.push(setTimeout(() => this.end(), this.opts.timeoutMs));
  }

  private deliver(c: Change): void {
    const ns = this.opts.namespace;
    if (ns !== undefined && (c.obj.metadata as Obj).namespace !== ns) return;
    const now = matches(this.opts.query, c.obj);
    const before = c.prev !== undefined && matches(this.opts.query, c.prev);
    let type: ChangeType;
    if (c.type === 'DELETED') {
      if (!before) return;
      type = 'DELETED';
    } else if (now && before) type = 'MODIFIED';
    else if (now) type = 'ADDED';
    else if (before) type = 'DELETED';
    else return;
    this.send(type, c.obj);
  }

  private send(type: ChangeType | 'BOOKMARK' | 'ERROR', obj: Obj): void {
    if (this.closed || this.stalled) return;
    let object = obj;
    if (this.opts.table !== undefined && type !== 'ERROR' && type !== 'BOOKMARK') {
      object = toTable(
        this.opts.resource,
        [obj],
        { resourceVersion: (obj.metadata as Obj).resourceVersion },
        this.opts.includeObject,
        this.opts.now(),
        this.opts.table,
      );
    }
    this.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  bookmark(): void {
    const r = this.opts.resource;
    this.send('BOOKMARK', {
      kind: r.kind,
      apiVersion: apiVersionOf(r),
      metadata: { resourceVersion: String(this.store.currentRv()) },
    });
  }

  private fail(e: ApiError): void {
    this.send('ERROR', e.toStatus());
    this.end();
  }

  /** Ends the stream cleanly (what a watch timeout or an apiserver restart looks like to the client). */
  end(): void {
    if (!this.closed) this.res.end();
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearTimeout(t);
    this.onClose();
  }
}
