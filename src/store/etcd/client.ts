// The etcd3 client's options from store.* : endpoints, TLS files, and a deadline on every unary call.
import { readFileSync } from 'node:fs';
import type { IOptions } from 'etcd3';
import { EtcdStoreError } from './errors.ts';

export interface EtcdClientConfig {
  endpoints: string[];
  tls?: { ca?: string; cert?: string; key?: string };
  /** Deadline of every unary call: an unreachable etcd is an error, not a hang. */
  callTimeoutMs?: number;
}

function readTlsFile(path: string, field: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new EtcdStoreError(
      `store.tls.${field}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
}

export function etcdClientOptions(o: EtcdClientConfig): IOptions {
  const timeout = o.callTimeoutMs ?? 5000;
  const opts: IOptions = {
    hosts: o.endpoints,
    // Streams (watch, lease keep-alive) live long; only unary calls get a deadline.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
  };
  if (o.tls) {
    if (!o.tls.ca) throw new EtcdStoreError('store.tls.ca: is required to talk TLS to etcd');
    opts.credentials = {
      rootCertificate: readTlsFile(o.tls.ca, 'ca'),
      ...(o.tls.cert ? { certChain: readTlsFile(o.tls.cert, 'cert') } : {}),
      ...(o.tls.key ? { privateKey: readTlsFile(o.tls.key, 'key') } : {}),
    };
  }
  return opts;
}
