// The behaviour every Store must show, run against memory, file and etcd (test/unit/store-contract.test.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AllocationRequest, Store } from '../../src/store/types.ts';

export interface StoreHarness {
  store: Store;
  /** A second store instance over the same backing data (undefined for memory). */
  reopen?: () => Promise<Store>;
  cleanup: () => Promise<void>;
}

const T0 = Date.UTC(2026, 0, 1);

export function req(
  i: number,
  subnet = `10.${(i >> 8) & 255}.${i & 255}.0/24`,
  instanceId = `i-${i}`,
): AllocationRequest {
  return {
    instanceId,
    subnet,
    name: `vm-${i}`,
    privateIp: `192.168.${(i >> 8) & 255}.${i & 255}`,
    allocatedAt: T0 + i,
  };
}

export function storeContract(name: string, make: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    let h: StoreHarness;
    let s: Store;
    beforeEach(async () => {
      h = await make();
      s = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('starts empty', async () => {
      expect(await s.load()).toEqual({ allocations: [], released: [] });
    });

    it('commits allocations and returns them with every field', async () => {
      const r = await s.allocate([req(1), req(2)]);
      expect(r.conflicts).toEqual([]);
      expect(r.committed).toEqual([req(1), req(2)]);
      expect((await s.load()).allocations).toEqual([req(1), req(2)]);
    });

    it('refuses a taken subnet and a VM that already has one, committing the rest', async () => {
      await s.allocate([req(1)]);
      const r = await s.allocate([req(2, req(1).subnet), req(3, req(3).subnet, 'i-1'), req(4)]);
      expect(r.committed).toEqual([req(4)]);
      expect(r.conflicts).toEqual([
        { request: req(2, req(1).subnet), reason: 'subnet-taken' },
        { request: req(3, req(3).subnet, 'i-1'), reason: 'instance-has-subnet' },
      ]);
      const snap = await s.load();
      expect(snap.allocations.map((a) => [a.instanceId, a.subnet])).toEqual([
        ['i-1', req(1).subnet],
        ['i-4', req(4).subnet],
      ]);
    });

    it('settles duplicates inside one call: the first request wins', async () => {
      const r = await s.allocate([req(1), req(2, req(1).subnet), req(3, req(3).subnet, 'i-1')]);
      expect(r.committed).toEqual([req(1)]);
      expect(r.conflicts.map((c) => c.reason).sort()).toEqual(['instance-has-subnet', 'subnet-taken']);
    });

    it('allocates a large batch with conflicts scattered through it', async () => {
      await s.allocate([req(10), req(100), req(150)]);
      const wanted = Array.from({ length: 300 }, (_, i) => req(i));
      const r = await s.allocate(wanted);
      expect(r.committed.length).toBe(297);
      expect(r.conflicts.map((c) => c.request.instanceId).sort()).toEqual(['i-10', 'i-100', 'i-150']);
      const snap = await s.load();
      expect(snap.allocations.length).toBe(300);
      expect(new Set(snap.allocations.map((a) => a.subnet)).size).toBe(300);
    });

    it('refuses malformed requests without writing anything', async () => {
      await expect(s.allocate([req(1), { ...req(2), subnet: '10.0.0.1/24' }])).rejects.toThrow(/subnet/);
      await expect(s.allocate([{ ...req(3), instanceId: '' }])).rejects.toThrow(/instanceId/);
      expect((await s.load()).allocations).toEqual([]);
    });

    it('sets and clears missingSince, ignoring VMs without a subnet', async () => {
      await s.allocate([req(1), req(2)]);
      await s.setMissing([
        { instanceId: 'i-1', missingSince: T0 + 50 },
        { instanceId: 'i-nope', missingSince: T0 },
      ]);
      let snap = await s.load();
      expect(snap.allocations.find((a) => a.instanceId === 'i-1')?.missingSince).toBe(T0 + 50);
      expect(snap.allocations.find((a) => a.instanceId === 'i-2')?.missingSince).toBeUndefined();
      await s.setMissing([{ instanceId: 'i-1', missingSince: null }]);
      snap = await s.load();
      expect(snap.allocations.find((a) => a.instanceId === 'i-1')).toEqual(req(1));
    });

    it('releases: frees the subnet and the VM, records the release', async () => {
      await s.allocate([req(1), req(2)]);
      const released = await s.release(['i-1', 'i-unknown'], T0 + 1000);
      expect(released).toEqual([{ subnet: req(1).subnet, releasedAt: T0 + 1000, instanceId: 'i-1' }]);
      const snap = await s.load();
      expect(snap.allocations.map((a) => a.instanceId)).toEqual(['i-2']);
      expect(snap.released).toEqual(released);
      // Both keys are free again: the VM can take another subnet, another VM this one (cool-down is the allocator's rule).
      const r = await s.allocate([req(5, req(5).subnet, 'i-1'), req(6, req(1).subnet)]);
      expect(r.conflicts).toEqual([]);
    });

    it('rekeys: moves a record to a new id with its subnet, only while it is as the move says', async () => {
      // store.type kubernetes keys an allocation by its Node's providerID, so a record there takes the id
      // form of the providerID reading, not a rekey (test/integration/kubernetes-store.test.ts).
      if (s.kind === 'kubernetes') return;
      await s.allocate([req(1), req(2), req(3)]);
      await s.setMissing([{ instanceId: 'i-1', missingSince: T0 + 5 }]);
      const move = (i: number, subnet = req(i).subnet) => ({
        from: `i-${i}`,
        to: `zone-a/i-${i}`,
        subnet,
        name: `vm-${i}`,
        privateIp: `10.9.0.${i}`,
      });
      const done = await s.rekey([move(1), move(2, req(3).subnet), { ...move(3), to: 'i-2' }, move(9)]);
      expect(done).toEqual([move(1)]);
      const snap = await s.load();
      expect(snap.allocations.find((a) => a.subnet === req(1).subnet)).toEqual({
        ...req(1),
        instanceId: 'zone-a/i-1',
        privateIp: '10.9.0.1',
        missingSince: T0 + 5,
      });
      expect(snap.allocations.map((a) => a.instanceId)).toEqual(['zone-a/i-1', 'i-2', 'i-3']);
      // The VM index moved too: the new id holds a subnet, the old one is free.
      const r = await s.allocate([req(7, req(7).subnet, 'zone-a/i-1'), req(8, req(8).subnet, 'i-1')]);
      expect(r.conflicts.map((c) => [c.request.instanceId, c.reason])).toEqual([['zone-a/i-1', 'instance-has-subnet']]);
      await expect(s.rekey([{ ...move(2), to: 'bad id' }])).rejects.toThrow(/instanceId/);
    });

    it('purges released records older than the cut-off only', async () => {
      await s.allocate([req(1), req(2)]);
      await s.release(['i-1'], T0 + 10);
      await s.release(['i-2'], T0 + 20);
      await s.purgeReleased(T0 + 15);
      expect((await s.load()).released.map((r) => r.instanceId)).toEqual(['i-2']);
    });

    it('keeps everything across a reopen', async () => {
      if (!h.reopen) return expect(s.kind).toBe('memory');
      await s.allocate([req(1), req(2)]);
      await s.setMissing([{ instanceId: 'i-2', missingSince: T0 + 7 }]);
      await s.release(['i-1'], T0 + 9);
      const before = await s.load();
      const again = await h.reopen();
      try {
        expect(await again.load()).toEqual(before);
      } finally {
        await again.close();
      }
    });
  });
}
