// Placeholder until the aws provider lands (issue 4).
import type { Config } from '../../src/config.ts';
import type { CloudProvider, ProviderContext } from '../types.ts';

export function createAwsProvider(_config: Config['provider'], _ctx: ProviderContext): CloudProvider {
  throw new Error('the aws provider is not implemented yet');
}
