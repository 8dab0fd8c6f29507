// The `provider` section for provider.type aliyun: what the adapter may take as checked.
import { z } from 'zod';
import { commonProviderFields, requiredFor, type ResolvedConfig } from '../plugin.ts';
import { isRegionId } from './endpoints.ts';

/**
 * What we assume an account may call DescribeRouteEntryList per 60 s when provider.aliyun.readsPerMinute is
 * not set: Alibaba publishes no figure for it (the VPC quota page lists the writes, e.g. ModifyRouteEntry
 * 300/60 s); the emulator's realistic profile plays the same number.
 */
export const DEFAULT_READS_PER_MINUTE = 1500;
/** The share of that allowance the settle polling may spend: the rest is for the passes' own reads and other clients. */
export const DEFAULT_SETTLE_READ_SHARE = 0.8;

export const aliyunConfigSchema = z.strictObject({
  type: z.literal('aliyun'),
  // The region goes into the VPC and ECS host names (vpc.<region>.aliyuncs.com): only a region id may.
  region: requiredFor('aliyun', 'the API region').refine(
    isRegionId,
    'must be an Alibaba Cloud region id such as cn-hangzhou or eu-central-1',
  ),
  vpcId: requiredFor('aliyun', 'the VPC whose route tables are managed'),
  ...commonProviderFields,
  aliyun: z
    .strictObject({
      /** The account's DescribeRouteEntryList allowance per 60 s, as Quota Center shows it. */
      readsPerMinute: z
        .number({ error: 'must be a number' })
        .int('must be a whole number of calls')
        .min(1, 'must be at least 1')
        .max(10_000_000, 'must be at most 10000000')
        .optional(),
      /** The share of it the settle polling after each route task may use, all tables together. */
      settleReadShare: z
        .number({ error: 'must be a number' })
        .gt(0, 'must be above 0')
        .max(1, 'must be at most 1 (the whole allowance)')
        .optional(),
    })
    .optional(),
});

export type AliyunConfig = ResolvedConfig<typeof aliyunConfigSchema>;

/** Settle reads per 60 s this provider may make: the share of the account's allowance. */
export function settleReadsPerMinute(config: AliyunConfig): number {
  const limit = config.aliyun?.readsPerMinute ?? DEFAULT_READS_PER_MINUTE;
  const share = config.aliyun?.settleReadShare ?? DEFAULT_SETTLE_READ_SHARE;
  return Math.max(1, Math.floor(limit * share));
}
