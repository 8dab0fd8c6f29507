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
  // A GCE VM's id is `<zone>/<name>` (providers/gce/instance-id.ts): names are unique per zone only.
  sampleVm: (i) => {
    const zone = i % 2 ? 'us-central1-a' : 'us-central1-b';
    return { id: `${zone}/node-${i}`, zone };
  },
  // The "table" of GCE is the network: the banner names the project's networks beside it.
  configIds: ['project', 'network'],
  bannerIds: (d) => [
    `  project:     ${d.project}`,
    `  network:     ${d.network} (the project's networks: ${d.tables.join(', ')})`,
  ],
});
