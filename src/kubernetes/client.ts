// The one place a Kubernetes client is made, for the controller and the agent alike. Where the config comes
// from, first match wins and nothing is guessed past it: an explicit path (`--kubeconfig`, the agent's
// `identity.kubeconfig`), then $KUBECONFIG (a path list, merged as kubectl merges it), then the pod's service
// account (KUBERNETES_SERVICE_HOST/PORT plus the mounted token, CA and namespace). No ~/.kube/config
// fallback: a controller that silently picked up an operator's personal context could write to the wrong
// cluster. @kubernetes/client-node is loaded only here and only when asked for: it costs memory that every
// non-Kubernetes process does not need.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { isIPv6 } from 'node:net';
import type {
  ConfigurationOptions,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  RequestContext,
  ResponseContext,
  Watch,
} from '@kubernetes/client-node';

/** Where a pod's service account is mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface CallOptions {
  /** Aborts the request after this long (client-node sets no timeout: a stalled API server would hang us). */
  timeoutMs?: number;
  /** Also aborts with this signal. */
  signal?: AbortSignal;
  /** A patch's content type (client-node sends json-patch unless told: client-node#995). */
  contentType?: string;
}

export interface KubeClientOptions {
  /** An explicit kubeconfig path; wins over $KUBECONFIG and the service account. */
  kubeconfig?: string;
  /** The config field or flag that names `kubeconfig`, for error messages (default `--kubeconfig`). */
  field?: string;
  env?: NodeJS.ProcessEnv;
  /** The service account mount; tests point it at a directory of their own. */
  serviceAccountDir?: string;
}

export interface KubeClient {
  readonly config: KubeConfig;
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;
  readonly watch: Watch;
  /** The context's namespace (in a pod: the service account's), if any. */
  readonly namespace: string | undefined;
  /** Which source was used, for the start-up log line: `--kubeconfig /x`, `KUBECONFIG`, `in-cluster`. */
  readonly source: string;
  /** The API server URL. */
  readonly server: string;
  /** Per-call options for a client-node API method: a deadline, a signal, a content type. */
  options(o: CallOptions): ConfigurationOptions;
}

export class KubeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeConfigError';
  }
}

type ObservableCtor = typeof import('@kubernetes/client-node').Observable;

function callOptionsWith(Obs: ObservableCtor, o: CallOptions): ConfigurationOptions {
  const signals = [o.signal, o.timeoutMs !== undefined ? AbortSignal.timeout(o.timeoutMs) : undefined].filter(
    (s): s is AbortSignal => s !== undefined,
  );
  return {
    middleware: [
      {
        pre: (ctx: RequestContext) => {
          if (signals.length > 0)
            ctx.setSignal(signals.length === 1 ? (signals[0] as AbortSignal) : AbortSignal.any(signals));
          if (o.contentType) ctx.setHeaderParam('Content-Type', o.contentType);
          return new Obs(Promise.resolve(ctx));
        },
        post: (r: ResponseContext) => new Obs(Promise.resolve(r)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

function firstLine(e: unknown): string {
  const line = (e instanceof Error ? e.message : String(e)).split('\n')[0] as string;
  // fetch's own message ("fetch failed") says nothing; the socket's error code (ECONNREFUSED, ENOTFOUND) does.
  const cause = e instanceof Error ? (e.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const why = typeof cause?.code === 'string' ? cause.code : cause?.message;
  return typeof why === 'string' && why !== '' && !line.includes(why) ? `${line} (${why.split('\n')[0]})` : line;
}

function inCluster(kc: KubeConfig, env: NodeJS.ProcessEnv, dir: string): void {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeConfigError(
      'kubernetes: no --kubeconfig, no KUBECONFIG and not in a pod (KUBERNETES_SERVICE_HOST/PORT unset): give one',
    );
  }
  const token = join(dir, 'token');
  const ca = join(dir, 'ca.crt');
  for (const f of [token, ca]) {
    if (!existsSync(f)) throw new KubeConfigError(`kubernetes: in-cluster service account: ${f} is missing`);
  }
  const nsFile = join(dir, 'namespace');
  const namespace = existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() : undefined;
  // As client-node's loadFromCluster, but from the injected env and mount, so that it can be tested; the
  // token file is re-read every minute, as client-go does (the kubelet rotates it).
  kc.loadFromOptions({
    clusters: [
      {
        name: 'in-cluster',
        server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`,
        caFile: ca,
        skipTLSVerify: false,
      },
    ],
    users: [{ name: 'in-cluster', authProvider: { name: 'tokenFile', config: { tokenFile: token } } }],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'in-cluster', ...(namespace ? { namespace } : {}) }],
    currentContext: 'in-cluster',
  });
}

/** What shareDispatchers needs of a KubeConfig: client-node's own (private, so typed here) dispatcher factory. */
interface DispatcherFactory {
  createDispatcher?: (cluster: unknown, agentOptions: object) => { close?: () => Promise<void> } | undefined;
}

/**
 * client-node 2.0 builds a new undici Agent for every request to a server it talks TLS to (a CA, a client
 * cert, or skip-verify): its createDispatcher is not cached, unlike the websockets' createAgent. Every API
 * call then opens a connection of its own — a TCP and TLS handshake per call, each socket left open until
 * its keep-alive runs out: 800 sockets in the controller after it wrote 200 Nodes (bench/kubernetes-rest.ts).
 * One dispatcher instead, for as long as the TLS options (re-read from their files per request, so a rotated
 * CA or cert is picked up) stay the same; when they change, the old one is closed once its requests end.
 */
export function shareDispatchers(kc: KubeConfig): void {
  const f = kc as unknown as DispatcherFactory;
  const make = f.createDispatcher;
  // A client-node without this factory makes its dispatchers elsewhere: nothing to share.
  if (typeof make !== 'function') return;
  let last: { key: string; dispatcher: ReturnType<NonNullable<DispatcherFactory['createDispatcher']>> } | undefined;
  f.createDispatcher = (cluster, agentOptions) => {
    const key = createHash('sha256')
      .update(JSON.stringify([cluster, agentOptions]))
      .digest('hex');
    if (last?.key === key) return last.dispatcher;
    const old = last?.dispatcher;
    last = { key, dispatcher: make.call(kc, cluster, agentOptions) };
    void old?.close?.().catch(() => undefined);
    return last.dispatcher;
  };
}

/** Loads the config (see the top of this file) and makes the clients; throws KubeConfigError, one line. */
export async function openKubeClient(o: KubeClientOptions = {}): Promise<KubeClient> {
  const k8s = await import('@kubernetes/client-node');
  const env = o.env ?? process.env;
  const kc = new k8s.KubeConfig();
  let source: string;
  if (o.kubeconfig !== undefined && o.kubeconfig !== '') {
    const field = o.field ?? '--kubeconfig';
    source = `${field} ${o.kubeconfig}`;
    try {
      kc.loadFromFile(o.kubeconfig);
    } catch (e) {
      throw new KubeConfigError(`${field}: cannot load ${o.kubeconfig}: ${firstLine(e)}`);
    }
  } else if (env.KUBECONFIG) {
    source = 'KUBECONFIG';
    const files = env.KUBECONFIG.split(delimiter).filter((f) => f !== '');
    try {
      kc.loadFromFile(files[0] as string);
      for (const f of files.slice(1)) {
        const more = new k8s.KubeConfig();
        more.loadFromFile(f);
        kc.mergeConfig(more, true);
      }
    } catch (e) {
      throw new KubeConfigError(`KUBECONFIG: cannot load ${env.KUBECONFIG}: ${firstLine(e)}`);
    }
  } else {
    source = 'in-cluster';
    inCluster(kc, env, o.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
  }
  shareDispatchers(kc);
  const cluster = kc.getCurrentCluster();
  if (!cluster)
    throw new KubeConfigError(`${source}: the current context "${kc.getCurrentContext()}" names no cluster`);
  const ctx = kc.getContextObject(kc.getCurrentContext());
  return {
    config: kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    coordination: kc.makeApiClient(k8s.CoordinationV1Api),
    watch: new k8s.Watch(kc),
    namespace: ctx?.namespace || undefined,
    source,
    server: cluster.server,
    options: (c) => callOptionsWith(k8s.Observable, c),
  };
}

/** An ApiException's HTTP code (client-node 2.x), or undefined for a transport error. */
export function apiCode(e: unknown): number | undefined {
  // A DOMException (an aborted or timed-out fetch) has a numeric `code` too; it is no HTTP answer.
  if (e instanceof DOMException || typeof e !== 'object' || e === null || !('body' in e)) return undefined;
  const c = (e as { code?: unknown }).code;
  return typeof c === 'number' ? c : undefined;
}

/** One line for a log or an error: `HTTP 409 Conflict: <the Status message>` or the transport error. */
export function apiMessage(e: unknown): string {
  const code = apiCode(e);
  if (code === undefined) return firstLine(e);
  const body = (e as { body?: unknown }).body;
  let msg: string | undefined;
  try {
    const b = typeof body === 'string' ? (JSON.parse(body) as { message?: unknown }) : (body as { message?: unknown });
    if (typeof b?.message === 'string') msg = b.message;
  } catch {
    // a body that is not a Status: the code alone
  }
  return `HTTP ${code}${msg ? `: ${msg}` : ''}`;
}
