// The emulators' profiles are data (emulators/<cloud>/profile.ts, shaped by emulators/shared/profile.ts):
// every cloud defines every profile, the emulator plays the numbers it finds there, and the bench bound
// and the CLI read the same data.
import { describe, expect, it } from 'vitest';
import { bound } from '../../bench/common.ts';
import { PROFILES as AWS } from '../../emulators/aws/profile.ts';
import { EMULATOR_PROFILES, EMULATORS } from '../../emulators/clouds.ts';
import { PROFILES as GCE } from '../../emulators/gce/profile.ts';
import { scaledClock } from '../../emulators/shared/clock.ts';
import {
  drawMs,
  fixedMs,
  type MsRange,
  PROFILE_NAMES,
  type Profile,
  pickProfile,
} from '../../emulators/shared/profile.ts';
import { seededRng } from '../../emulators/shared/rng.ts';
import { startEmulator } from '../../emulators/shared/server.ts';
import { PROVIDER_KINDS } from '../../providers/plugins.ts';
import { EMULATOR_PROFILES as CLI_PROFILES } from '../../src/commands/emulator.ts';

/** Every number in a profile, with its path, for the shape checks. */
function numbers(v: unknown, path: string): Array<[string, number]> {
  if (typeof v === 'number') return [[path, v]];
  if (typeof v !== 'object' || v === null) return [];
  return Object.entries(v).flatMap(([k, x]) => numbers(x, `${path}.${k}`));
}

function ranges(v: unknown, path: string): Array<[string, MsRange]> {
  if (typeof v !== 'object' || v === null) return [];
  if ('minMs' in v && 'maxMs' in v) return [[path, v as MsRange]];
  return Object.entries(v).flatMap(([k, x]) => ranges(x, `${path}.${k}`));
}

describe('emulator profiles', () => {
  it('every cloud defines every profile, with positive numbers and ranges that run low to high', () => {
    expect(Object.keys(EMULATOR_PROFILES).sort()).toEqual([...PROVIDER_KINDS].sort());
    for (const kind of PROVIDER_KINDS)
      for (const name of PROFILE_NAMES) {
        const p = EMULATOR_PROFILES[kind][name];
        expect(Number.isInteger(p.defaultRouteQuota) && p.defaultRouteQuota > 0, `${kind}.${name}`).toBe(true);
        const bad = numbers(p, `${kind}.${name}`).filter(([, n]) => !(Number.isFinite(n) && n > 0));
        expect(bad).toEqual([]);
        const reversed = ranges(p, `${kind}.${name}`).filter(([, r]) => r.minMs > r.maxMs);
        expect(reversed).toEqual([]);
      }
  });

  it('`routesync emulator --profile` offers exactly the profile names', () => {
    expect([...CLI_PROFILES]).toEqual([...PROFILE_NAMES]);
  });

  it('an unknown profile name is refused in one line naming the known ones', async () => {
    expect(() => pickProfile(AWS, 'slow')).toThrow('profile: "slow" is not one of realistic, fast');
    await expect(startEmulator(EMULATORS.gce, { profile: 'slow' as Profile })).rejects.toThrow(/profile: "slow"/);
  });

  it('a fixed range draws nothing from the seeded rng; a wide one draws once, inside it', () => {
    let draws = 0;
    const rng = () => {
      draws++;
      return 0.5;
    };
    expect(drawMs(fixedMs(7), rng)).toBe(7);
    expect(draws).toBe(0);
    expect(drawMs({ minMs: 10, maxMs: 30 }, rng)).toBe(20);
    expect(draws).toBe(1);
  });

  it("each emulator plays its profile's quota and latencies", () => {
    for (const kind of PROVIDER_KINDS)
      for (const profile of PROFILE_NAMES) {
        const cloud = EMULATORS[kind]({
          clock: scaledClock(1),
          rng: seededRng(3),
          options: { seed: 3, timeScale: 1, profile },
        });
        const p = EMULATOR_PROFILES[kind][profile];
        const state = cloud.admin.state() as { tables: Array<{ quota: number }> };
        expect(state.tables.map((t) => t.quota)).toEqual(state.tables.map(() => p.defaultRouteQuota));
        const allMs = ranges(p, '')
          .filter(([path]) => path.endsWith('Latency'))
          .map(([, r]) => r);
        const lo = Math.min(...allMs.map((r) => r.minMs));
        const hi = Math.max(...allMs.map((r) => r.maxMs));
        for (let i = 0; i < 20; i++)
          for (const mutating of [true, false]) {
            const ms = cloud.latencyMs(mutating ? 'CreateRoute' : 'DescribeRouteTables', mutating);
            expect(ms, `${kind} ${profile}`).toBeGreaterThanOrEqual(lo);
            expect(ms, `${kind} ${profile}`).toBeLessThanOrEqual(hi);
          }
        cloud.close?.();
      }
  });

  it('the bench bound is computed from the profile it names', () => {
    const b = AWS.realistic.mutatingBucket;
    expect(bound('aws', 1000, 2).seconds).toBe((2000 - b.capacity) / b.perSecond);
    expect(bound('aws', 1000, 2, 'fast').seconds).toBe(0);
    // GCE from empty: at most the slowest operation once nothing waits for a rate bucket.
    const fastGce = bound('gce', 10, 1, 'fast').seconds;
    expect(fastGce).toBeGreaterThan(GCE.fast.operationDone.minMs / 1000);
    expect(fastGce).toBeLessThanOrEqual(GCE.fast.operationDone.maxMs / 1000);
  });
});
