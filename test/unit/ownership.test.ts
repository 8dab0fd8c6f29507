// I2 by property: a route is ours only if its destination is exactly one of our subnets — length subnetLen,
// host bits zero, inside clusterCIDR — whatever its mark, target or state says.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Route } from '../../providers/types.ts';
import { formatIp, parseCidr } from '../../src/lib/cidr.ts';
import { classifyRoute, isClusterSubnet } from '../../src/ownership.ts';

const KNOWN = new Set(['i-1', 'i-2']);

/** A cluster CIDR with host bits zero, and a subnetLen longer than its prefix. */
const arbPool = fc
  .record({
    base: fc.integer({ min: 0, max: 0xffffffff }),
    prefix: fc.integer({ min: 8, max: 29 }),
    extra: fc.integer({ min: 1, max: 8 }),
  })
  .map(({ base, prefix, extra }) => {
    const masked = (base & ((0xffffffff << (32 - prefix)) >>> 0)) >>> 0;
    return { cluster: `${formatIp(masked)}/${prefix}`, subnetLen: Math.min(30, prefix + extra) };
  });

/** Any destination text a provider might list, well-formed or not, near the cluster or far from it. */
const arbDestination = (cluster: string) => {
  const c = parseCidr(cluster);
  const near = fc
    .record({ off: fc.integer({ min: -(2 ** 20), max: 2 ** 26 }), len: fc.integer({ min: 0, max: 32 }) })
    .map(({ off, len }) => {
      const ip = (c.base + off) >>> 0;
      return `${formatIp(ip)}/${len}`;
    });
  const any = fc
    .record({ ip: fc.integer({ min: 0, max: 0xffffffff }), len: fc.integer({ min: 0, max: 32 }) })
    .map(({ ip, len }) => `${formatIp(ip)}/${len}`);
  return fc.oneof(near, any, fc.constantFrom('0.0.0.0/0', cluster, 'garbage', '10.0.0.0', '::/0'));
};

const arbRoute = (destination: fc.Arbitrary<string>) =>
  fc
    .record({
      destination,
      marked: fc.constantFrom(true, false, null),
      target: fc.constantFrom('i-1', 'i-2', 'i-stranger', null),
      state: fc.constantFrom('active', 'pending', 'blackhole') as fc.Arbitrary<Route['state']>,
      system: fc.boolean(),
    })
    .map((g): Route => ({ table: 't', nextHop: g.target ?? 'igw-1', ...g }));

/** The rule, written independently of the code: exact prefix, aligned, inside. */
function isExactSubnet(dest: string, cluster: string, subnetLen: number): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(dest);
  if (!m) return false;
  const o = m.slice(1, 5).map(Number);
  if (o.some((x) => x > 255)) return false;
  const ip = ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
  const len = Number(m[5]);
  if (len !== subnetLen) return false;
  const c = parseCidr(cluster);
  const step = 2 ** (32 - subnetLen);
  return ip % step === 0 && ip >= c.base && ip + step <= c.base + 2 ** (32 - c.prefix);
}

describe('ownership (I2): only exact subnets of length subnetLen inside clusterCIDR are ours', () => {
  it('a route classified ours is always exactly one of our subnets', () => {
    fc.assert(
      fc.property(
        arbPool.chain((p) => fc.tuple(fc.constant(p), arbRoute(arbDestination(p.cluster)))),
        ([p, r]) => {
          const owner = classifyRoute(r, { clusterCIDR: p.cluster, subnetLen: p.subnetLen, knownInstanceIds: KNOWN });
          const exact = isExactSubnet(r.destination, p.cluster, p.subnetLen);
          expect(isClusterSubnet(r.destination, parseCidr(p.cluster), p.subnetLen)).toBe(exact);
          if (owner === 'ours' || owner === 'foreign') expect(exact).toBe(true);
          if (!exact && !r.system) expect(owner).toBe('outside');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('every aligned /subnetLen inside clusterCIDR is ours when marked, and the mark decides nothing elsewhere', () => {
    fc.assert(
      fc.property(arbPool, fc.nat(), fc.integer({ min: -4, max: 4 }), (p, idx, lenDelta) => {
        const c = parseCidr(p.cluster);
        const count = 2 ** (p.subnetLen - c.prefix);
        const sub = `${formatIp(c.base + (idx % count) * 2 ** (32 - p.subnetLen))}/${p.subnetLen}`;
        const own = { clusterCIDR: p.cluster, subnetLen: p.subnetLen, knownInstanceIds: KNOWN };
        const marked: Route = {
          table: 't',
          destination: sub,
          target: 'i-1',
          nextHop: 'i-1',
          state: 'active',
          marked: true,
          system: false,
        };
        expect(classifyRoute(marked, own)).toBe('ours');
        // The same address at any other length (a wider route covering it, a narrower one inside it) is not ours.
        const len = p.subnetLen + lenDelta;
        if (lenDelta !== 0 && len >= 0 && len <= 32) {
          const base =
            (c.base + (idx % count) * 2 ** (32 - p.subnetLen)) & (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);
          expect(classifyRoute({ ...marked, destination: `${formatIp(base >>> 0)}/${len}` }, own)).toBe('outside');
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('examples: default route, the cluster itself, a wider route, an unaligned one', () => {
    const own = { clusterCIDR: '10.0.0.0/16', subnetLen: 24, knownInstanceIds: KNOWN };
    const r = (destination: string, marked: boolean | null = true): Route => ({
      table: 't',
      destination,
      target: 'i-1',
      nextHop: 'i-1',
      state: 'active',
      marked,
      system: false,
    });
    expect(classifyRoute(r('0.0.0.0/0'), own)).toBe('outside');
    expect(classifyRoute(r('0.0.0.0/0', null), { ...own, clusterCIDR: '0.0.0.0/0' })).toBe('outside');
    expect(classifyRoute(r('10.0.0.0/16'), own)).toBe('outside');
    expect(classifyRoute(r('10.0.0.0/20', null), own)).toBe('outside');
    expect(classifyRoute(r('10.0.1.128/24'), own)).toBe('outside');
    expect(classifyRoute(r('10.0.1.0/24'), own)).toBe('ours');
    expect(classifyRoute(r('10.0.1.0/24', null), own)).toBe('ours');
    expect(classifyRoute(r('10.0.1.0/24', false), own)).toBe('foreign');
  });
});
