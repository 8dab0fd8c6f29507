// The one place that knows all three cloud emulators: provider kind → emulator factory, fixed ids and
// vocabulary, and what the `routesync emulator` and `demo` commands load (at run time only: the image
// ships no emulators/).
import type { ProviderKind } from '../providers/types.ts';
import { EMULATOR_TOPOLOGY as ALIYUN_IDS, createAliyunEmulator } from './aliyun/emulator.ts';
import { VOCABULARY as ALIYUN_VOCABULARY } from './aliyun/vocabulary.ts';
import { EMULATOR_TOPOLOGY as AWS_IDS, createAwsEmulator } from './aws/emulator.ts';
import { VOCABULARY as AWS_VOCABULARY } from './aws/vocabulary.ts';
import { EMULATOR_TOPOLOGY as GCE_IDS, createGceEmulator } from './gce/emulator.ts';
import { VOCABULARY as GCE_VOCABULARY } from './gce/vocabulary.ts';
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
