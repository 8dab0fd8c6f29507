// Placeholder until the aliyun emulator lands (issue 3).
import type { EmulatorFactory } from '../emulator/types.ts';

export const createAliyunEmulator: EmulatorFactory = () => {
  throw new Error('the aliyun emulator is not implemented yet');
};
