// The Aliyun emulator's numbers per profile. `realistic` follows what Alibaba documents: 200 custom entries
// per table, at most 50 entries per CreateRouteEntries / DeleteRouteEntries call, entries Pending for a few
// seconds after a change, one route task at a time per table. Alibaba publishes no fixed per-API QPS for VPC
// route actions (limits are per account and shown in the Quota Center), so the buckets below are plausible
// assumptions, per access key: reads 25/s (burst 50), writes 5/s (burst 10). `fast` is for tests.
import type { BucketSpec, CloudProfile, MsRange, ProfileTable } from '../shared/profile.ts';

export interface AliyunProfile extends CloudProfile {
  readonly readLatency: MsRange;
  readonly writeLatency: MsRange;
  /** Emulated ms an entry stays Pending/Modifying/Deleting (whole milliseconds). */
  readonly settle: MsRange;
  /** Emulated ms a table's route task runs: a change meanwhile gets TaskConflict. */
  readonly taskMs: number;
  /** Per access key. */
  readonly readBucket: BucketSpec;
  readonly writeBucket: BucketSpec;
  /** Entries one CreateRouteEntries / DeleteRouteEntries call may carry. */
  readonly batchMax: number;
}

export const PROFILES: ProfileTable<AliyunProfile> = {
  realistic: {
    readLatency: { minMs: 80, maxMs: 80 },
    writeLatency: { minMs: 250, maxMs: 250 },
    settle: { minMs: 2000, maxMs: 5000 },
    taskMs: 1000,
    readBucket: { capacity: 50, perSecond: 25 },
    writeBucket: { capacity: 10, perSecond: 5 },
    batchMax: 50,
    defaultRouteQuota: 200,
  },
  fast: {
    readLatency: { minMs: 1, maxMs: 1 },
    writeLatency: { minMs: 2, maxMs: 2 },
    settle: { minMs: 40, maxMs: 100 },
    taskMs: 20,
    readBucket: { capacity: 100_000, perSecond: 100_000 },
    writeBucket: { capacity: 100_000, perSecond: 100_000 },
    batchMax: 50,
    defaultRouteQuota: 200,
  },
};
