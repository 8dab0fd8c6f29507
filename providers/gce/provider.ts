// Placeholder until the gce provider lands (issue 4).
import type { Config } from '../../src/config.ts';
import type { CloudProvider, ProviderContext } from '../types.ts';

export function createGceProvider(_config: Config['provider'], _ctx: ProviderContext): CloudProvider {
  throw new Error('the gce provider is not implemented yet');
}
