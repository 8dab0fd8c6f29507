import type { IncomingHttpHeaders } from 'node:http';
import type { ProviderKind } from '../../providers/plugins.ts';
import type { EmuClock } from './clock.ts';
import type { PageFaultState } from './paging.ts';
import type { Profile } from './profile.ts';
import type { Rng } from './rng.ts';

export interface EmuRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  body: string;
  /** A hostile paging mode for this request (emulators/shared/paging.ts), played by the listing served. */
  paging?: PageFaultState;
}

export interface EmuResponse {
  status: number;
  contentType: string;
  body: string;
  /** `ok` or the error code, for the request counters. */
  outcome: string;
  headers?: Record<string, string>;
}

export type { Profile } from './profile.ts';

/** What every emulator is built from. The numbers of a profile live with each cloud (emulators/<cloud>/profile.ts). */
export interface EmulatorOptions {
  seed: number;
  timeScale: number;
  profile: Profile;
  /** Route entries allowed per table (GCE: per project). Each cloud has its documented default. */
  routeQuota?: number;
  /** Tagged VMs to create at start. */
  instances?: number;
  /** The tag/label the seeded VMs carry, `key=value`. */
  instanceTag?: { key: string; value: string };
}

export interface EmulatorContext {
  clock: EmuClock;
  rng: Rng;
  options: EmulatorOptions;
}

/** Raised by admin handlers for a bad admin request body: becomes HTTP 400 with the message. */
export class AdminError extends Error {
  readonly status: number;
  constructor(message: string, status = 400) {
    super(message);
    this.status = status;
  }
}

/**
 * Out-of-band control used by tests, benchmarks and the demo (`/_emulator/...`). Bodies are JSON;
 * a body that does not fit throws AdminError.
 */
export interface EmulatorAdmin {
  /** Instances, tables, routes, quotas. */
  state(): unknown;
  /** `{count, tags?, zone?}` or `{instances: [{id?, name?, privateIp?, zone?, tags?}]}` → the created instances. */
  addInstances(body: unknown): unknown[];
  /** Terminates (AWS: routes to it turn blackhole). False when unknown. */
  terminateInstance(id: string): boolean;
  /** `{table?, destination, target? (instance id), nextHop?, name?, description?}`: a route made outside routesync. */
  addRoute(body: unknown): unknown;
  /** `{table?, destination}` → false when absent. */
  deleteRoute(body: unknown): boolean;
  /** `{table?, limit}`: change the route quota (all tables when table is absent). */
  setQuota(body: unknown): void;
}

/**
 * What a config needs to point at an emulator: its fixed ids, and the credentials its SDK must carry. Shown
 * in `routesync emulator`'s banner, under `topology` in `GET /_emulator/state`, and written as a config by
 * `routesync emulator --print-config`.
 */
export interface EmulatorTopology {
  /** provider.region (Aliyun, AWS; GCE: the region of its subnetwork). */
  region?: string;
  /** provider.vpcId (Aliyun, AWS). */
  vpcId?: string;
  /** provider.project and provider.network (GCE). */
  project?: string;
  network?: string;
  /** The route tables routesync discovers (GCE: the networks of the project). */
  tables: readonly string[];
  /**
   * Environment for the cloud's SDK chain. The emulator accepts any values (it checks no signature or
   * token); they have to be present for the SDK to sign its requests, and the key id / token names the
   * client in `/_emulator/requests`.
   */
  credentials: Readonly<Record<string, string>>;
  /** One line on what the emulator checks of them. */
  credentialsRule: string;
}

export interface CloudEmulator {
  readonly kind: ProviderKind;
  readonly topology: EmulatorTopology;
  /** Names the action, the calling client (access key id / token) and whether it mutates, from the raw request. */
  identify(req: EmuRequest): { action: string; client: string; mutating: boolean };
  /** Serves one API request. Never throws for bad input: returns the cloud's own validation error. */
  handle(req: EmuRequest, action: string): Promise<EmuResponse>;
  /** Renders an injected fault (`throttle`, `5xx`, or a provider error code) in the cloud's wire format. */
  faultResponse(error: string, action: string): EmuResponse;
  /**
   * The cloud's own hostile-response corruptions (providers/<cloud>/hostile.ts): the real response made
   * hostile, or undefined when `kind` does not apply to `action`.
   */
  hostileResponse?(kind: string, action: string, real: EmuResponse): EmuResponse | undefined;
  /** Emulated latency of one call to this action (the profile's number). */
  latencyMs(action: string, mutating: boolean): number;
  readonly admin: EmulatorAdmin;
  /** Each VM's metadata service (emulators/<cloud>/metadata.ts), served under /_metadata/<id>/. */
  metadata?: MetadataHandler;
  /** Stops timers (async state transitions). */
  close?(): void;
}

export type EmulatorFactory = (ctx: EmulatorContext) => CloudEmulator;

/** What a metadata handler knows about the VM asking. */
export interface MetadataVm {
  id: string;
  name: string;
  privateIp: string;
  zone: string;
}

/** A cloud's metadata service: `path` is the request path below the VM's base (e.g. /latest/meta-data/instance-id). */
export type MetadataHandler = (req: EmuRequest, path: string, vm: MetadataVm) => EmuResponse;
