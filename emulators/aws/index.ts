// The AWS emulator's descriptor (emulators/shared/plugin.ts): EC2 route tables, instances, Service Quotas.
import { EC2_MUTATING_LIMIT } from '../../providers/aws/pacing.ts';
import { defineEmulator, REGION_VPC_IDS } from '../shared/plugin.ts';
import { awsBound } from './bound.ts';
import { createAwsEmulator, EMULATOR_TOPOLOGY } from './emulator.ts';
import { PROFILES } from './profile.ts';
import { VOCABULARY } from './vocabulary.ts';

export const awsEmulator = defineEmulator({
  kind: 'aws',
  create: createAwsEmulator,
  topology: EMULATOR_TOPOLOGY,
  vocabulary: VOCABULARY,
  profiles: PROFILES,
  bound: awsBound,
  ...REGION_VPC_IDS,
  sampleVm: (i) => ({ id: `i-${i.toString(16).padStart(17, '0')}`, zone: i % 2 ? 'us-east-1a' : 'us-east-1b' }),
  // The client bucket sized to EC2's, refilled as much faster as the emulator's buckets are.
  scaledPacing: (timeScale) => ({
    aws: { writeRateLimit: { burst: EC2_MUTATING_LIMIT.burst, perSecond: EC2_MUTATING_LIMIT.perSecond * timeScale } },
  }),
});
