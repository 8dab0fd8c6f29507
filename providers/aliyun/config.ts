// The `provider` section for provider.type aliyun: what the adapter may take as checked.
import { z } from 'zod';
import { commonProviderFields, requiredFor, type ResolvedConfig } from '../plugin.ts';

export const aliyunConfigSchema = z.strictObject({
  type: z.literal('aliyun'),
  region: requiredFor('aliyun', 'the API region'),
  vpcId: requiredFor('aliyun', 'the VPC whose route tables are managed'),
  ...commonProviderFields,
});

export type AliyunConfig = ResolvedConfig<typeof aliyunConfigSchema>;
