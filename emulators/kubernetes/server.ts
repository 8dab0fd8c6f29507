// The Kubernetes API emulator's HTTP server: discovery, the resources in resources.ts, watch streams,
// bearer-token checks (401), injected faults, a per-client request log (the cloud emulators' counters) and
// the admin API under /_emulator/. Plain HTTP on loopback by default: kubectl and @kubernetes/client-node
// take `server: http://127.0.0.1:PORT` in a kubeconfig. kubectl (client-go) sends a kubeconfig's bearer
// token only over TLS, so checking kubectl's token needs `tls` (a cert for 127.0.0.1).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { scaledClock, type EmuClock } from '../shared/clock.ts';
import { RequestCounters } from '../shared/counters.ts';
import { FaultInjector, parseFaultRule, type FaultRule } from '../shared/faults.ts';
import { parseAdminJson, readBody } from '../shared/http-body.ts';
import { seededRng, type Rng } from '../shared/rng.ts';
import { AdminError } from '../shared/types.ts';
import { KubeApi, selectorsOf } from './api.ts';
import { kubeconfigFor } from './kubeconfig.ts';
import { nodeFromSeed, parseNodeSeed, type NodeSeed } from './nodes.ts';
import { k8sTime, Registry } from './registry.ts';
import { discovery, findResource, SERVER_VERSION } from './resources.ts';
import { actionName, isMutating, resolve } from './routes.ts';
import { ApiError, type Obj } from './status.ts';
import { ObjectStore } from './store.ts';
import { wantsTable, type IncludeObject } from './table.ts';
import { WatchStream } from './watch.ts';

export interface KubeEmulatorOptions {
  host?: string;
  port?: number;
  /** Bearer tokens accepted; when set, any other request gets 401. Unset: every request is let in. */
  tokens?: string[];
  /** Emulated milliseconds per real one (timestamps, ages, watch timeoutSeconds). */
  timeScale?: number;
  seed?: number;
  /** Changes kept for watch replay and consistent pages; older resourceVersions get 410. */
  historyLimit?: number;
  /** Real ms between bookmarks on watches that allow them; default one emulated minute. */
  bookmarkIntervalMs?: number;
  /** Real ms an injected `timeout` holds a request before dropping the connection. */
  timeoutFaultMs?: number;
  /** Seconds in the Retry-After of an injected 429. */
  retryAfterSeconds?: number;
  nodes?: NodeSeed[];
  /** Serve HTTPS with this PEM cert/key; `ca` (PEM) goes into the kubeconfig. */
  tls?: { cert: string; key: string; ca?: string };
}

export interface RunningKubeEmulator {
  readonly url: string;
  readonly port: number;
  readonly store: ObjectStore;
  readonly registry: Registry;
  readonly counters: RequestCounters;
  readonly faults: FaultInjector;
  readonly clock: EmuClock;
  /** A kubeconfig (YAML) for this server; `token` goes into the user entry. */
  kubeconfig(opts?: { token?: string; namespace?: string }): string;
  /** Open watch streams; with `urlIncludes`, only those whose request URL contains it (a test's own watch). */
  watchCount(urlIncludes?: string): number;
  /** Ends every open watch cleanly; returns how many. */
  dropWatches(): number;
  /** Open watches stop sending (events and bookmarks) but stay connected; returns how many. */
  stallWatches(): number;
  close(): Promise<void>;
}

/**
 * Faults this server plays; `action` in a rule is e.g. `watch:nodes`, `patch:nodes/status`, `update:leases`,
 * or with an object's name after a colon only that object's requests: `patch:nodes:node-3`.
 */
export const KUBE_FAULTS = [
  '5xx',
  '503',
  'throttle',
  'timeout',
  'reset',
  'stall',
  'drop',
  'gone',
  'forbidden',
] as const;

export async function startKubeEmulator(opts: KubeEmulatorOptions = {}): Promise<RunningKubeEmulator> {
  const clock = scaledClock(opts.timeScale ?? 1);
  const rng: Rng = seededRng(opts.seed ?? 1);
  const store = new ObjectStore(opts.historyLimit ?? 10_000);
  const suffix = () => Array.from({ length: 5 }, () => 'bcdfghjklmnpqrstvwxz2456789'[Math.floor(rng() * 27)]).join('');
  const registry = new Registry(store, () => clock.now(), suffix);
  const api = new KubeApi(store, registry, () => clock.now());
  const counters = new RequestCounters();
  const faults = new FaultInjector(seededRng((opts.seed ?? 1) ^ 0x5eed));
  const tokens = opts.tokens ? new Set(opts.tokens) : undefined;
  const bookmarkIntervalMs = opts.bookmarkIntervalMs ?? Math.max(50, 60_000 / clock.timeScale);
  const retryAfter = String(opts.retryAfterSeconds ?? 1);
  const watches = new Set<WatchStream>();
  const sockets = new Set<Socket>();
  const held = new Set<NodeJS.Timeout>();
  const nodesDef = findResource('', 'v1', 'nodes')!;
  let serverAddress = '';

  function addNodes(seeds: NodeSeed[]): Obj[] {
    return seeds.map((s) => registry.create(nodesDef, undefined, nodeFromSeed(s, k8sTime(clock.now()))));
  }
  addNodes(opts.nodes ?? []);

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    void serve(req, res).catch((e: unknown) => {
      // A bug in the emulator must reach the client as a 500, not as a hung request.
      if (!res.headersSent)
        sendJson(res, 500, new ApiError(500, 'InternalError', `emulator error: ${String(e)}`).toStatus());
      else res.destroy();
    });
  };
  const server: Server = opts.tls
    ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler)
    : createServer(handler);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  function clientOf(req: IncomingMessage): string {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)$/i.exec(h) : null;
    return m ? (m[1] as string) : 'anonymous';
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    if (url.pathname.startsWith('/_emulator/')) return admin(method, url, body, res);
    const client = clientOf(req);
    const rr = resolve(method, url);
    const action = rr
      ? actionName(rr)
      : url.pathname.startsWith('/api') || url.pathname === '/version'
        ? 'discovery'
        : 'other';
    const mutating = rr ? isMutating(rr.verb) : false;
    const log = (outcome: string) => counters.record({ at: clock.now(), client, action, outcome, mutating });

    if (tokens && !tokens.has(client)) {
      log('Unauthorized');
      return sendJson(res, 401, new ApiError(401, 'Unauthorized', 'Unauthorized').toStatus());
    }
    // A rule may name one object: `patch:nodes:node-3` (a policy refusing one Node's writes).
    const fault = rr?.name ? faults.pick(action, `${action}:${rr.name}`) : faults.pick(action);
    const error = fault?.error;
    if (error === 'reset' || (error === 'drop' && rr?.verb !== 'watch')) {
      log('reset');
      req.socket.destroy();
      return;
    }
    if (error === 'timeout' || (error === 'stall' && rr?.verb !== 'watch')) {
      log(error);
      const t = setTimeout(() => {
        held.delete(t);
        req.socket.destroy();
      }, opts.timeoutFaultMs ?? 5000);
      held.add(t);
      return;
    }
    if (error === 'forbidden' && rr) {
      // RBAC's refusal, worded as the authorizer words it (a ClusterRole without this verb/resource).
      const what = `${rr.resource.plural}${rr.subresource ? `/${rr.subresource}` : ''}`;
      const scope = rr.namespace ? `in the namespace "${rr.namespace}"` : 'at the cluster scope';
      const e = new ApiError(
        403,
        'Forbidden',
        `${rr.resource.plural}${rr.name ? ` "${rr.name}"` : ''} is forbidden: User "${client}" cannot ${rr.verb} resource "${what}" in API group "${rr.resource.group}" ${scope}`,
        { ...(rr.name ? { name: rr.name } : {}), kind: rr.resource.plural },
      );
      log(e.reason);
      return sendJson(res, e.code, e.toStatus());
    }
    if (error === '5xx' || error === '503' || error === 'throttle' || (error === 'gone' && rr?.verb !== 'watch')) {
      const e =
        error === 'throttle'
          ? new ApiError(
              429,
              'TooManyRequests',
              'Too many requests, please try again later.',
              { retryAfterSeconds: Number(retryAfter) },
              { 'retry-after': retryAfter },
            )
          : error === '503'
            ? new ApiError(
                503,
                'ServiceUnavailable',
                'the server is currently unable to handle the request',
                undefined,
                { 'retry-after': retryAfter },
              )
            : error === 'gone'
              ? new ApiError(410, 'Expired', 'too old resource version: injected fault')
              : new ApiError(500, 'InternalError', 'Internal error occurred: injected fault');
      log(e.reason);
      return sendJson(res, e.code, e.toStatus(), e.headers);
    }

    try {
      if (url.pathname === '/version' && method === 'GET') {
        log('ok');
        return sendJson(res, 200, SERVER_VERSION);
      }
      if (['/healthz', '/livez', '/readyz'].includes(url.pathname)) {
        log('ok');
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
        return;
      }
      if (!rr) {
        const doc = method === 'GET' ? discovery(url.pathname.replace(/\/+$/, ''), serverAddress) : undefined;
        if (!doc) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
        log('ok');
        return sendJson(res, 200, doc);
      }
      const table = wantsTable(req.headers.accept);
      if (rr.verb === 'watch') {
        const t = url.searchParams.get('timeoutSeconds');
        const timeoutSeconds = t === null || t === '' ? undefined : Number(t);
        if (timeoutSeconds !== undefined && !(timeoutSeconds >= 0))
          throw new ApiError(400, 'BadRequest', `timeoutSeconds: invalid value "${t}"`);
        const stream = new WatchStream(
          res,
          store,
          {
            resource: rr.resource,
            ...(rr.namespace !== undefined ? { namespace: rr.namespace } : {}),
            query: selectorsOf(url),
            resourceVersion: url.searchParams.get('resourceVersion'),
            bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true',
            bookmarkIntervalMs,
            ...(timeoutSeconds ? { timeoutMs: (timeoutSeconds * 1000) / clock.timeScale } : {}),
            ...(table !== undefined ? { table } : {}),
            includeObject: (url.searchParams.get('includeObject') ?? 'Metadata') as IncludeObject,
            now: () => clock.now(),
          },
          () => watches.delete(stream),
        );
        watches.add(stream);
        log(error ?? 'ok');
        stream.start(error === 'stall' || error === 'drop' || error === 'gone' ? error : 'normal');
        return;
      }
      const out = api.handle(rr, url, body, String(req.headers['content-type'] ?? ''), table);
      log('ok');
      return sendJson(res, out.status, out.body);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      log(e.reason);
      return sendJson(res, e.code, e.toStatus(), e.headers);
    }
  }

  function admin(method: string, url: URL, body: string, res: ServerResponse): void {
    const path = url.pathname.slice('/_emulator/'.length).replace(/\/+$/, '');
    const json = (status: number, value: unknown) => sendJson(res, status, value);
    try {
      const b = body.trim() === '' ? {} : parseAdminJson(body);
      if (method === 'GET' && path === 'state') {
        return json(200, {
          resourceVersion: String(store.currentRv()),
          oldestResourceVersion: String(store.oldestRv()),
          counts: store.counts(),
          watches: watches.size,
          nodes: store.list(nodesDef),
        });
      }
      if (method === 'POST' && path === 'nodes') {
        const o = b as Obj;
        const list = Array.isArray(o.nodes)
          ? o.nodes.map((n, i) => parseNodeSeed(n, `nodes[${i}]`))
          : [parseNodeSeed(o, 'node')];
        try {
          return json(201, { nodes: addNodes(list) });
        } catch (e) {
          if (e instanceof ApiError) return json(e.code, e.toStatus());
          throw e;
        }
      }
      if (method === 'DELETE' && path.startsWith('nodes/')) {
        const name = decodeURIComponent(path.slice('nodes/'.length));
        const force = ['1', 'true'].includes(url.searchParams.get('force') ?? '');
        if (force) {
          const gone = registry.forceDelete(nodesDef, undefined, name);
          return gone ? json(200, { deleted: name }) : json(404, { error: `no node ${name}` });
        }
        try {
          const { obj, pending } = registry.delete(nodesDef, undefined, name, {});
          return json(200, pending ? { pending: name, node: obj } : { deleted: name });
        } catch (e) {
          if (e instanceof ApiError) return json(e.code, { error: e.message });
          throw e;
        }
      }
      if (method === 'POST' && path === 'faults') {
        const o = b as { rules?: unknown };
        const rules = (Array.isArray(o.rules) ? o.rules : [b]).map(parseKubeFault);
        faults.add(rules);
        return json(201, { rules: faults.list() });
      }
      if (method === 'GET' && path === 'faults') return json(200, { rules: faults.list() });
      if (method === 'DELETE' && path === 'faults') {
        faults.clear();
        return json(200, { rules: [] });
      }
      if (method === 'POST' && path === 'watches/drop') return json(200, { dropped: dropWatches() });
      if (method === 'POST' && path === 'watches/stall') return json(200, { stalled: stallWatches() });
      if (method === 'POST' && path === 'compact') {
        store.compact();
        return json(200, { oldestResourceVersion: String(store.oldestRv()) });
      }
      if (method === 'GET' && path === 'requests') {
        const snap = counters.snapshot();
        return json(200, url.searchParams.get('log') === '1' ? snap : { ...snap, log: undefined });
      }
      if (method === 'DELETE' && path === 'requests') {
        counters.reset();
        return json(200, { total: 0 });
      }
      return json(404, { error: `no admin endpoint ${method} /_emulator/${path}` });
    } catch (e) {
      if (e instanceof AdminError) return json(e.status, { error: e.message });
      if (e instanceof Error && e.message.startsWith('fault rule')) return json(400, { error: e.message });
      throw e;
    }
  }

  function dropWatches(): number {
    const n = watches.size;
    for (const w of [...watches]) w.end();
    return n;
  }

  function stallWatches(): number {
    for (const w of watches) w.stalled = true;
    return watches.size;
  }

  const host = opts.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolvePort, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolvePort((server.address() as AddressInfo).port));
  });
  const url = `${opts.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  serverAddress = `${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url,
    port,
    store,
    registry,
    counters,
    faults,
    clock,
    kubeconfig: (k = {}) => kubeconfigFor(url, { ...k, ...(opts.tls?.ca ? { ca: opts.tls.ca } : {}) }),
    watchCount: (urlIncludes) =>
      urlIncludes === undefined ? watches.size : [...watches].filter((w) => w.url.includes(urlIncludes)).length,
    dropWatches,
    stallWatches,
    async close() {
      for (const t of held) clearTimeout(t);
      dropWatches();
      await new Promise<void>((done) => {
        server.close(() => done());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

function parseKubeFault(x: unknown): FaultRule {
  const rule = parseFaultRule(x);
  if (!(KUBE_FAULTS as readonly string[]).includes(rule.error)) {
    throw new Error(`fault rule.error: "${rule.error}" is not one of ${KUBE_FAULTS.join(', ')}`);
  }
  return rule;
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
}
