// The Aliyun emulator's numbers per profile. `realistic` follows what Alibaba documents: 200 custom entries
// per table, at most 50 entries per CreateRouteEntries / DeleteRouteEntries call, entries Pending for a few
// seconds after a change, one route task at a time per table, and API rate limits counted per main account
// (every RAM user and key of it together), per API, per 60 s window ("n/60(s)" on the VPC quota page, e.g.
// ModifyRouteEntry 300/60 s). The other per-API figures are not published for the route actions: reads
// 1,500/60 s and writes 300/60 s are assumptions in line with the published ones. `fast` is for tests.
import type { CloudProfile, MsRange, ProfileTable } from '../shared/profile.ts';

/** Calls one main account may make to one API in one 60 s window. */
export interface ApiWindows {
  /** Describe*, Get*, List* actions without a figure of their own. */
  readonly reads: number;
  /** Create*, Delete*, Modify* actions without a figure of their own. */
  readonly writes: number;
  readonly byAction: Readonly<Record<string, number>>;
}

export interface AliyunProfile extends CloudProfile {
  readonly readLatency: MsRange;
  readonly writeLatency: MsRange;
  /** Emulated ms an entry stays Pending/Modifying/Deleting (whole milliseconds). */
  readonly settle: MsRange;
  /** Emulated ms a table's route task runs: a change meanwhile gets TaskConflict. */
  readonly taskMs: number;
  /** Per main account, per API, per 60 s of emulated time: over it, `Throttling.User`. */
  readonly perMinute: ApiWindows;
  /** Entries one CreateRouteEntries / DeleteRouteEntries call may carry. */
  readonly batchMax: number;
  /**
   * The per-entry FailedCode of a batch entry refused for the table's quota. Alibaba does not document it
   * (the single-entry call says QuotaExceeded, "Route entry quota exceeded in this route table"), so the
   * realistic profile answers a code in the style of the documented per-entry ones, with that message.
   */
  readonly entryQuotaCode: string;
}

export const PROFILES: ProfileTable<AliyunProfile> = {
  realistic: {
    readLatency: { minMs: 80, maxMs: 80 },
    writeLatency: { minMs: 250, maxMs: 250 },
    settle: { minMs: 2000, maxMs: 5000 },
    taskMs: 1000,
    perMinute: { reads: 1500, writes: 300, byAction: { ModifyRouteEntry: 300 } },
    batchMax: 50,
    defaultRouteQuota: 200,
    entryQuotaCode: 'VPC_ROUTE_ENTRY_QUOTA_EXCEEDED',
  },
  fast: {
    readLatency: { minMs: 1, maxMs: 1 },
    writeLatency: { minMs: 2, maxMs: 2 },
    settle: { minMs: 40, maxMs: 100 },
    taskMs: 20,
    perMinute: { reads: 10_000_000, writes: 10_000_000, byAction: {} },
    batchMax: 50,
    defaultRouteQuota: 200,
    entryQuotaCode: 'VPC_ROUTE_ENTRY_QUOTA_EXCEEDED',
  },
};
