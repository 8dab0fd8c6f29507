// Who am I: the instance id the controller's store is keyed by, from the cloud's metadata service (its
// plug-in's `metadata`: where it answers and which requests it wants, e.g. AWS IMDSv2's session token),
// or in Kubernetes mode the Node name from the downward API (NODE_NAME). The HTTP (timeout, no redirects,
// one error line naming the URL) and the check of the answer are here, the same for every cloud.

import type { MetadataGet } from '../../providers/plugin.ts';
import { PLUGINS, type ProviderKind } from '../../providers/plugins.ts';

/** The clouds are the plug-in table's (providers/plugins.ts). */
export type Cloud = ProviderKind;

export class IdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityError';
  }
}

export interface IdentityOptions {
  cloud: Cloud;
  source: 'metadata' | 'kubernetes';
  /** Base URL; default the cloud's own. */
  endpoint?: string;
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
}

// An id goes into store keys and log lines: one token of sane characters, nothing else (GCE's two, as
// `<zone>/<name>`).
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}(?:\/[A-Za-z0-9][A-Za-z0-9._-]{0,252})?$/;

async function call(url: string, init: RequestInit, timeoutMs: number): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why =
      (e as Error).name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : (cause?.code ?? cause?.message ?? (e as Error).message);
    throw new IdentityError(`metadata service ${url}: ${why}`);
  }
  const body = (await res.text()).trim();
  if (!res.ok) throw new IdentityError(`metadata service ${url}: HTTP ${res.status}`);
  return body;
}

function checkId(id: string, where: string): string {
  if (!ID.test(id))
    throw new IdentityError(`${where} answered ${JSON.stringify(id.slice(0, 60))}, which is not an instance id`);
  return id;
}

export async function whoAmI(opts: IdentityOptions): Promise<string> {
  if (opts.source === 'kubernetes') {
    const name = (opts.env ?? process.env).NODE_NAME;
    if (!name) throw new IdentityError('NODE_NAME is not set: give it from the downward API (fieldRef spec.nodeName)');
    return checkId(name, 'NODE_NAME');
  }
  const service = PLUGINS[opts.cloud].metadata;
  const base = (opts.endpoint ?? service.endpoint).replace(/\/+$/, '');
  const get: MetadataGet = async (path, init = {}) => {
    const url = `${base}${path}`;
    const body = await call(url, init, opts.timeoutMs);
    if (body === '') throw new IdentityError(`metadata service ${url}: empty answer`);
    return body;
  };
  const { id, path } = await service.instanceId(get);
  return checkId(id, `${base}${path}`);
}
