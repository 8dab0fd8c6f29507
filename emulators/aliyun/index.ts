// The Aliyun emulator's descriptor (emulators/shared/plugin.ts): VPC route tables, ECS, Quota Center.
import { defineEmulator, REGION_VPC_IDS } from '../shared/plugin.ts';
import { aliyunBound } from './bound.ts';
import { createAliyunEmulator, EMULATOR_TOPOLOGY } from './emulator.ts';
import { PROFILES } from './profile.ts';
import { VOCABULARY } from './vocabulary.ts';

export const aliyunEmulator = defineEmulator({
  kind: 'aliyun',
  create: createAliyunEmulator,
  topology: EMULATOR_TOPOLOGY,
  vocabulary: VOCABULARY,
  profiles: PROFILES,
  bound: aliyunBound,
  ...REGION_VPC_IDS,
});
