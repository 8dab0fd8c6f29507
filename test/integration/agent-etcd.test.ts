// The agent's subnet from a real etcd the controller writes: two key reads (index, then the subnet record
// naming the VM back), a refused record outside clusterCIDR, and a failed read that is an error, not "none".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subnetOf } from '../../src/agent/subnet-source.ts';
import { silentLogger } from '../../src/log.ts';
import { EtcdStore } from '../../src/store/etcd/store.ts';
import { startEtcd, type EtcdServer } from '../../testkit/etcd.ts';

describe('agent subnet from etcd', () => {
  let etcd: EtcdServer;
  let store: EtcdStore;
  beforeAll(async () => {
    etcd = await startEtcd();
    store = new EtcdStore({
      endpoints: etcd.endpoints,
      prefix: '/routesync',
      cluster: 'agent',
      logger: silentLogger,
      callTimeoutMs: 2000,
    });
    await store.allocate([
      { instanceId: 'i-a', subnet: '10.244.1.0/24', name: 'a', privateIp: '10.0.0.1', allocatedAt: 1 },
      { instanceId: 'i-b', subnet: '10.244.2.0/24', name: 'b', privateIp: '10.0.0.2', allocatedAt: 2 },
    ]);
  });
  afterAll(async () => {
    await store?.close();
    await etcd?.stop({ keepData: false });
  });

  it('finds the allocation of each VM, and nothing for a VM without one', async () => {
    expect(await subnetOf(store, 'i-a', '10.244.0.0/16')).toBe('10.244.1.0/24');
    expect(await subnetOf(store, 'i-b', '10.244.0.0/16')).toBe('10.244.2.0/24');
    expect(await subnetOf(store, 'i-c', '10.244.0.0/16')).toBeUndefined();
  });

  it("an index pointing at a subnet another VM holds is not this VM's subnet", async () => {
    await store.client.put(`${store.base}instances/i-c`).value('10.244.1.0/24');
    expect(await subnetOf(store, 'i-c', '10.244.0.0/16')).toBeUndefined();
    await store.client.delete().key(`${store.base}instances/i-c`);
  });

  it('a record outside clusterCIDR is refused', async () => {
    await store.client.put(`${store.base}instances/i-x`).value('10.99.0.0/24');
    await store.client
      .put(`${store.base}subnets/10.99.0.0-24`)
      .value(JSON.stringify({ instanceId: 'i-x', allocatedAt: 3 }));
    await expect(subnetOf(store, 'i-x', '10.244.0.0/16')).rejects.toThrow(
      'store: the subnet of i-x is 10.99.0.0/24, not a subnet inside clusterCIDR 10.244.0.0/16; refusing it',
    );
  });

  it('an etcd that does not answer is an error, never "no subnet"', async () => {
    await etcd.stop({ keepData: true });
    try {
      await expect(subnetOf(store, 'i-a', '10.244.0.0/16')).rejects.toThrow();
    } finally {
      await etcd.restart();
    }
  });
});
