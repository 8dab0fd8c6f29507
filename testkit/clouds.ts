// One emulator + its real provider, for any of the three clouds: the ground of the contract suite and the
// e2e tests. Credentials are dummies set in the environment the SDK chains read, so nothing leaves loopback.
import { startEmulator, type RunningEmulator, type StartOptions } from '../emulators/shared/server.ts';
import { EMULATOR_PLUGINS, EMULATORS, TOPOLOGIES, VOCABULARIES } from '../emulators/clouds.ts';
import type { EmulatorPlugin } from '../emulators/shared/plugin.ts';
import { loadProvider } from '../providers/plugins.ts';
import type { ApiObserver, CloudAdapter, Instance, Route } from '../providers/types.ts';
import type { ProviderKind } from '../providers/plugins.ts';
import { validateConfig, type Config } from '../src/config.ts';
import { dummyCredentials } from './cli.ts';
import { silentLogger } from '../src/log.ts';

interface Topology {
  region?: string;
  vpcId?: string;
  project?: string;
  network?: string;
  tables: readonly string[];
}

/** Each emulator's fixed ids, from the emulators' table. */
export const TOPOLOGY: Record<ProviderKind, Topology> = TOPOLOGIES;

export function useDummyCredentials(client = 'routesync-test'): void {
  Object.assign(process.env, dummyCredentials(client));
}

/** A listing as sorted comparable keys: two reads of the same table or inventory give equal arrays. */
export function routeKeys(rs: readonly Route[]): string[] {
  return rs.map((r) => `${r.destination}>${r.target ?? r.nextHop}`).sort();
}

export function instanceKeys(is: readonly Instance[]): string[] {
  return is.map((i) => `${i.id}@${i.privateIp}:${i.state}`).sort();
}

export const TEST_TAG = { key: 'routesync-cluster', value: 'test' };

/** A config document (before validation) pointing at an emulator. */
export function emulatorConfigDoc(
  kind: ProviderKind,
  url: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const { region, vpcId, project, network } = TOPOLOGY[kind];
  // The ids this emulator has (Aliyun, AWS: region and VPC; GCE: project, network and region).
  const ids = Object.entries({ region, vpcId, project, network }).filter(([, v]) => v !== undefined);
  const provider: Record<string, unknown> = {
    type: kind,
    endpoint: url,
    instanceFilter: `${TEST_TAG.key}=${TEST_TAG.value}`,
    ...Object.fromEntries(ids),
  };
  const { provider: providerExtra, ...rest } = extra as { provider?: Record<string, unknown> };
  return {
    cluster: 'test',
    clusterCIDR: '172.16.0.0/16',
    provider: { ...provider, ...providerExtra },
    store: { type: 'memory' },
    ...rest,
  };
}

/**
 * Provider settings for a `routesync run` child against an emulator played `timeScale`× faster: the child
 * paces its calls in real time (it has no time scale) while the emulator refills its limits that much
 * faster, so the emulator's descriptor says what to scale to match (AWS: the client write bucket).
 */
export function scaledPacing(kind: ProviderKind, timeScale: number): Record<string, unknown> {
  const p: EmulatorPlugin = EMULATOR_PLUGINS[kind];
  return p.scaledPacing?.(timeScale) ?? {};
}

/** Counts calls by action that write route tables (AWS's one-time source/dest check is not one). */
function routeWriteCount(emu: RunningEmulator, byAction: Record<string, Record<string, number>>): number {
  const writes: readonly string[] = VOCABULARIES[emu.cloud.kind].routeWrites;
  return Object.entries(byAction)
    .filter(([a]) => writes.includes(a))
    .reduce((n, [, outcomes]) => n + Object.values(outcomes).reduce((x, y) => x + y, 0), 0);
}

/** Route-table write calls the emulator served for one client identity. */
export function routeWritesBy(emu: RunningEmulator, client: string): number {
  return routeWriteCount(emu, emu.counters.snapshot().byClient[client] ?? {});
}

export interface CloudFixture {
  kind: ProviderKind;
  emu: RunningEmulator;
  config: Config;
  provider: CloudAdapter;
  calls: Array<{ action: string; outcome: string }>;
  retries: Array<{ action: string; kind: string }>;
  // biome-ignore lint/suspicious/noExplicitAny: admin JSON is loosely shaped; assertions check the fields
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  /** Every mutating call the emulator served so far (as the emulator classifies them). */
  writes(): Promise<number>;
  /** Route-table write calls the emulator served so far. */
  routeWrites(): Promise<number>;
  close(): Promise<void>;
}

export async function startCloud(
  kind: ProviderKind,
  opts: StartOptions & { config?: Record<string, unknown> } = {},
): Promise<CloudFixture> {
  useDummyCredentials();
  const emu = await startEmulator(EMULATORS[kind], { profile: 'fast', timeScale: 50, instanceTag: TEST_TAG, ...opts });
  const config = validateConfig(emulatorConfigDoc(kind, emu.url, opts.config));
  const calls: CloudFixture['calls'] = [];
  const retries: CloudFixture['retries'] = [];
  const observer: ApiObserver = {
    request: (action, outcome) => calls.push({ action, outcome }),
    retry: (action, k) => retries.push({ action, kind: k }),
  };
  // Waits in cloud time, like a rehearsal: divided by the emulator's time scale. The retry policy is
  // 5 ms base / 50 ms cap / 6 attempts of real time, so a failed page costs milliseconds, not the
  // production backoff's seconds.
  const timeScale = opts.timeScale ?? 50;
  const retry = { baseMs: 5 * timeScale, capMs: 50 * timeScale, attempts: 6 };
  const provider = await loadProvider(config.provider, {
    cluster: config.cluster,
    clusterCIDR: config.clusterCIDR,
    logger: silentLogger,
    observer,
    retry,
    timeScale,
  });
  const admin: CloudFixture['admin'] = async (method, path, body) => {
    const r = await fetch(`${emu.url}/_emulator/${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: r.status, json: await r.json() };
  };
  return {
    kind,
    emu,
    config,
    provider,
    calls,
    retries,
    admin,
    async writes() {
      return emu.counters.snapshot().log.filter((e) => e.mutating).length;
    },
    async routeWrites() {
      return routeWriteCount(emu, emu.counters.snapshot().byAction);
    },
    async close() {
      await provider.close();
      await emu.close();
    },
  };
}
