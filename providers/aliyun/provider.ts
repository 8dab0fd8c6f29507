// Placeholder until the aliyun provider lands (issue 4).
import type { Config } from '../../src/config.ts';
import type { CloudProvider, ProviderContext } from '../types.ts';

export function createAliyunProvider(_config: Config['provider'], _ctx: ProviderContext): CloudProvider {
  throw new Error('the aliyun provider is not implemented yet');
}
