// The `provider` section for provider.type gce: what the adapter may take as checked.
import { z } from 'zod';
import { commonProviderFields, requiredFor, type ResolvedConfig } from '../plugin.ts';

export const gceConfigSchema = z.strictObject({
  type: z.literal('gce'),
  project: requiredFor('gce', 'the GCP project'),
  network: requiredFor('gce', 'the VPC network'),
  /** Accepted and unused: routes are global resources of the project (configs written for 0.1 may carry it). */
  region: z.string().min(1).optional(),
  ...commonProviderFields,
});

export type GceConfig = ResolvedConfig<typeof gceConfigSchema>;
