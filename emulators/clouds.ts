// The one place that knows all three cloud emulators: provider kind → emulator factory, and what the
// `routesync emulator` and `demo` commands load (at run time only: the image ships no emulators/).
import type { ProviderKind } from '../providers/types.ts';
import { createAliyunEmulator } from './aliyun/emulator.ts';
import { createAwsEmulator } from './aws/emulator.ts';
import { createGceEmulator } from './gce/emulator.ts';
import type { EmulatorFactory } from './shared/types.ts';

export { EMULATOR_TOPOLOGY as ALIYUN_TOPOLOGY } from './aliyun/emulator.ts';
export { EMULATOR_TOPOLOGY as AWS_TOPOLOGY } from './aws/emulator.ts';
export { EMULATOR_TOPOLOGY as GCE_TOPOLOGY } from './gce/emulator.ts';
export { startEmulator } from './shared/server.ts';

export const EMULATORS: Record<ProviderKind, EmulatorFactory> = {
  aliyun: createAliyunEmulator,
  aws: createAwsEmulator,
  gce: createGceEmulator,
};
