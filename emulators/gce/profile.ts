// The GCE emulator's numbers per profile. `realistic` follows cloud.google.com/compute/api-quota and the
// operations guide: four per-project rate quota groups of 1,500 requests per minute each, route inserts and
// deletes answered at once with an operation that is DONE 5-20 s later, `globalOperations.wait` returning
// at DONE or after about two minutes, and a ROUTES quota of 200 per project. Google counts each rate group
// per clock-minute window and resets it when the minute turns; so does the emulator (./rate-window.ts).
// `fast` keeps the same shape with tiny numbers, for tests.
import { fixedMs, type CloudProfile, type MsRange, type ProfileTable } from '../shared/profile.ts';

/** Compute's per-project rate quota groups: inserts/deletes are `default`, operation polls have their own. */
export type RateGroup = 'default' | 'read_requests' | 'list_requests' | 'operation_read_requests';
export const RATE_GROUPS: readonly RateGroup[] = [
  'default',
  'read_requests',
  'list_requests',
  'operation_read_requests',
];

export interface GceProfile extends CloudProfile {
  /** Requests per clock-minute window of each rate group (reset when the minute turns). */
  readonly rateQuotaPerMinute: Readonly<Record<RateGroup, number>>;
  /** From an insert/delete to its operation RUNNING, then to DONE (never before RUNNING). */
  readonly operationStart: MsRange;
  readonly operationDone: MsRange;
  /** The longest one `globalOperations.wait` holds before answering with the operation not yet DONE. */
  readonly operationWaitMaxMs: number;
  readonly mutatingLatency: MsRange;
  readonly operationReadLatency: MsRange;
  readonly readLatency: MsRange;
}

/** An operation's clocks, as a profile states them; `setOperationTiming` swaps them on a running emulator. */
export type OperationTiming = Pick<GceProfile, 'operationStart' | 'operationDone' | 'operationWaitMaxMs'>;

/**
 * Operations at scale (kubernetes#20984: 1,000 routes took 19 min; PR#38619: over 30 min): each insert or
 * delete DONE 20-40 min after it was accepted, `globalOperations.wait` still answering within two minutes.
 * Longer than a client's patience for one pass: what it does with an operation not DONE is what shows.
 */
export const SLOW_OPERATIONS: OperationTiming = {
  operationStart: { minMs: 1000, maxMs: 60_000 },
  operationDone: { minMs: 20 * 60_000, maxMs: 40 * 60_000 },
  operationWaitMaxMs: 120_000,
};

const everyGroup = (perMinute: number): Record<RateGroup, number> =>
  Object.fromEntries(RATE_GROUPS.map((g) => [g, perMinute])) as Record<RateGroup, number>;

export const PROFILES: ProfileTable<GceProfile> = {
  realistic: {
    rateQuotaPerMinute: everyGroup(1500),
    operationStart: { minMs: 300, maxMs: 2000 },
    operationDone: { minMs: 5000, maxMs: 20_000 },
    operationWaitMaxMs: 120_000,
    mutatingLatency: { minMs: 150, maxMs: 400 },
    operationReadLatency: { minMs: 30, maxMs: 80 },
    readLatency: { minMs: 60, maxMs: 200 },
    defaultRouteQuota: 200,
  },
  fast: {
    rateQuotaPerMinute: everyGroup(1_000_000),
    operationStart: fixedMs(2),
    operationDone: { minMs: 20, maxMs: 60 },
    operationWaitMaxMs: 120_000,
    mutatingLatency: fixedMs(1),
    operationReadLatency: fixedMs(1),
    readLatency: fixedMs(1),
    defaultRouteQuota: 200,
  },
};
