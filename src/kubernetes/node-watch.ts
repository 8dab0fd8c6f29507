// The cluster's Nodes, kept current the way client-go's reflector does it: list every page (one consistent
// snapshot: each page is read at the first page's resourceVersion), then watch from that resourceVersion.
// - A failed or partial list is a failed read (I3): it throws, the previous snapshot is not passed off as
//   current, and nothing is "no Nodes".
// - The watch is restarted whenever it ends, errors or goes silent (no event and no bookmark for silenceMs:
//   client-node#596/#958), from the last resourceVersion seen, with backoff when it keeps failing fast.
// - 410 Gone (the resourceVersion is older than the server's history) relists, and the relist is diffed
//   against what we held, so a deletion the watch never delivered is seen too.
// - Changes are coalesced: a burst of events is one signal, debounceMs after its first event. Only changes
//   that matter to routing signal (providerID, podCIDRs, addresses, the exclusion label, deletion,
//   NetworkUnavailable, Ready), not the kubelet's heartbeats.
// - `routesync.io/exclude=true` takes a Node out; excluded Nodes are still listed as such (for status).
// - The cache keeps each Node slimmed (slimNode): the fields routing, the store, the reports and status read.
// This becomes the Kubernetes InventorySource once issue 13's interface has landed.
import type { V1Node } from '@kubernetes/client-node';
import { systemClock, type Clock } from '../lib/clock.ts';
import type { Logger } from '../log.ts';
import { apiMessage, type KubeClient } from './client.ts';
import { listEveryNode } from './node-list.ts';
import { DEFAULT_EXCLUDE, isExcluded, routingFingerprint, slimNode } from './node-shape.ts';

export { EXCLUDE_LABEL } from './node-shape.ts';

export interface NodeWatchOptions {
  kube: Pick<KubeClient, 'core' | 'watch' | 'options'>;
  logger: Logger;
  clock?: Clock;
  /** Events within this long of the first are one change signal (reconcile.debounce). */
  debounceMs: number;
  /** The label that takes a Node out (`kubernetes.excludeLabel`); default routesync.io/exclude=true. */
  exclude?: { key: string; value: string };
  /** Items per list page (client-go: 500). */
  pageSize?: number;
  /** No event or bookmark for this long: the watch is taken for dead and restarted. */
  silenceMs?: number;
  /** The server ends each watch after this long (client-go: 5–10 min); a fresh one starts from the last RV. */
  watchTimeoutSeconds?: number;
  /** Backoff between failing lists/watches: client-go's reflector, 800 ms doubling to 30 s. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** One request (a list page) may take this long. */
  requestTimeoutMs?: number;
}

export class NodeListError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeListError';
  }
}

export interface NodeSnapshot {
  /** The Nodes that take part (not excluded), by name. */
  nodes: ReadonlyMap<string, V1Node>;
  /** Names of Nodes carrying routesync.io/exclude=true. */
  excluded: readonly string[];
  /** The resourceVersion the snapshot is at. */
  resourceVersion: string;
}

export interface NodeWatchStats {
  lists: number;
  listPages: number;
  watches: number;
  relists: number;
  events: number;
  bookmarks: number;
  signals: number;
}

interface WatchEvent {
  type: string;
  object: unknown;
}

export class NodeWatch {
  private readonly o: Required<Omit<NodeWatchOptions, 'clock'>> & { clock: Clock };
  private readonly logger: Logger;
  private all = new Map<string, V1Node>();
  private rv = '';
  private synced = false;
  private lastError: string | undefined;
  private readonly listeners = new Set<(names: ReadonlySet<string>) => void>();
  private pending = new Set<string>();
  private flushing = false;
  private stopper: AbortController | undefined;
  private loop: Promise<void> | undefined;
  readonly stats: NodeWatchStats = {
    lists: 0,
    listPages: 0,
    watches: 0,
    relists: 0,
    events: 0,
    bookmarks: 0,
    signals: 0,
  };

  constructor(o: NodeWatchOptions) {
    this.o = {
      pageSize: 500,
      silenceMs: 60_000,
      watchTimeoutSeconds: 300,
      backoffInitialMs: 800,
      backoffMaxMs: 30_000,
      requestTimeoutMs: 30_000,
      clock: systemClock,
      exclude: DEFAULT_EXCLUDE,
      ...o,
    };
    this.logger = o.logger;
  }

  /**
   * Lists, then keeps watching until stop(). Resolves once the first list is complete; rejects when that
   * first list fails, and may be called again (the caller decides when to retry). `watch: false` lists
   * once and opens no watch (a one-off command: `routesync status`).
   */
  async start(opts: { watch?: boolean } = {}): Promise<void> {
    if (this.stopper) throw new Error('NodeWatch already started');
    this.stopper = new AbortController();
    try {
      await this.relist();
    } catch (e) {
      this.stopper = undefined;
      throw e;
    }
    if (opts.watch !== false) this.loop = this.run(this.stopper.signal);
  }

  async stop(): Promise<void> {
    this.stopper?.abort();
    await this.loop;
  }

  /** The current Nodes; throws NodeListError while the last list failed and none has succeeded since (I3). */
  current(): NodeSnapshot {
    if (!this.synced) throw new NodeListError(`Nodes not known: ${this.lastError ?? 'not listed yet'}`);
    const nodes = new Map<string, V1Node>();
    const excluded: string[] = [];
    for (const [name, n] of this.all) {
      if (isExcluded(n, this.o.exclude)) excluded.push(name);
      else nodes.set(name, n);
    }
    return { nodes, excluded: excluded.sort(), resourceVersion: this.rv };
  }

  /**
   * Every Node, excluded ones too: the store's view (an excluded Node still holds its podCIDR, so its subnet
   * is nobody else's). Throws like current() while the Nodes are not known.
   */
  allNodes(): V1Node[] {
    if (!this.synced) throw new NodeListError(`Nodes not known: ${this.lastError ?? 'not listed yet'}`);
    return [...this.all.values()];
  }

  /** Called with the names that changed, once per debounced burst; returns the unsubscribe. */
  onChange(cb: (names: ReadonlySet<string>) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private async listAll(): Promise<{ items: V1Node[]; rv: string }> {
    const items: V1Node[] = [];
    let rv: string | undefined;
    await listEveryNode(
      {
        kube: this.o.kube,
        pageSize: this.o.pageSize,
        timeoutMs: this.o.requestTimeoutMs,
        fail: (message) => new NodeListError(message),
        onPage: (list, page) => {
          this.stats.listPages++;
          const pageRv = list.metadata?.resourceVersion;
          if (!pageRv)
            throw new NodeListError(`listing Nodes (page ${page}): the list has no metadata.resourceVersion`);
          rv ??= pageRv;
        },
      },
      // Slimmed page by page: a relist never holds every full Node at once.
      (n) => items.push(slimNode(n)),
    );
    return { items, rv: rv as string };
  }

  /** A full list replaces the cache; what changed (including deletions the watch missed) is signalled. */
  private async relist(): Promise<void> {
    let got: { items: V1Node[]; rv: string };
    try {
      got = await this.listAll();
    } catch (e) {
      this.synced = false;
      this.lastError = (e as Error).message;
      throw e;
    }
    this.stats.lists++;
    const next = new Map(got.items.map((n) => [n.metadata?.name as string, n]));
    const changed = new Set<string>();
    for (const [name, n] of next) {
      const was = this.all.get(name);
      if (!was || routingFingerprint(was, this.o.exclude) !== routingFingerprint(n, this.o.exclude)) changed.add(name);
    }
    for (const name of this.all.keys()) if (!next.has(name)) changed.add(name);
    const first = !this.synced && this.all.size === 0 && this.stats.lists === 1;
    this.all = next;
    this.rv = got.rv;
    this.synced = true;
    this.lastError = undefined;
    if (!first) for (const n of changed) this.mark(n);
  }

  private backoff(failures: number): number {
    return Math.min(this.o.backoffMaxMs, this.o.backoffInitialMs * 2 ** Math.max(0, failures - 1));
  }

  private async run(stop: AbortSignal): Promise<void> {
    let failures = 0;
    let needList = false;
    while (!stop.aborted) {
      if (needList) {
        try {
          this.stats.relists++;
          await this.relist();
          needList = false;
        } catch (e) {
          failures++;
          this.logger.warn({ err: (e as Error).message, retryInMs: this.backoff(failures) }, 'Node list failed');
          await this.o.clock.sleep(this.backoff(failures), stop).catch(() => undefined);
          continue;
        }
      }
      const outcome = await this.watchOnce(stop);
      if (stop.aborted) return;
      if (outcome.kind === 'gone') {
        this.logger.info({ resourceVersion: this.rv }, 'Node watch: resourceVersion too old (410), relisting');
        needList = true;
        continue;
      }
      // A watch that delivered something, or lasted, was healthy: restart at once. One that failed at once
      // (refused, 5xx, 429) backs off, as the reflector does.
      if (outcome.healthy) failures = 0;
      else failures++;
      if (outcome.kind === 'error' || outcome.kind === 'silent')
        this.logger.warn(
          { reason: outcome.detail, retryInMs: failures > 0 ? this.backoff(failures) : 0 },
          'Node watch ended; restarting',
        );
      if (failures > 0) await this.o.clock.sleep(this.backoff(failures), stop).catch(() => undefined);
    }
  }

  /** One watch request, from this.rv, until it ends. */
  private async watchOnce(
    stop: AbortSignal,
  ): Promise<{ kind: 'ended' | 'gone' | 'error' | 'silent'; healthy: boolean; detail?: string }> {
    this.stats.watches++;
    const startedAt = this.o.clock.monotonic();
    let lastLife = startedAt;
    let delivered = 0;
    let result: { kind: 'ended' | 'gone' | 'error' | 'silent'; detail?: string } | undefined;
    let ctl: AbortController | undefined;
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    const end = (r: { kind: 'ended' | 'gone' | 'error' | 'silent'; detail?: string }) => {
      result ??= r;
      ctl?.abort();
      finish();
    };
    const onStop = () => end({ kind: 'ended' });
    stop.addEventListener('abort', onStop, { once: true });
    const watchdog = new AbortController();
    void (async () => {
      const tick = Math.max(10, Math.floor(this.o.silenceMs / 4));
      while (!watchdog.signal.aborted) {
        await this.o.clock.sleep(tick, watchdog.signal).catch(() => undefined);
        if (watchdog.signal.aborted) return;
        if (this.o.clock.monotonic() - lastLife > this.o.silenceMs)
          return end({ kind: 'silent', detail: `no event or bookmark for ${this.o.silenceMs} ms` });
      }
    })();
    try {
      ctl = await this.o.kube.watch.watch(
        '/api/v1/nodes',
        { resourceVersion: this.rv, allowWatchBookmarks: true, timeoutSeconds: this.o.watchTimeoutSeconds },
        (type: string, object: unknown) => {
          if (result) return;
          lastLife = this.o.clock.monotonic();
          delivered++;
          const r = this.apply({ type, object });
          if (r) end(r);
        },
        (err: unknown) => {
          if (!err) return end({ kind: 'ended' });
          const code = (err as { statusCode?: unknown }).statusCode;
          if (code === 410) return end({ kind: 'gone' });
          end({ kind: 'error', detail: code ? `HTTP ${String(code)}` : apiMessage(err) });
        },
      );
      if (result) ctl.abort();
      await finished;
    } finally {
      watchdog.abort();
      stop.removeEventListener('abort', onStop);
    }
    const r = result ?? { kind: 'ended' as const };
    const lasted = this.o.clock.monotonic() - startedAt;
    return { ...r, healthy: delivered > 0 || lasted >= this.o.backoffInitialMs };
  }

  /** One watch event into the cache; a result ends the watch. */
  private apply(e: WatchEvent): { kind: 'gone' | 'error'; detail?: string } | undefined {
    const obj = (e.object ?? {}) as V1Node & { code?: number; message?: string };
    const rv = obj.metadata?.resourceVersion;
    if (e.type === 'ERROR') {
      if (obj.code === 410) return { kind: 'gone' };
      return { kind: 'error', detail: `watch ERROR ${obj.code ?? ''} ${obj.message ?? ''}`.trim() };
    }
    if (e.type === 'BOOKMARK') {
      this.stats.bookmarks++;
      if (rv) this.rv = rv;
      return undefined;
    }
    const name = obj.metadata?.name;
    if (!name || !rv) return { kind: 'error', detail: `watch ${e.type} without metadata.name/resourceVersion` };
    this.stats.events++;
    if (e.type === 'DELETED') {
      if (this.all.delete(name)) this.mark(name);
    } else if (e.type === 'ADDED' || e.type === 'MODIFIED') {
      const was = this.all.get(name);
      const slim = slimNode(obj);
      this.all.set(name, slim);
      if (!was || routingFingerprint(was, this.o.exclude) !== routingFingerprint(slim, this.o.exclude)) this.mark(name);
    } else return { kind: 'error', detail: `watch event type ${JSON.stringify(e.type)}` };
    this.rv = rv;
    return undefined;
  }

  private mark(name: string): void {
    this.pending.add(name);
    if (this.flushing) return;
    this.flushing = true;
    void this.o.clock
      .sleep(this.o.debounceMs, this.stopper?.signal)
      .catch(() => undefined)
      .then(() => {
        this.flushing = false;
        const names = this.pending;
        this.pending = new Set();
        if (names.size === 0) return;
        this.stats.signals++;
        for (const cb of this.listeners) {
          try {
            cb(names);
          } catch (err) {
            this.logger.error({ err }, 'Node change listener threw');
          }
        }
      });
  }
}
