// Who am I: the instance id the controller's store is keyed by, from the cloud's metadata service (AWS
// IMDSv2 with its session token, GCE's metadata server with Metadata-Flavor, Aliyun's 100.100.100.200),
// or in Kubernetes mode the Node name from the downward API (NODE_NAME).

import type { ProviderKind } from '../../providers/plugins.ts';

/** The clouds are the plug-in table's (providers/plugins.ts); each needs its line in DEFAULT_METADATA below. */
export type Cloud = ProviderKind;

export const DEFAULT_METADATA: Record<Cloud, string> = {
  aws: 'http://169.254.169.254',
  gce: 'http://metadata.google.internal',
  aliyun: 'http://100.100.100.200',
};

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

// An id goes into store keys and log lines: one token of sane characters, nothing else.
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

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
  const base = (opts.endpoint ?? DEFAULT_METADATA[opts.cloud]).replace(/\/+$/, '');
  switch (opts.cloud) {
    case 'aws': {
      // IMDSv2: a session token first (PUT), then the read with it. Hop limit and all, this is what
      // instances with HttpTokens=required accept.
      const token = await call(
        `${base}/latest/api/token`,
        { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '300' } },
        opts.timeoutMs,
      );
      if (!token) throw new IdentityError(`metadata service ${base}/latest/api/token: empty token`);
      const url = `${base}/latest/meta-data/instance-id`;
      return checkId(await call(url, { headers: { 'x-aws-ec2-metadata-token': token } }, opts.timeoutMs), url);
    }
    case 'gce': {
      // GCE VMs are known by name (the provider's instance id).
      const url = `${base}/computeMetadata/v1/instance/name`;
      return checkId(await call(url, { headers: { 'metadata-flavor': 'Google' } }, opts.timeoutMs), url);
    }
    case 'aliyun': {
      const url = `${base}/latest/meta-data/instance-id`;
      return checkId(await call(url, {}, opts.timeoutMs), url);
    }
  }
}
