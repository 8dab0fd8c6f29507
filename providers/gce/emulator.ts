// Placeholder until the gce emulator lands (issue 3).
import type { EmulatorFactory } from '../emulator/types.ts';

export const createGceEmulator: EmulatorFactory = () => {
  throw new Error('the gce emulator is not implemented yet');
};
