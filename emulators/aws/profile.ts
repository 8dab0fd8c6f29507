// The AWS emulator's numbers per profile. `realistic` follows the EC2 developer guide ("Request token
// limits"): one token bucket per API action, mutating actions 50 tokens refilled at 5/s, non-mutating 100
// at 20/s; the VPC quota "Routes per route table" defaults to 50 (the VPC quotas page; see README "Behaviour
// on real accounts" for the later 500), with no applied value on the account. Latencies are typical round
// trips, ±20 %. `fast` makes the buckets effectively unlimited, for tests; both launch every third instance
// with two network interfaces.
import type { BucketSpec, CloudProfile, MsRange, ProfileTable } from '../shared/profile.ts';

export interface AwsProfile extends CloudProfile {
  /** Per action: CreateRoute, ReplaceRoute, DeleteRoute and ModifyInstanceAttribute each have one. */
  readonly mutatingBucket: BucketSpec;
  /** Per action: DescribeRouteTables, DescribeInstances each have one. */
  readonly describeBucket: BucketSpec;
  readonly mutatingLatency: MsRange;
  readonly describeLatency: MsRange;
  /**
   * Every n-th instance launched gets a second network interface (0: none), as multi-homed nodes have: a
   * route or source/dest check by InstanceId is refused for it (InvalidInstanceID), as on EC2.
   */
  readonly secondaryEniEvery: number;
}

/** `base` ms ± 20 %, the jitter the emulator has always played. */
const jittered = (base: number): MsRange => ({ minMs: base * 0.8, maxMs: base * 1.2 });

export const PROFILES: ProfileTable<AwsProfile> = {
  realistic: {
    mutatingBucket: { capacity: 50, perSecond: 5 },
    describeBucket: { capacity: 100, perSecond: 20 },
    mutatingLatency: jittered(150),
    describeLatency: jittered(80),
    defaultRouteQuota: 50,
    secondaryEniEvery: 3,
  },
  fast: {
    mutatingBucket: { capacity: 100_000, perSecond: 100_000 },
    describeBucket: { capacity: 100_000, perSecond: 100_000 },
    mutatingLatency: jittered(1),
    describeLatency: jittered(1),
    defaultRouteQuota: 50,
    secondaryEniEvery: 3,
  },
};
