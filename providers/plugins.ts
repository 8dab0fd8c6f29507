// The one list of clouds: kind → plug-in. Adding a cloud is one folder under providers/ (its index.ts),
// one under emulators/, and one line here. Each plug-in loads its SDK only when its factory is asked for,
// so importing this table costs the three zod schemas, not the three SDKs (~260 MB together).
import { aliyunPlugin } from './aliyun/index.ts';
import { awsPlugin } from './aws/index.ts';
import { gcePlugin } from './gce/index.ts';
import type { ResolvedConfig } from './plugin.ts';
import type { CloudAdapter, ProviderContext } from './types.ts';

export const PLUGINS = { aliyun: aliyunPlugin, aws: awsPlugin, gce: gcePlugin } as const;

export type ProviderKind = keyof typeof PLUGINS;
export const PROVIDER_KINDS = Object.keys(PLUGINS) as readonly ProviderKind[];

/** The parsed `provider` section of any cloud (a union discriminated by `type`). */
export type ProviderConfig = { [K in ProviderKind]: ResolvedConfig<(typeof PLUGINS)[K]['schema']> }[ProviderKind];

export function isProviderKind(s: string): s is ProviderKind {
  return Object.hasOwn(PLUGINS, s);
}

/** The configured cloud's adapter, loading that cloud's SDK and no other. */
export async function loadProvider(config: ProviderConfig, ctx: ProviderContext): Promise<CloudAdapter> {
  // The table's factories each take their own cloud's section; `config.type` picked the matching one.
  const factory = (await PLUGINS[config.type].load()) as (c: ProviderConfig, x: ProviderContext) => CloudAdapter;
  return factory(config, ctx);
}

/** Of `from`, the fields the cloud's schema takes (e.g. an emulator's topology → its config's ids). */
export function providerFields(kind: ProviderKind, from: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const shape = PLUGINS[kind].schema.shape as Record<string, unknown>;
  return Object.fromEntries(Object.entries(from).filter(([k]) => k !== 'type' && Object.hasOwn(shape, k)));
}

/** The section of one cloud, checked: for code (tests) that builds that cloud's adapter directly. */
export function configFor<K extends ProviderKind>(
  kind: K,
  config: ProviderConfig,
): Extract<ProviderConfig, { type: K }> {
  if (config.type !== kind) throw new Error(`provider.type is ${config.type}, not ${kind}`);
  return config as Extract<ProviderConfig, { type: K }>;
}
