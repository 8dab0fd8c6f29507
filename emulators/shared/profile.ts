// The shape every cloud emulator's profile is built from. A profile is data: the limits, latencies, batch
// sizes, quotas and settle times an emulator plays, one named set per profile in emulators/<cloud>/profile.ts.
// The emulator reads its numbers from there only, and bench/common.ts `bound()` imports the same data, so a
// profile changed (or a new one added) moves the emulator and the bench bound together.
import type { Rng } from './rng.ts';

/**
 * The profile names every cloud defines (`routesync emulator --profile`). A new one is a name here plus an
 * entry in each cloud's table (the `ProfileTable` type makes a missing one a type error); derive it from an
 * existing one with a spread when only a few numbers change.
 */
export const PROFILE_NAMES = ['realistic', 'fast'] as const;
export type Profile = (typeof PROFILE_NAMES)[number];

/** One cloud's profiles, by name. */
export type ProfileTable<P> = Readonly<Record<Profile, P>>;

/** A token bucket: `capacity` requests at once, refilled at `perSecond` (the clouds' published throttling model). */
export interface BucketSpec {
  readonly capacity: number;
  readonly perSecond: number;
}

/** Emulated milliseconds drawn uniformly from [minMs, maxMs]; equal bounds are a fixed number. */
export interface MsRange {
  readonly minMs: number;
  readonly maxMs: number;
}

/** What every cloud's profile states; each adds its own limits beside these. */
export interface CloudProfile {
  /** Route entries per table (GCE: per project) when the emulator is started without `routeQuota`. */
  readonly defaultRouteQuota: number;
}

/** A fixed range draws nothing from the rng, so a run's seeded sequence does not depend on how many are fixed. */
export function drawMs(r: MsRange, rng: Rng): number {
  return r.minMs === r.maxMs ? r.minMs : r.minMs + rng() * (r.maxMs - r.minMs);
}

export function fixedMs(ms: number): MsRange {
  return { minMs: ms, maxMs: ms };
}

/** The profile of that name, or one line naming the known ones (a caller from JavaScript may pass anything). */
export function pickProfile<P>(table: ProfileTable<P>, name: string): P {
  if (!(PROFILE_NAMES as readonly string[]).includes(name))
    throw new Error(`profile: "${name}" is not one of ${PROFILE_NAMES.join(', ')}`);
  return table[name as Profile];
}
