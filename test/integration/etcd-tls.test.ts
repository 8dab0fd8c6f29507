// The etcd store through client-certificate TLS, configured the way users do: store.tls in the config.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { openStore } from '../../src/store/index.ts';
import { EtcdStore } from '../../src/store/etcd/store.ts';
import { startEtcd, type EtcdServer } from '../../testkit/etcd.ts';
import { makeTls, type TlsFiles } from '../../testkit/tls.ts';
import { req } from '../helpers/store-contract.ts';

let tls: TlsFiles;
let etcd: EtcdServer;
beforeAll(async () => {
  tls = makeTls();
  etcd = await startEtcd({ tls });
});
afterAll(async () => {
  await etcd?.stop();
  if (tls) rmSync(tls.dir, { recursive: true, force: true });
});

const config = (t: Record<string, string>) =>
  validateConfig({
    cluster: 'tls',
    clusterCIDR: '10.0.0.0/16',
    provider: { type: 'aws', region: 'us-east-1', vpcId: 'vpc-1' },
    store: { type: 'etcd', endpoints: etcd.endpoints, tls: t, electionTTL: '2s' },
  });

describe('etcd store over TLS with client certificates', () => {
  it('allocates, reads back and elects a leader through store.tls', async () => {
    const c = config({ ca: tls.ca, cert: tls.clientCert, key: tls.clientKey });
    const { store, leadership } = await openStore(c, { logger: silentLogger, identity: 'tls-leader' });
    expect(store).toBeInstanceOf(EtcdStore);
    try {
      await leadership.campaign(new AbortController().signal);
      await leadership.fence();
      expect(await leadership.leader()).toBe('tls-leader');
      expect((await store.allocate([req(1)])).committed).toEqual([req(1)]);
      expect((await store.load()).allocations).toEqual([req(1)]);
    } finally {
      await leadership.close();
      await store.close();
    }
  });

  it('is refused without a client certificate: an error, never an empty snapshot', async () => {
    const store = new EtcdStore({
      endpoints: etcd.endpoints,
      prefix: '/routesync',
      cluster: 'tls',
      tls: { ca: tls.ca },
      logger: silentLogger,
      callTimeoutMs: 2000,
    });
    try {
      await expect(store.load()).rejects.toThrow(/etcd read of \/routesync\/tls\/ failed/);
    } finally {
      await store.close();
    }
  });

  it('names the field when a TLS file cannot be read', async () => {
    const c = config({ ca: '/nonexistent/ca.pem', cert: tls.clientCert, key: tls.clientKey });
    await expect(openStore(c, { logger: silentLogger })).rejects.toThrow(
      /^store\.tls\.ca: cannot read \/nonexistent\/ca\.pem \(ENOENT\)/,
    );
  });
});
