// pop-core RPC clients (VPC, ECS, Quota Center) behind one call(): per-attempt timeout, abort, response
// validation, observer hooks, and the shared retry policy (providers/retry.ts) on retryable kinds.
// pop-core itself never retries, so the two layers do not multiply.
import RPCClient from '@alicloud/pop-core';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { retrying, type RetryPolicy } from '../retry.ts';
import { onTheWire } from '../wire-fence.ts';
import { NOOP_OBSERVER, ProviderError, type ApiObserver } from '../types.ts';
import { endpointFor, type Product } from './endpoints.ts';
import { malformed, toProviderError } from './errors.ts';

export type { Product };

export const API_VERSIONS: Record<Product, string> = { vpc: '2016-04-28', ecs: '2014-05-26', quotas: '2020-05-10' };

export interface ApiOptions {
  region: string;
  endpoint?: string;
  /** Already scaled to the provider's time scale. */
  retry: RetryPolicy;
  requestTimeoutMs: number;
  observer?: ApiObserver;
  logger: Logger;
}

type Params = Record<string, unknown>;

interface Credentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

/** The credential chain of Alibaba's SDKs, reduced to what a controller needs: the documented env vars. */
function credentialsFromEnv(): Credentials {
  const id = process.env.ALIBABA_CLOUD_ACCESS_KEY_ID;
  const secret = process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
  if (!id || !secret) {
    throw new ProviderError(
      'auth',
      'MissingCredentials',
      'aliyun: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET',
      { action: 'credentials' },
    );
  }
  const token = process.env.ALIBABA_CLOUD_SECURITY_TOKEN;
  return { accessKeyId: id, accessKeySecret: secret, ...(token ? { securityToken: token } : {}) };
}

export class AliyunApi {
  private readonly opts: ApiOptions;
  private readonly observer: ApiObserver;
  private readonly clients = new Map<Product, RPCClient>();

  /** Read once, when the provider is made, so later changes to the environment cannot mix identities. */
  private readonly credentials: Credentials | ProviderError;

  constructor(opts: ApiOptions) {
    this.opts = opts;
    this.observer = opts.observer ?? NOOP_OBSERVER;
    try {
      this.credentials = credentialsFromEnv();
    } catch (e) {
      // Reported on the first call, so building a provider (e.g. for `validate`) needs no secrets.
      this.credentials = e as ProviderError;
    }
  }

  get region(): string {
    return this.opts.region;
  }

  private client(product: Product): RPCClient {
    let c = this.clients.get(product);
    if (!c) {
      if (this.credentials instanceof ProviderError) throw this.credentials;
      const creds = this.credentials;
      c = new RPCClient({
        endpoint: endpointFor(product, this.opts.region, this.opts.endpoint),
        apiVersion: API_VERSIONS[product],
        ...creds,
      });
      this.clients.set(product, c);
    }
    return c;
  }

  /** Drops the keep-alive sockets pop-core pools per client. */
  close(): void {
    for (const c of this.clients.values())
      (c as unknown as { keepAliveAgent?: { destroy(): void } }).keepAliveAgent?.destroy();
    this.clients.clear();
  }

  /** One attempt: the raw SDK call, timed and reported, its failure mapped. */
  private async once<S extends z.ZodType>(
    product: Product,
    action: string,
    params: Params,
    schema: S,
    signal?: AbortSignal,
  ): Promise<z.output<S>> {
    signal?.throwIfAborted();
    const started = performance.now();
    const secs = () => (performance.now() - started) / 1000;
    let raw: unknown;
    try {
      const client = this.client(product);
      raw = await abortable(
        client.request(action, params, { method: 'POST', timeout: this.opts.requestTimeoutMs }),
        signal,
      );
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      const pe = toProviderError(e, action);
      this.observer.request(action, pe.code, secs());
      this.opts.logger.debug({ action, code: pe.code, kind: pe.kind, requestId: pe.requestId }, 'aliyun call failed');
      throw pe;
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const rid =
        typeof (raw as { RequestId?: unknown })?.RequestId === 'string'
          ? (raw as { RequestId: string }).RequestId
          : undefined;
      const pe = malformed(
        action,
        parsed.error.issues
          .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
          .slice(0, 3)
          .join('; '),
        rid,
      );
      this.observer.request(action, pe.code, secs());
      throw pe;
    }
    this.observer.request(action, 'ok', secs());
    return parsed.data;
  }

  /**
   * The call with retries on throttled/busy/unavailable, bounded by the retry policy and the signal.
   * `before` (a write's fence) runs before every attempt, after its backoff: what it throws ends the call.
   * `now` (its synchronous part) runs as the attempt's request goes on the wire.
   */
  async call<S extends z.ZodType>(
    product: Product,
    action: string,
    params: Params,
    schema: S,
    signal?: AbortSignal,
    before?: () => Promise<void>,
    now?: () => void,
  ): Promise<z.output<S>> {
    const full = product === 'quotas' ? params : { RegionId: this.opts.region, ...params };
    const attempt = async () => {
      if (before) await before();
      return onTheWire(now, () => this.once(product, action, full, schema, signal));
    };
    return retrying(action, attempt, {
      policy: this.opts.retry,
      observer: this.observer,
      signal,
      logger: this.opts.logger,
    });
  }
}

function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
