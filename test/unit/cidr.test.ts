import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cidrInside,
  compareCidr,
  contains,
  containsIp,
  formatCidr,
  formatIp,
  lastIp,
  maskOf,
  nthSubnet,
  overlaps,
  parseCidr,
  parseIp,
  sizeOf,
  subnetCount,
  subnetIndex,
  type Cidr,
} from '../../src/lib/cidr.ts';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const cidrArb: fc.Arbitrary<Cidr> = fc
  .record({ ip: u32, prefix: fc.integer({ min: 0, max: 32 }) })
  .map(({ ip, prefix }) => ({ base: (ip & maskOf(prefix)) >>> 0, prefix }));
const range = (c: Cidr) => [c.base, c.base + 2 ** (32 - c.prefix) - 1] as const;

describe('cidr examples', () => {
  it('parses, formats and refuses what it should', () => {
    expect(parseCidr('172.16.0.0/16')).toEqual({ base: 0xac100000, prefix: 16 });
    expect(formatCidr(parseCidr(' 10.0.0.0/8 '))).toBe('10.0.0.0/8');
    expect(() => parseCidr('10.0.0.1/8')).toThrow('"10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?)');
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '256.0.0.0/8', '10.0.0/8', '01.0.0.0/8', '10.0.0.0/-1', 'x/8'])
      expect(() => parseCidr(bad)).toThrow(/not a valid IPv4 CIDR/);
    expect(parseIp('255.255.255.255')).toBe(0xffffffff);
    expect(sizeOf(parseCidr('0.0.0.0/0'))).toBe(2 ** 32);
    expect(subnetCount(parseCidr('172.16.0.0/16'), 24)).toBe(256);
    expect(() => subnetCount(parseCidr('172.16.0.0/16'), 8)).toThrow('/8 does not fit in 172.16.0.0/16');
    expect(formatCidr(nthSubnet(parseCidr('172.16.0.0/16'), 24, 255))).toBe('172.16.255.0/24');
    expect(() => nthSubnet(parseCidr('172.16.0.0/16'), 24, 256)).toThrow('subnet index 256 out of range 0..255');
    expect(cidrInside(parseCidr('10.0.0.0/8'), 'garbage')).toBe(false);
  });
});

describe('cidr properties', () => {
  it('ip parse/format round-trips', () => {
    fc.assert(fc.property(u32, (n) => parseIp(formatIp(n)) === n));
  });

  it('cidr parse/format round-trips', () => {
    fc.assert(
      fc.property(cidrArb, (c) => {
        expect(parseCidr(formatCidr(c))).toEqual(c);
      }),
    );
  });

  it('a CIDR with host bits set is refused', () => {
    fc.assert(
      fc.property(u32, fc.integer({ min: 0, max: 31 }), (ip, prefix) => {
        fc.pre((ip & ~maskOf(prefix)) >>> 0 !== 0);
        expect(() => parseCidr(`${formatIp(ip)}/${prefix}`)).toThrow(/host bits/);
      }),
    );
  });

  it('contains and overlaps agree with integer ranges', () => {
    fc.assert(
      fc.property(cidrArb, cidrArb, (a, b) => {
        const [alo, ahi] = range(a);
        const [blo, bhi] = range(b);
        expect(contains(a, b)).toBe(alo <= blo && bhi <= ahi);
        expect(overlaps(a, b)).toBe(alo <= bhi && blo <= ahi);
        expect(overlaps(a, b)).toBe(overlaps(b, a));
        expect(lastIp(a)).toBe(ahi);
      }),
    );
  });

  it('containsIp agrees with the range', () => {
    fc.assert(fc.property(cidrArb, u32, (c, ip) => containsIp(c, ip) === (range(c)[0] <= ip && ip <= range(c)[1])));
  });

  it('nthSubnet and subnetIndex are inverse', () => {
    fc.assert(
      fc.property(cidrArb, fc.integer({ min: 0, max: 16 }), fc.nat(), (c, extra, pick) => {
        const len = Math.min(32, c.prefix + extra);
        const count = subnetCount(c, len);
        const i = pick % count;
        const sub = nthSubnet(c, len, i);
        expect(contains(c, sub)).toBe(true);
        expect(subnetIndex(c, sub)).toBe(i);
        expect(formatCidr(nthSubnet(c, len, subnetIndex(c, sub)))).toBe(formatCidr(sub));
      }),
    );
  });

  it('subnetIndex is -1 outside', () => {
    fc.assert(
      fc.property(cidrArb, cidrArb, (c, s) => (contains(c, s) ? subnetIndex(c, s) >= 0 : subnetIndex(c, s) === -1)),
    );
  });
});

describe('compareCidr', () => {
  it('orders by address, numerically, then wider prefix first; non-addresses last', () => {
    const sorted = ['10.0.10.0/24', 'garbage', '10.0.2.0/24', '9.255.0.0/16', '10.0.2.0/23', '10.0.2.5', 'abc'].sort(
      compareCidr,
    );
    expect(sorted).toEqual([
      '9.255.0.0/16',
      '10.0.2.0/23',
      '10.0.2.0/24',
      '10.0.2.5',
      '10.0.10.0/24',
      'abc',
      'garbage',
    ]);
  });

  it('property: agrees with the numeric order of the addresses and is a total order', () => {
    fc.assert(
      fc.property(cidrArb, cidrArb, cidrArb, (a, b, c) => {
        const [x, y, z] = [a, b, c].map(formatCidr) as [string, string, string];
        const sign = (n: number) => (n > 0 ? 1 : n < 0 ? -1 : 0);
        expect(sign(compareCidr(x, y))).toBe(sign(a.base - b.base || a.prefix - b.prefix));
        expect(sign(compareCidr(x, y)) + sign(compareCidr(y, x))).toBe(0);
        if (compareCidr(x, y) <= 0 && compareCidr(y, z) <= 0) expect(compareCidr(x, z)).toBeLessThanOrEqual(0);
      }),
    );
  });
});
