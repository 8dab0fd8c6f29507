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
  sampleVm: (i) => ({
    id: `i-bp1${i.toString(36).padStart(17, '0')}`,
    zone: i % 2 ? 'cn-hangzhou-h' : 'cn-hangzhou-i',
  }),
});
