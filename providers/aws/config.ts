// The `provider` section for provider.type aws: what the adapter may take as checked.
import { z } from 'zod';
import { commonProviderFields, requiredFor, type ResolvedConfig } from '../plugin.ts';

const numberOrRequired = (issue: { input: unknown }): string =>
  issue.input === undefined ? 'is required' : 'must be a number';

export const awsConfigSchema = z.strictObject({
  type: z.literal('aws'),
  region: requiredFor('aws', 'the API region'),
  vpcId: requiredFor('aws', 'the VPC whose route tables are managed'),
  ...commonProviderFields,
  aws: z
    .strictObject({
      /** Each EC2 mutating action's request bucket; raise it only if AWS raised the account's limits. */
      writeRateLimit: z
        .strictObject(
          {
            burst: z
              .number({ error: numberOrRequired })
              .int('must be a whole number of requests')
              .min(1, 'must be at least 1 (EC2 default 50)')
              .max(1_000_000, 'must be at most 1000000'),
            perSecond: z
              .number({ error: numberOrRequired })
              .gt(0, 'must be above 0 requests per second (EC2 default 5)')
              .max(1_000_000, 'must be at most 1000000'),
          },
          { error: 'must be a mapping {burst, perSecond}' },
        )
        .optional(),
    })
    .optional(),
});

export type AwsConfig = ResolvedConfig<typeof awsConfigSchema>;
