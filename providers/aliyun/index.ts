// The Aliyun plug-in: VPC route tables (vRouter), ECS inventory by tag, Quota Center for the per-table quota.
import { definePlugin } from '../plugin.ts';
import { aliyunConfigSchema } from './config.ts';
import { aliyunMetadata } from './metadata.ts';
import { aliyunProviderId } from './provider-id.ts';

export const aliyunPlugin = definePlugin({
  kind: 'aliyun',
  schema: aliyunConfigSchema,
  credentials: [
    { source: 'env', name: 'ALIBABA_CLOUD_ACCESS_KEY_ID', role: 'id', emulator: 'client' },
    { source: 'env', name: 'ALIBABA_CLOUD_ACCESS_KEY_SECRET', role: 'secret', emulator: 'secret' },
    { source: 'env', name: 'ALIBABA_CLOUD_SECURITY_TOKEN', role: 'token', optional: true },
  ],
  sdkPackages: ['@alicloud/pop-core'],
  providerId: aliyunProviderId,
  metadata: aliyunMetadata,
  load: async () => (await import('./provider.ts')).createAliyunProvider,
});
