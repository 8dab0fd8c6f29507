// The configured cloud's provider, loading only that cloud's SDK (providers/registry.ts imports all three,
// for tests and benchmarks that use every cloud at once).
import type { Config } from '../src/config.ts';
import type { CloudAdapter, ProviderContext } from './types.ts';

/** The three SDKs together cost ~260 MB of memory; one alone 35–165 MB. */
export async function loadProvider(config: Config['provider'], ctx: ProviderContext): Promise<CloudAdapter> {
  switch (config.type) {
    case 'aliyun':
      return (await import('./aliyun/provider.ts')).createAliyunProvider(config, ctx);
    case 'aws':
      return (await import('./aws/provider.ts')).createAwsProvider(config, ctx);
    case 'gce':
      return (await import('./gce/provider.ts')).createGceProvider(config, ctx);
  }
}
