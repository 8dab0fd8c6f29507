// The AWS plug-in: EC2 route tables, the instance inventory by tag, Service Quotas for the per-table quota.
import { definePlugin } from '../plugin.ts';
import { awsConfigSchema } from './config.ts';
import { awsMetadata } from './metadata.ts';
import { awsProviderId } from './provider-id.ts';

export const awsPlugin = definePlugin({
  kind: 'aws',
  schema: awsConfigSchema,
  credentials: [
    { source: 'env', name: 'AWS_ACCESS_KEY_ID', role: 'id', emulator: 'client' },
    { source: 'env', name: 'AWS_SECRET_ACCESS_KEY', role: 'secret', emulator: 'secret' },
    { source: 'env', name: 'AWS_SESSION_TOKEN', role: 'token', optional: true },
    { source: 'env', name: 'AWS_PROFILE', role: 'setting', optional: true },
    { source: 'env', name: 'AWS_EC2_METADATA_DISABLED', role: 'setting', optional: true, emulator: 'true' },
    {
      source: 'chain',
      what: 'the SDK default chain: environment, shared config (~/.aws), web identity (IRSA on EKS), ECS and EC2 roles; on a loopback provider.endpoint the environment only',
    },
  ],
  sdkPackages: ['@aws-sdk/client-ec2', '@aws-sdk/client-service-quotas'],
  providerId: awsProviderId,
  metadata: awsMetadata,
  load: async () => (await import('./provider.ts')).createAwsProvider,
});
