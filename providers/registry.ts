// The one place that knows all three clouds: config type → provider adapter and emulator.
import type { Config } from '../src/config.ts';
import { createAliyunEmulator } from './aliyun/emulator.ts';
import { createAliyunProvider } from './aliyun/provider.ts';
import { createAwsEmulator } from './aws/emulator.ts';
import { createAwsProvider } from './aws/provider.ts';
import type { EmulatorFactory } from './emulator/types.ts';
import { createGceEmulator } from './gce/emulator.ts';
import { createGceProvider } from './gce/provider.ts';
import type { CloudProvider, ProviderContext, ProviderKind } from './types.ts';

export const EMULATORS: Record<ProviderKind, EmulatorFactory> = {
  aliyun: createAliyunEmulator,
  aws: createAwsEmulator,
  gce: createGceEmulator,
};

export function createProvider(config: Config['provider'], ctx: ProviderContext): CloudProvider {
  switch (config.type) {
    case 'aliyun':
      return createAliyunProvider(config, ctx);
    case 'aws':
      return createAwsProvider(config, ctx);
    case 'gce':
      return createGceProvider(config, ctx);
  }
}
