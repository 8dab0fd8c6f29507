// The `provider` section for provider.type gce: what the adapter may take as checked.
import { z } from 'zod';
import { commonProviderFields, requiredFor, type ResolvedConfig } from '../plugin.ts';

/** Requests in any 60 s under one of Compute's per-minute rate groups (1,500 by default on a project). */
const perMinute = (group: string) =>
  z
    .number({ error: 'must be a number' })
    .int('must be a whole number of requests')
    .min(1, `must be at least 1 (Compute's ${group} group allows 1500 per minute by default)`)
    .max(1_000_000, 'must be at most 1000000')
    .optional();

export const gceConfigSchema = z.strictObject({
  type: z.literal('gce'),
  project: requiredFor('gce', 'the GCP project'),
  network: requiredFor('gce', 'the VPC network'),
  /** Accepted and unused: routes are global resources of the project (configs written for 0.1 may carry it). */
  region: z.string().min(1).optional(),
  ...commonProviderFields,
  gce: z
    .strictObject(
      {
        /**
         * Client pacing under the project's rate quota groups, requests in any 60 s (default 1,400 each:
         * 100 under Compute's 1,500 per minute for the project's other clients). Raise only with the quota.
         */
        writesPerMinute: perMinute('default'),
        operationReadsPerMinute: perMinute('operation_read_requests'),
      },
      { error: 'must be a mapping {writesPerMinute, operationReadsPerMinute}' },
    )
    .optional(),
});

export type GceConfig = ResolvedConfig<typeof gceConfigSchema>;
