import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileLeadership } from '../../src/store/file/lock.ts';
import { silentLogger } from '../../src/log.ts';
import { EtcdStore } from '../../src/store/etcd/store.ts';
import { FileStore } from '../../src/store/file/store.ts';
import { openStore } from '../../src/store/index.ts';
import { MemoryStore } from '../../src/store/memory/store.ts';
import { startEtcd, type EtcdServer } from '../../testkit/etcd.ts';
import { req, storeContract } from '../helpers/store-contract.ts';

storeContract('memory', async () => {
  const store = new MemoryStore();
  return { store, cleanup: () => store.close() };
});

storeContract('file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'routesync-store-'));
  const path = join(dir, 'sub', 'state.json');
  const store = new FileStore(path);
  return {
    store,
    reopen: async () => new FileStore(path),
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

let etcd: EtcdServer;
let n = 0;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.stop();
});
storeContract('etcd', async () => {
  const opts = { endpoints: etcd.endpoints, prefix: '/routesync', cluster: `c${++n}`, logger: silentLogger };
  const store = new EtcdStore(opts);
  return { store, reopen: async () => new EtcdStore(opts), cleanup: () => store.close() };
});

describe('file store on disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'routesync-filestore-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a versioned document and leaves no temp files behind', async () => {
    const path = join(dir, 'a.json');
    const s = new FileStore(path);
    await s.allocate([req(1)]);
    await s.release(['i-1'], 5);
    expect(JSON.parse(readFileSync(path, 'utf8')).version).toBe(1);
    expect(readdirSync(dir).filter((f) => f.startsWith('a.json'))).toEqual(['a.json']);
  });

  it('refuses a corrupt file instead of starting empty', async () => {
    const path = join(dir, 'corrupt.json');
    writeFileSync(path, '{"version":1,"allocations":[');
    const s = new FileStore(path);
    await expect(s.load()).rejects.toThrow(/corrupt\.json is unreadable: not valid JSON/);
    await expect(s.allocate([req(1)])).rejects.toThrow(/unreadable/);
    expect(readFileSync(path, 'utf8')).toBe('{"version":1,"allocations":[');
  });

  it('refuses an unknown schema version and a malformed record', async () => {
    const v2 = join(dir, 'v2.json');
    writeFileSync(v2, JSON.stringify({ version: 2, allocations: [], released: [] }));
    await expect(new FileStore(v2).load()).rejects.toThrow(/schema version 2/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ version: 1, allocations: [{ subnet: '10.0.0.0/24' }], released: [] }));
    await expect(new FileStore(bad).load()).rejects.toThrow(/allocations\[0\]/);
  });

  it('refuses a path it cannot read (a directory) rather than treating it as empty', async () => {
    await expect(new FileStore(dir).load()).rejects.toThrow(/cannot read it \(EISDIR\)/);
  });

  it('writes the state file and its lock 0600 (they name every VM), also over an old 0644 file', async () => {
    const path = join(dir, 'mode.json');
    writeFileSync(path, JSON.stringify({ version: 1, allocations: [], released: [] }), { mode: 0o644 });
    const s = new FileStore(path);
    await s.allocate([req(1)]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const lock = new FileLeadership({ path: `${path}.lock`, logger: silentLogger });
    await lock.tryAcquire();
    try {
      expect(statSync(`${path}.lock`).mode & 0o777).toBe(0o600);
    } finally {
      await lock.close();
    }
  });

  it('refuses a hand-edited record outside clusterCIDR, of the wrong length or not canonical, naming it', async () => {
    const pool = { clusterCIDR: '10.0.0.0/16', subnetLen: 24 };
    const write = (name: string, allocations: unknown[], released: unknown[] = []) => {
      const path = join(dir, name);
      writeFileSync(path, JSON.stringify({ version: 1, allocations, released }));
      return new FileStore(path, { pool });
    };
    const a = (subnet: string, instanceId = 'i-9') => ({ instanceId, subnet, name: '', privateIp: '', allocatedAt: 1 });
    await expect(write('outside.json', [a('10.0.1.0/24', 'i-1'), a('10.9.0.0/24')]).load()).rejects.toThrow(
      /allocations\[1\] \(i-9\): 10\.9\.0\.0\/24 is outside clusterCIDR 10\.0\.0\.0\/16/,
    );
    await expect(write('length.json', [a('10.0.4.0/23')]).load()).rejects.toThrow(
      /allocations\[0\] \(i-9\): 10\.0\.4\.0\/23 is a \/23, not a \/24 \(subnetLen\)/,
    );
    await expect(write('hostbits.json', [a('10.0.1.7/24')]).load()).rejects.toThrow(
      /allocations\[0\] \(i-9\): .*host bits set/,
    );
    await expect(
      write('released.json', [], [{ subnet: '192.168.0.0/24', releasedAt: 1, instanceId: 'i-2' }]).load(),
    ).rejects.toThrow(/released\[0\]: 192\.168\.0\.0\/24 is outside clusterCIDR/);
    // A refused file is refused for writes too, and left as it was.
    await expect(write('outside2.json', [a('10.9.0.0/24')]).allocate([req(1)])).rejects.toThrow(/outside clusterCIDR/);
    expect(JSON.parse(readFileSync(join(dir, 'outside2.json'), 'utf8')).allocations).toHaveLength(1);
    expect((await write('fine.json', [a('10.0.255.0/24')]).load()).allocations).toHaveLength(1);
  });

  it('serialises concurrent writers in one process', async () => {
    const s = new FileStore(join(dir, 'conc.json'));
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => s.allocate([req(i % 5, req(100 + i).subnet)])),
    );
    expect(results.reduce((k, r) => k + r.committed.length, 0)).toBe(5);
    expect((await s.load()).allocations.length).toBe(5);
  });
});

// The same contract with every write txn carrying the leadership compare (as `routesync run` wires it).
storeContract('etcd, guarded by its leadership', async () => {
  const config = {
    cluster: `g${++n}`,
    store: { type: 'etcd' as const, endpoints: etcd.endpoints, prefix: '/routesync', electionTTL: 5000 },
  };
  const { store, leadership } = await openStore(config as Parameters<typeof openStore>[0], { logger: silentLogger });
  await leadership.campaign(new AbortController().signal);
  const opts = { endpoints: etcd.endpoints, prefix: '/routesync', cluster: config.cluster, logger: silentLogger };
  return {
    store,
    reopen: async () => new EtcdStore(opts),
    cleanup: async () => {
      await leadership.close();
      await store.close();
    },
  };
});

describe('etcd store layout', () => {
  it('writes the documented keys', async () => {
    const s = new EtcdStore({ endpoints: etcd.endpoints, prefix: '/rs', cluster: 'layout', logger: silentLogger });
    try {
      await s.allocate([req(1)]);
      await s.setMissing([{ instanceId: 'i-1', missingSince: 42 }]);
      let kvs = await s.client.getAll().prefix('/rs/layout/').strings();
      expect(kvs['/rs/layout/instances/i-1']).toBe('10.0.1.0/24');
      expect(JSON.parse(kvs['/rs/layout/subnets/10.0.1.0-24'] as string)).toEqual({
        ...req(1),
        subnet: undefined,
        missingSince: 42,
      });
      await s.release(['i-1'], 99);
      kvs = await s.client.getAll().prefix('/rs/layout/').strings();
      expect(Object.keys(kvs)).toEqual(['/rs/layout/released/10.0.1.0-24']);
      expect(JSON.parse(kvs['/rs/layout/released/10.0.1.0-24'] as string)).toEqual({
        releasedAt: 99,
        instanceId: 'i-1',
      });
    } finally {
      await s.close();
    }
  });

  it('fails clearly, never empty, when etcd is unreachable or holds garbage', async () => {
    const dead = new EtcdStore({
      endpoints: ['http://127.0.0.1:1'],
      prefix: '/rs',
      cluster: 'x',
      logger: silentLogger,
      callTimeoutMs: 500,
    });
    await expect(dead.load()).rejects.toThrow(/etcd read of \/rs\/x\/ failed/);
    await dead.close();
    const s = new EtcdStore({ endpoints: etcd.endpoints, prefix: '/rs', cluster: 'garbage', logger: silentLogger });
    await s.client.put('/rs/garbage/subnets/10.0.0.0-24').value('{nope');
    await expect(s.load()).rejects.toThrow(/subnets\/10\.0\.0\.0-24 holds invalid JSON/);
    await s.close();
  });

  it('refuses a hand-edited key outside clusterCIDR or of the wrong length, naming the key', async () => {
    const pool = { clusterCIDR: '10.0.0.0/16', subnetLen: 24 };
    const s = new EtcdStore({
      endpoints: etcd.endpoints,
      prefix: '/rs',
      cluster: 'edited',
      logger: silentLogger,
      pool,
    });
    try {
      await s.allocate([req(1)]);
      expect((await s.load()).allocations).toHaveLength(1);
      const value = JSON.stringify({ instanceId: 'i-x', name: '', privateIp: '', allocatedAt: 1 });
      await s.client.put('/rs/edited/subnets/172.16.0.0-24').value(value);
      await expect(s.load()).rejects.toThrow(
        /etcd key \/rs\/edited\/subnets\/172\.16\.0\.0-24 is not one of our records: 172\.16\.0\.0\/24 is outside clusterCIDR 10\.0\.0\.0\/16/,
      );
      await s.client.delete().key('/rs/edited/subnets/172.16.0.0-24');
      await s.client.put('/rs/edited/released/10.0.8.0-22').value(JSON.stringify({ releasedAt: 1, instanceId: 'i-y' }));
      await expect(s.load()).rejects.toThrow(
        /released\/10\.0\.8\.0-22 is not one of our records: 10\.0\.8\.0\/22 is a \/22, not a \/24/,
      );
    } finally {
      await s.close();
    }
  });
});
