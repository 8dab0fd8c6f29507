// The GCE emulator's descriptor (emulators/shared/plugin.ts): the project's routes, instances, operations.
import { defineEmulator } from '../shared/plugin.ts';
import { gceBound } from './bound.ts';
import { createGceEmulator, EMULATOR_TOPOLOGY } from './emulator.ts';
import { PROFILES } from './profile.ts';
import { VOCABULARY } from './vocabulary.ts';

export const gceEmulator = defineEmulator({
  kind: 'gce',
  create: createGceEmulator,
  topology: EMULATOR_TOPOLOGY,
  vocabulary: VOCABULARY,
  profiles: PROFILES,
  bound: gceBound,
  // The "table" of GCE is the network: the banner names the project's networks beside it.
  configIds: ['project', 'network'],
  bannerIds: (d) => [
    `  project:     ${d.project}`,
    `  network:     ${d.network} (the project's networks: ${d.tables.join(', ')})`,
  ],
});
