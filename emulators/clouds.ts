// The table of cloud emulators: provider kind → its descriptor (emulators/<cloud>/index.ts). A new cloud's
// emulator is one folder and one line here. What the `routesync emulator` and `demo` commands load (at run
// time only: the image ships no emulators/); tests, benches and chaos iterate it.
import type { ProviderKind } from '../providers/plugins.ts';
import { aliyunEmulator } from './aliyun/index.ts';
import { awsEmulator } from './aws/index.ts';
import { gceEmulator } from './gce/index.ts';
import type { EmulatorIds, EmulatorPlugin } from './shared/plugin.ts';
import type { CloudProfile, ProfileTable } from './shared/profile.ts';
import type { EmulatorFactory } from './shared/types.ts';
import type { EmulatorVocabulary } from './shared/vocabulary.ts';

export const EMULATOR_PLUGINS = {
  aliyun: aliyunEmulator,
  aws: awsEmulator,
  gce: gceEmulator,
} as const satisfies { [K in ProviderKind]: EmulatorPlugin<K> };

export { startEmulator } from './shared/server.ts';
export type { EmulatorPlugin } from './shared/plugin.ts';

/** One field of every descriptor, by kind (the views below are what most callers need). */
function view<T>(pick: (p: EmulatorPlugin) => T): Record<ProviderKind, T> {
  const plugins: Record<ProviderKind, EmulatorPlugin> = EMULATOR_PLUGINS;
  return Object.fromEntries(Object.entries(plugins).map(([k, p]) => [k, pick(p)])) as Record<ProviderKind, T>;
}

export const EMULATORS: Record<ProviderKind, EmulatorFactory> = view((p) => p.create);

/** Each emulator's fixed ids (what a config pointing at it names), known before one is started. */
export const TOPOLOGIES: Record<ProviderKind, EmulatorIds> = view((p) => p.topology);

/** How each emulator names its calls and answers, for what reads its request log (tests, benches, chaos). */
export const VOCABULARIES: Record<ProviderKind, EmulatorVocabulary> = view((p) => p.vocabulary);

/** Each emulator's profiles (emulators/<cloud>/profile.ts), as data: what `--profile` selects. */
export const EMULATOR_PROFILES: Record<ProviderKind, ProfileTable<CloudProfile>> = view((p) => p.profiles);
