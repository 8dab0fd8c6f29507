// The one-off commands' first look before a pass: is the store answering, does the configured cloud
// endpoint accept connections, are there cloud credentials? Each fails within a few seconds with one line
// saying what to check, instead of a pass that spends half a minute in retries and then prints the SDK's
// wording (and the safety valve's).
import { connect } from 'node:net';
import type { CloudProvider } from '../providers/types.ts';
import type { Config } from './config.ts';
import type { Store } from './store/types.ts';

/** How long `status`, `reconcile` and `release` wait for the store's first answer. */
export const STORE_PREFLIGHT_MS = 3000;
/** How long they wait for a TCP connection to provider.endpoint. */
export const ENDPOINT_PREFLIGHT_MS = 3000;

export class PreflightError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PreflightError';
  }
}

/** Connects to the URL's host and port and closes again; rejects with the socket's error code. */
export function probeTcp(url: string, timeoutMs: number): Promise<void> {
  const u = new URL(url);
  const port = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(Object.assign(new Error(`no connection within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve();
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export async function preflight(
  config: Pick<Config, 'provider'>,
  rt: { store: Store; provider: CloudProvider },
): Promise<void> {
  const endpoint = config.provider.endpoint;
  const checks: Array<Promise<void>> = [
    rt.store.ping(STORE_PREFLIGHT_MS).catch((e: unknown) => {
      throw new PreflightError(e instanceof Error ? e.message : String(e), { cause: e });
    }),
    (async () => rt.provider.preflight?.())(),
  ];
  if (endpoint !== undefined) {
    checks.push(
      probeTcp(endpoint, ENDPOINT_PREFLIGHT_MS).catch((e: unknown) => {
        const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        throw new PreflightError(`cannot reach ${endpoint} (${code}): is provider.endpoint right?`, { cause: e });
      }),
    );
  }
  // Both at once: the slower bounds the wait, and the first failure is the line printed.
  await Promise.all(checks);
}
