// The one place that knows all three clouds: config type → provider adapter (the emulators have their
// own registry, emulators/clouds.ts, so nothing here pulls emulator code into the image).
import type { Config } from '../src/config.ts';
import { createAliyunProvider } from './aliyun/provider.ts';
import { createAwsProvider } from './aws/provider.ts';
import { createGceProvider } from './gce/provider.ts';
import type { CloudAdapter, ProviderContext } from './types.ts';

export function createProvider(config: Config['provider'], ctx: ProviderContext): CloudAdapter {
  switch (config.type) {
    case 'aliyun':
      return createAliyunProvider(config, ctx);
    case 'aws':
      return createAwsProvider(config, ctx);
    case 'gce':
      return createGceProvider(config, ctx);
  }
}
