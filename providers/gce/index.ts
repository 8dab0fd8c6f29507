// The GCE plug-in: the VPC network's project-wide routes, instances by label, the project's ROUTES quota.
import { definePlugin } from '../plugin.ts';
import { gceConfigSchema } from './config.ts';
import { gceMetadata } from './metadata.ts';
import { gceProviderId } from './provider-id.ts';

export const gcePlugin = definePlugin({
  kind: 'gce',
  schema: gceConfigSchema,
  foreignFieldHints: { vpcId: 'gce uses provider.network' },
  credentials: [
    { source: 'env', name: 'ROUTESYNC_GCE_ACCESS_TOKEN', role: 'token', optional: true, emulator: 'client' },
    { source: 'env', name: 'GOOGLE_APPLICATION_CREDENTIALS', role: 'file', optional: true },
    {
      source: 'chain',
      what: 'Application Default Credentials (Workload Identity, the metadata server, a key file); on a loopback provider.endpoint the token or the key file only',
    },
  ],
  sdkPackages: ['@google-cloud/compute', 'google-auth-library'],
  providerId: gceProviderId,
  metadata: gceMetadata,
  load: async () => (await import('./provider.ts')).createGceProvider,
});
