// I4 against a real etcd: the local lease deadline (on the monotonic clock, before any I/O) and the stores'
// own conditional writes (the etcd store compares our election key in every write txn; the file store
// re-reads its lock), so a deposed leader's store write fails in the store itself.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.ts';
import { EtcdLeadership, RENEW_DEADLINE_FRACTION } from '../../src/store/etcd/election.ts';
import { LeadershipLostError } from '../../src/store/leadership.ts';
import { silentLogger } from '../../src/log.ts';
import { NotLeaderError } from '../../src/store/etcd/errors.ts';
import { openStore } from '../../src/store/index.ts';
import { startEtcd, type EtcdServer } from '../../testkit/etcd.ts';
import { req } from '../helpers/store-contract.ts';
import { until } from '../../testkit/wait.ts';

let etcd: EtcdServer;
let raw: Etcd3;
let n = 0;
beforeAll(async () => {
  etcd = await startEtcd();
  raw = new Etcd3({ hosts: etcd.endpoints });
});
afterAll(async () => {
  raw?.close();
  await etcd?.stop();
});

describe('local lease deadline', () => {
  it('past the renew deadline writes wait for a renewal; past the TTL leadership is given up, all without I/O', async () => {
    const clock = new ManualClock();
    const client = new Etcd3({ hosts: etcd.endpoints });
    const ttlMs = 2000;
    const l = new EtcdLeadership({
      client,
      base: `/fence/t${++n}/`,
      ttlMs,
      identity: 'me',
      logger: silentLogger,
      clock,
    });
    let lost = 0;
    l.onLost(() => lost++);
    try {
      await l.campaign(new AbortController().signal);
      await l.fence();
      // A pause: the monotonic clock moves on, no renewal was confirmed meanwhile.
      clock.advance(ttlMs * RENEW_DEADLINE_FRACTION + 1);
      expect(() => l.checkNow()).toThrow(/renew deadline/);
      await expect(l.fence()).rejects.toBeInstanceOf(LeadershipLostError);
      expect(l.isLeader()).toBe(true);
      // The next renewal etcd confirms (sent at the clock's new time) lets writes go on.
      await until(
        'a confirmed renewal',
        () =>
          l.fence().then(
            () => true,
            () => false,
          ),
        5000,
        50,
      );
      l.checkNow();
      // A pause longer than the TTL: etcd may have expired the lease, so it is lost, before any I/O.
      clock.advance(ttlMs + 1);
      expect(() => l.checkNow()).toThrow(/longer than the 2000 ms TTL/);
      expect(l.isLeader()).toBe(false);
      expect(lost).toBe(1);
      await expect(l.fence()).rejects.toThrow(/not the leader/);
    } finally {
      await l.close();
      client.close();
    }
  });
});

describe('store writes conditional on leadership', () => {
  it('etcd: once our election key is gone every write is refused in the txn and nothing is written', async () => {
    const cluster = `guard${++n}`;
    const config = {
      cluster,
      store: { type: 'etcd' as const, endpoints: etcd.endpoints, prefix: '/fence', electionTTL: 5000 },
    };
    const { store, leadership: l } = await openStore(config as Parameters<typeof openStore>[0], {
      logger: silentLogger,
      identity: 'me',
    });
    try {
      await expect(store.allocate([req(1)])).rejects.toBeInstanceOf(NotLeaderError);
      await l.campaign(new AbortController().signal);
      expect((await store.allocate([req(1), req(2)])).committed).toHaveLength(2);
      await store.release(['i-2'], 1);
      const before = await raw.getAll().prefix(`/fence/${cluster}/`).strings();
      // Our key vanishes (its lease expired while we were paused): this process has not noticed yet.
      await raw.delete().prefix(`/fence/${cluster}/election/`);
      expect(l.isLeader()).toBe(true);
      await expect(store.allocate([req(3)])).rejects.toThrow(/election key is gone/);
      await expect(store.setMissing([{ instanceId: 'i-1', missingSince: 5 }])).rejects.toBeInstanceOf(NotLeaderError);
      await expect(store.release(['i-1'], 9)).rejects.toBeInstanceOf(NotLeaderError);
      await expect(store.purgeReleased(Number.MAX_SAFE_INTEGER)).rejects.toBeInstanceOf(NotLeaderError);
      const after = await raw.getAll().prefix(`/fence/${cluster}/`).strings();
      expect(after).toEqual(Object.fromEntries(Object.entries(before).filter(([k]) => !k.includes('/election/'))));
    } finally {
      await l.close();
      await store.close();
    }
  });

  it('etcd: a full txn of allocations still fits with the leadership compare', async () => {
    const cluster = `batch${++n}`;
    const config = {
      cluster,
      store: { type: 'etcd' as const, endpoints: etcd.endpoints, prefix: '/fence', electionTTL: 5000 },
    };
    const { store, leadership: l } = await openStore(config as Parameters<typeof openStore>[0], {
      logger: silentLogger,
    });
    try {
      await l.campaign(new AbortController().signal);
      const many = Array.from({ length: 300 }, (_, i) => req(i));
      expect((await store.allocate(many)).committed).toHaveLength(300);
      await store.setMissing(many.map((r) => ({ instanceId: r.instanceId, missingSince: 7 })));
      expect(
        (
          await store.release(
            many.map((r) => r.instanceId),
            8,
          )
        ).length,
      ).toBe(300);
      await store.purgeReleased(9);
      expect(await store.load()).toEqual({ allocations: [], released: [] });
    } finally {
      await l.close();
      await store.close();
    }
  });

  it('file: a lock taken over behind our back refuses the write and leaves the file as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'routesync-fence-'));
    try {
      const path = join(dir, 'state.json');
      const config = { cluster: 'c', store: { type: 'file' as const, path, electionTTL: 5000 } };
      const { store, leadership: l } = await openStore(config as Parameters<typeof openStore>[0], {
        logger: silentLogger,
      });
      await l.campaign(new AbortController().signal);
      await store.allocate([req(1)]);
      const before = readFileSync(path, 'utf8');
      writeFileSync(`${path}.lock`, JSON.stringify({ pid: 1, hostname: 'elsewhere', startedAt: 0, token: 'x' }));
      await expect(store.allocate([req(2)])).rejects.toBeInstanceOf(LeadershipLostError);
      await expect(store.purgeReleased(Number.MAX_SAFE_INTEGER)).resolves.toBeUndefined(); // nothing to purge: no write
      await expect(store.release(['i-1'], 5)).rejects.toBeInstanceOf(LeadershipLostError);
      expect(readFileSync(path, 'utf8')).toBe(before);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
