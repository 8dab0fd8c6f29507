// The emulator's numbers per profile. `realistic` follows what Alibaba documents: 200 custom entries per
// table, entries Pending for a few seconds after a change, one route task at a time per table. Alibaba
// publishes no fixed per-API QPS for VPC route actions (limits are per account and shown in the Quota
// Center), so the buckets below are plausible assumptions: reads 25/s (burst 50), writes 5/s (burst 10).
import type { Profile } from '../shared/types.ts';

export interface AliyunProfile {
  readLatencyMs: number;
  writeLatencyMs: number;
  /** Emulated ms an entry stays Pending/Modifying/Deleting: min + rng * spread. */
  settleMinMs: number;
  settleSpreadMs: number;
  /** Emulated ms a table's route task runs: a change meanwhile gets TaskConflict. */
  taskMs: number;
  readBucket: { capacity: number; perSecond: number };
  writeBucket: { capacity: number; perSecond: number };
  defaultQuota: number;
}

export const PROFILES: Record<Profile, AliyunProfile> = {
  realistic: {
    readLatencyMs: 80,
    writeLatencyMs: 250,
    settleMinMs: 2000,
    settleSpreadMs: 3000,
    taskMs: 1000,
    readBucket: { capacity: 50, perSecond: 25 },
    writeBucket: { capacity: 10, perSecond: 5 },
    defaultQuota: 200,
  },
  fast: {
    readLatencyMs: 1,
    writeLatencyMs: 2,
    settleMinMs: 40,
    settleSpreadMs: 60,
    taskMs: 20,
    readBucket: { capacity: 100_000, perSecond: 100_000 },
    writeBucket: { capacity: 100_000, perSecond: 100_000 },
    defaultQuota: 200,
  },
};
