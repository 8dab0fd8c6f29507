import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planAllocations, poolStats, PoolExhaustedError, releasePlan, type PoolOptions } from '../../src/allocator.ts';
import { contains, overlaps, parseCidr } from '../../src/lib/cidr.ts';
import { allocateIn, emptyState, releaseIn, snapshotOf } from '../../src/store/state.ts';
import type { Instance } from '../../providers/types.ts';
import type { StoreSnapshot } from '../../src/store/types.ts';

const T0 = Date.UTC(2026, 0, 1);
const vm = (id: string, state: Instance['state'] = 'running'): Instance => ({
  id,
  name: `n-${id}`,
  privateIp: '10.9.0.1',
  zone: 'z',
  state,
});
const empty: StoreSnapshot = { allocations: [], released: [] };
const opts = (o: Partial<PoolOptions> = {}): PoolOptions => ({
  clusterCIDR: '172.16.0.0/16',
  subnetLen: 24,
  reserved: [],
  reuseAfterMs: 600_000,
  now: T0,
  ...o,
});

describe('planAllocations', () => {
  it('hands out the lowest free subnets to running VMs without one, in id order', () => {
    const plan = planAllocations(opts({ reserved: ['172.16.0.0/23'] }), empty, [
      vm('b'),
      vm('a'),
      vm('c', 'stopped'),
      vm('a'),
    ]);
    expect(plan).toEqual([
      { instanceId: 'a', subnet: '172.16.2.0/24', name: 'n-a', privateIp: '10.9.0.1', allocatedAt: T0 },
      { instanceId: 'b', subnet: '172.16.3.0/24', name: 'n-b', privateIp: '10.9.0.1', allocatedAt: T0 },
    ]);
  });

  it('skips allocated subnets and released ones still in cool-down, reuses them after', () => {
    const snap: StoreSnapshot = {
      allocations: [{ instanceId: 'x', subnet: '172.16.0.0/24', name: '', privateIp: '', allocatedAt: T0 }],
      released: [{ subnet: '172.16.1.0/24', releasedAt: T0 - 1000, instanceId: 'old' }],
    };
    expect(planAllocations(opts(), snap, [vm('x'), vm('y')]).map((r) => r.subnet)).toEqual(['172.16.2.0/24']);
    expect(planAllocations(opts({ now: T0 - 1000 + 600_000 }), snap, [vm('y')]).map((r) => r.subnet)).toEqual([
      '172.16.1.0/24',
    ]);
  });

  it('reports exhaustion with the numbers and the part that fitted', () => {
    const o = opts({ clusterCIDR: '172.16.0.0/22', reserved: ['172.16.0.0/24'] });
    const snap: StoreSnapshot = {
      allocations: [],
      released: [{ subnet: '172.16.1.0/24', releasedAt: T0, instanceId: 'z' }],
    };
    let err: unknown;
    try {
      planAllocations(o, snap, [vm('a'), vm('b'), vm('c')]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PoolExhaustedError);
    const e = err as PoolExhaustedError;
    expect(e.message).toBe(
      'no free /24 left in 172.16.0.0/22: 2 allocated, 0 free, 1 reserved, 1 in cool-down after release; 1 VM(s) left without a subnet',
    );
    expect(e.partial.map((r) => r.subnet)).toEqual(['172.16.2.0/24', '172.16.3.0/24']);
    expect(e.unallocated).toEqual(['c']);
  });

  it('uses the message of the brief for a plainly full pool', () => {
    const allocations = Array.from({ length: 256 }, (_, i) => ({
      instanceId: `v${i}`,
      subnet: `172.16.${i}.0/24`,
      name: '',
      privateIp: '',
      allocatedAt: T0,
    }));
    expect(() => planAllocations(opts(), { allocations, released: [] }, [vm('new')])).toThrow(
      /^no free \/24 left in 172\.16\.0\.0\/16: 256 allocated, 0 free;/,
    );
  });
});

describe('poolStats', () => {
  it('counts each subnet once: allocated, then reserved, then cooling down', () => {
    const snap: StoreSnapshot = {
      allocations: [{ instanceId: 'a', subnet: '172.16.0.0/24', name: '', privateIp: '', allocatedAt: T0 }],
      released: [
        { subnet: '172.16.5.0/24', releasedAt: T0, instanceId: 'b' },
        { subnet: '172.16.6.0/24', releasedAt: T0 - 600_000, instanceId: 'c' },
      ],
    };
    expect(poolStats(opts({ reserved: ['172.16.0.0/22'] }), snap)).toEqual({
      size: 256,
      allocated: 1,
      reserved: 3,
      coolingDown: 1,
      free: 251,
    });
  });
});

describe('releasePlan', () => {
  const alloc = (id: string, missingSince?: number) => ({
    instanceId: id,
    subnet: `10.0.${id.length}.0/24`,
    name: '',
    privateIp: '',
    allocatedAt: T0,
    ...(missingSince === undefined ? {} : { missingSince }),
  });
  it('marks newly missing, clears the returned, releases the long gone', () => {
    const snap: StoreSnapshot = {
      allocations: [
        alloc('here'),
        alloc('back', T0 - 10),
        alloc('gone'),
        alloc('long', T0 - 300_000),
        alloc('soon', T0 - 299_999),
      ],
      released: [],
    };
    const plan = releasePlan(snap, ['here', 'back'], { releaseAfterMs: 300_000, now: T0 });
    expect(plan).toEqual({
      setMissing: [
        { instanceId: 'back', missingSince: null },
        { instanceId: 'gone', missingSince: T0 },
      ],
      release: ['long'],
    });
  });
});

// --- properties -------------------------------------------------------------------------------------

const poolArb = fc
  .record({
    a: fc.integer({ min: 0, max: 255 }),
    prefix: fc.integer({ min: 16, max: 24 }),
    extra: fc.integer({ min: 1, max: 6 }),
  })
  .map(({ a, prefix, extra }) => {
    const base = ((10 << 24) | (a << 16)) >>> 0;
    const masked = prefix >= 16 ? base : base;
    return { clusterCIDR: `10.${a}.0.0/${prefix}`, prefix, subnetLen: Math.min(30, prefix + extra), base: masked };
  });

const scenario = poolArb.chain((p) =>
  fc.record({
    pool: fc.constant(p),
    reserved: fc.array(
      fc.record({ len: fc.integer({ min: p.prefix, max: 30 }), pick: fc.nat() }).map(({ len, pick }) => {
        const slots = 2 ** (len - p.prefix);
        const idx = pick % slots;
        const base = parseCidr(p.clusterCIDR).base + idx * 2 ** (32 - len);
        return `${[base >>> 24, (base >>> 16) & 255, (base >>> 8) & 255, base & 255].join('.')}/${len}`;
      }),
      { maxLength: 4 },
    ),
    rounds: fc.array(
      fc.record({
        present: fc.uniqueArray(fc.integer({ min: 0, max: 80 }), { maxLength: 40 }),
        advance: fc.integer({ min: 0, max: 400_000 }),
      }),
      { minLength: 1, maxLength: 6 },
    ),
  }),
);

describe('allocator properties', () => {
  it('never overlaps, never leaves the pool, never hits reserved, keeps subnets stable, honours cool-down', () => {
    fc.assert(
      fc.property(scenario, ({ pool, reserved, rounds }) => {
        const state = emptyState();
        const cluster = parseCidr(pool.clusterCIDR);
        let now = T0;
        const everHeld = new Map<string, string>();
        const releasedAt = new Map<string, number>();
        for (const round of rounds) {
          now += round.advance;
          const o: PoolOptions = {
            clusterCIDR: pool.clusterCIDR,
            subnetLen: pool.subnetLen,
            reserved,
            reuseAfterMs: 200_000,
            now,
          };
          const before = snapshotOf(state);
          const inventory = round.present.map((i) => vm(`i-${i}`));
          let plan;
          try {
            plan = planAllocations(o, before, inventory);
          } catch (e) {
            if (!(e instanceof PoolExhaustedError)) throw e;
            plan = e.partial;
            expect(e.stats.free).toBe(0);
          }
          for (const r of plan) {
            const c = parseCidr(r.subnet);
            expect(contains(cluster, c)).toBe(true);
            expect(c.prefix).toBe(pool.subnetLen);
            for (const res of reserved) expect(overlaps(c, parseCidr(res))).toBe(false);
            const rel = releasedAt.get(r.subnet);
            if (rel !== undefined) expect(rel + 200_000 <= now).toBe(true);
          }
          const result = allocateIn(state, plan);
          expect(result.conflicts).toEqual([]);
          const after = snapshotOf(state);
          // Stable across a reload: whoever held a subnet still holds the same one.
          for (const a of before.allocations)
            expect(after.allocations.find((b) => b.instanceId === a.instanceId)?.subnet).toBe(a.subnet);
          // A second plan over the reloaded state asks for nothing new for the same inventory.
          try {
            expect(planAllocations(o, after, inventory)).toEqual([]);
          } catch (e) {
            if (!(e instanceof PoolExhaustedError)) throw e;
          }
          const subnets = after.allocations.map((a) => parseCidr(a.subnet));
          for (let i = 0; i < subnets.length; i++)
            for (let j = i + 1; j < subnets.length; j++) expect(overlaps(subnets[i]!, subnets[j]!)).toBe(false);
          for (const a of after.allocations) everHeld.set(a.instanceId, a.subnet);
          // Release everything absent (releaseAfter 0) to exercise cool-down.
          const rp = releasePlan(
            after,
            inventory.map((v) => v.id),
            { releaseAfterMs: 0, now },
          );
          for (const r of releaseIn(state, rp.release, now)) releasedAt.set(r.subnet, r.releasedAt);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('poolStats always adds up to the pool size', () => {
    fc.assert(
      fc.property(scenario, ({ pool, reserved, rounds }) => {
        const state = emptyState();
        const o: PoolOptions = {
          clusterCIDR: pool.clusterCIDR,
          subnetLen: pool.subnetLen,
          reserved,
          reuseAfterMs: 1000,
          now: T0,
        };
        try {
          allocateIn(
            state,
            planAllocations(
              o,
              snapshotOf(state),
              (rounds[0]?.present ?? []).map((i) => vm(`i-${i}`)),
            ),
          );
        } catch (e) {
          if (!(e instanceof PoolExhaustedError)) throw e;
        }
        const st = poolStats(o, snapshotOf(state));
        expect(st.allocated + st.reserved + st.coolingDown + st.free).toBe(st.size);
        expect(st.size).toBe(2 ** (pool.subnetLen - pool.prefix));
      }),
    );
  });
});
