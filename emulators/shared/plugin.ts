// What one cloud emulator is (emulators/<cloud>/index.ts exports one): its factory, the fixed ids a config
// pointing at it names, how it names its calls (vocabulary), its profiles as data, the bench bound those
// profiles imply, and how `routesync emulator` presents its ids. The table of them is emulators/clouds.ts:
// a new cloud's emulator is one folder with such a descriptor and one line there.
import type { ProviderKind } from '../../providers/plugins.ts';
import type { Bound } from './bound.ts';
import type { CloudProfile, Profile, ProfileTable } from './profile.ts';
import type { EmulatorDescription } from './server.ts';
import type { EmulatorFactory } from './types.ts';
import type { EmulatorVocabulary } from './vocabulary.ts';

/**
 * The ids of an emulated account a config can name (the `provider.*` fields of the cloud's schema). A type,
 * not an interface, so it reads as a plain record (`providerFields(kind, ids)`).
 */
export type EmulatorIds = {
  region?: string;
  vpcId?: string;
  project?: string;
  network?: string;
  /** The route tables routesync discovers (GCE: the networks of the project). */
  tables: readonly string[];
};

export type EmulatorIdField = Exclude<keyof EmulatorIds, 'tables'>;

export interface EmulatorPlugin<K extends ProviderKind = ProviderKind, P extends CloudProfile = CloudProfile> {
  readonly kind: K;
  readonly create: EmulatorFactory;
  /** Its fixed ids, known before one is started (what a config pointing at it names). */
  readonly topology: EmulatorIds;
  /** How it names its calls and answers, for what reads its request log (tests, benches, chaos). */
  readonly vocabulary: EmulatorVocabulary;
  /** What `--profile` selects (emulators/<cloud>/profile.ts). */
  readonly profiles: ProfileTable<P>;
  /**
   * The fastest its own limits allow for creating one route per VM in each of `tables` tables, from empty,
   * in emulated seconds, on `profile`: the bench bound (emulators/<cloud>/bound.ts).
   */
  bound(vms: number, tables: number, profile: Profile): Bound;
  /** Of its ids, those `routesync emulator --print-config` writes into `provider`, in that order. */
  readonly configIds: readonly EmulatorIdField[];
  /** The banner's lines naming those ids (`routesync emulator`). */
  bannerIds(d: EmulatorDescription): string[];
  /**
   * `provider.*` settings for a `routesync run` child against this emulator played `timeScale`× faster, where
   * the client paces its calls in real time (it has no time scale) against limits the emulator refills that
   * much faster (AWS: the client write bucket). Absent: the cloud's pacing needs nothing.
   */
  scaledPacing?(timeScale: number): Record<string, unknown>;
  /**
   * A VM id of this cloud's form, and a zone, for VM number `i` (from 1): what the Kubernetes API emulator
   * seeds Nodes with when no cloud emulator runs beside it, and a VM no emulator has for large `i`.
   */
  sampleVm(i: number): { id: string; zone: string };
}

/** Declares an emulator with its profile type checked against its bound. */
export function defineEmulator<K extends ProviderKind, P extends CloudProfile>(
  plugin: Omit<EmulatorPlugin<K, P>, 'bound'> & { bound(p: P, vms: number, tables: number): Bound },
): EmulatorPlugin<K, P> {
  const { bound, ...rest } = plugin;
  return { ...rest, bound: (vms, tables, profile) => bound(plugin.profiles[profile], vms, tables) };
}

/** How a cloud with a region and a VPC of route tables (Aliyun, AWS) presents its ids. */
export const REGION_VPC_IDS: Pick<EmulatorPlugin, 'configIds' | 'bannerIds'> = {
  configIds: ['region', 'vpcId'],
  bannerIds: (d) => [
    `  region:      ${d.region}`,
    `  vpcId:       ${d.vpcId}`,
    `  tables:      ${d.tables.join(', ')}`,
  ],
};
