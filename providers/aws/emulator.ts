// Placeholder until the aws emulator lands (issue 3).
import type { EmulatorFactory } from '../emulator/types.ts';

export const createAwsEmulator: EmulatorFactory = () => {
  throw new Error('the aws emulator is not implemented yet');
};
