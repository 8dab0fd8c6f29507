// I1 under a real race: two controllers, each with its own etcd client, plan from their own (stale)
// snapshots and allocate for overlapping VM sets at the same time. etcd must end with one subnet per VM
// and one VM per subnet, checked by reading the keys directly.
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planAllocations, PoolExhaustedError, type PoolOptions } from '../../src/allocator.ts';
import { silentLogger } from '../../src/log.ts';
import { EtcdStore } from '../../src/store/etcd/store.ts';
import type { Instance } from '../../providers/types.ts';
import { startEtcd, type EtcdServer } from '../../testkit/etcd.ts';

const vm = (i: number): Instance => ({
  id: `i-${i}`,
  name: `vm-${i}`,
  privateIp: `10.9.${i >> 8}.${i & 255}`,
  zone: 'z',
  state: 'running',
});

let etcd: EtcdServer;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.stop();
});

function plan(o: PoolOptions, snap: Awaited<ReturnType<EtcdStore['load']>>, inventory: Instance[]) {
  try {
    return planAllocations(o, snap, inventory);
  } catch (e) {
    if (!(e instanceof PoolExhaustedError)) throw e;
    return e.partial;
  }
}

async function round(store: EtcdStore, o: PoolOptions, inventory: Instance[]) {
  return store.allocate(plan(o, await store.load(), inventory));
}

describe('two allocators racing on etcd', () => {
  it('never give one subnet to two VMs nor two subnets to one VM', async () => {
    const opts = { endpoints: etcd.endpoints, prefix: '/race', cluster: 'c', logger: silentLogger };
    const a = new EtcdStore(opts);
    const b = new EtcdStore(opts);
    const o: PoolOptions = {
      clusterCIDR: '10.64.0.0/14',
      subnetLen: 24,
      reserved: ['10.64.0.0/24'],
      reuseAfterMs: 0,
      now: Date.UTC(2026, 0, 1),
    };
    let conflicts = 0;
    try {
      for (let r = 0; r < 6; r++) {
        // Overlapping sets that grow each round; the shared part is where the races happen.
        const setA = Array.from({ length: 150 }, (_, i) => vm(r * 100 + i));
        const setB = Array.from({ length: 150 }, (_, i) => vm(r * 100 + 50 + i));
        // Both plan from snapshots taken before either writes, so their plans collide for certain.
        const [sa, sb] = await Promise.all([a.load(), b.load()]);
        const [ra, rb] = await Promise.all([a.allocate(plan(o, sa, setA)), b.allocate(plan(o, sb, setB))]);
        conflicts += ra.conflicts.length + rb.conflicts.length;
        // Each request was either committed or refused, never lost.
        expect(ra.committed.length + ra.conflicts.length).toBeGreaterThan(0);
      }
      // A calm pass picks up the VMs whose requests lost a race.
      await round(
        a,
        o,
        Array.from({ length: 700 }, (_, i) => vm(i)),
      );
      const raw = new Etcd3({ hosts: etcd.endpoints });
      const subnets = await raw.getAll().prefix('/race/c/subnets/').strings();
      const instances = await raw.getAll().prefix('/race/c/instances/').strings();
      raw.close();
      const holders = Object.entries(subnets).map(
        ([k, v]) => [k.slice('/race/c/subnets/'.length).replace('-', '/'), JSON.parse(v).instanceId as string] as const,
      );
      const vmIds = holders.map(([, id]) => id);
      expect(new Set(vmIds).size).toBe(vmIds.length);
      expect(Object.keys(instances).length).toBe(holders.length);
      for (const [subnet, id] of holders) expect(instances[`/race/c/instances/${id}`]).toBe(subnet);
      // Every VM ended up with exactly one subnet.
      expect(holders.length).toBe(5 * 100 + 200);
      // The race was real: both planned the same subnets for the shared VMs at least once.
      expect(conflicts).toBeGreaterThan(0);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
