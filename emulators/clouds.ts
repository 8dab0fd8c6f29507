// The one place that knows all three cloud emulators: provider kind → emulator factory, fixed ids and
// vocabulary, and what the `routesync emulator` and `demo` commands load (at run time only: the image
// ships no emulators/).
import type { ProviderKind } from '../providers/plugins.ts';
import { EMULATOR_TOPOLOGY as ALIYUN_IDS, createAliyunEmulator } from './aliyun/emulator.ts';
import { PROFILES as ALIYUN_PROFILES } from './aliyun/profile.ts';
import { VOCABULARY as ALIYUN_VOCABULARY } from './aliyun/vocabulary.ts';
import { EMULATOR_TOPOLOGY as AWS_IDS, createAwsEmulator } from './aws/emulator.ts';
import { PROFILES as AWS_PROFILES } from './aws/profile.ts';
import { VOCABULARY as AWS_VOCABULARY } from './aws/vocabulary.ts';
import { EMULATOR_TOPOLOGY as GCE_IDS, createGceEmulator } from './gce/emulator.ts';
import { PROFILES as GCE_PROFILES } from './gce/profile.ts';
import { VOCABULARY as GCE_VOCABULARY } from './gce/vocabulary.ts';
import type { CloudProfile, ProfileTable } from './shared/profile.ts';
import type { EmulatorFactory } from './shared/types.ts';
import type { EmulatorVocabulary } from './shared/vocabulary.ts';

export { EMULATOR_TOPOLOGY as ALIYUN_TOPOLOGY } from './aliyun/emulator.ts';
export { EMULATOR_TOPOLOGY as AWS_TOPOLOGY } from './aws/emulator.ts';
export { EMULATOR_TOPOLOGY as GCE_TOPOLOGY } from './gce/emulator.ts';
export { startEmulator } from './shared/server.ts';

export const EMULATORS: Record<ProviderKind, EmulatorFactory> = {
  aliyun: createAliyunEmulator,
  aws: createAwsEmulator,
  gce: createGceEmulator,
};

/** Each emulator's fixed ids (what a config pointing at it names), known before one is started. */
export const TOPOLOGIES = { aliyun: ALIYUN_IDS, aws: AWS_IDS, gce: GCE_IDS } satisfies Record<
  ProviderKind,
  { region?: string; vpcId?: string; project?: string; network?: string; tables: readonly string[] }
>;

/** How each emulator names its calls and answers, for what reads its request log (tests, benches, chaos). */
export const VOCABULARIES: Record<ProviderKind, EmulatorVocabulary> = {
  aliyun: ALIYUN_VOCABULARY,
  aws: AWS_VOCABULARY,
  gce: GCE_VOCABULARY,
};

/** Each emulator's profiles (emulators/<cloud>/profile.ts), as data: what `--profile` selects. */
export const EMULATOR_PROFILES: Record<ProviderKind, ProfileTable<CloudProfile>> = {
  aliyun: ALIYUN_PROFILES,
  aws: AWS_PROFILES,
  gce: GCE_PROFILES,
};
