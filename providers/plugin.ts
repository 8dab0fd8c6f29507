// What one cloud plug-in is (providers/<cloud>/index.ts exports one): its kind, the zod schema of its
// `provider.*` section, the factory (loaded on demand, so a command pays only for the configured cloud's
// SDK), the credentials it reads, its spec.providerID form and its metadata service (both plain data and
// code, no SDK). The table of plug-ins is providers/plugins.ts; src/config.ts composes the `provider`
// union from it.
import { z } from 'zod';
import type { ProviderIdForm } from './provider-id.ts';
import type { CloudAdapter, ProviderContext } from './types.ts';

/** Only http(s): a `file:` or `javascript:` URL is never an API endpoint, and the SDKs would do odd things with it. */
export const httpUrl = z.string().superRefine((s, ctx) => {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)} is not a URL such as http://127.0.0.1:8080` });
    return;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(s)} must be an http:// or https:// URL, not ${u.protocol}`,
    });
  else if (u.hostname === '') ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)} names no host` });
});

export interface InstanceFilter {
  key: string;
  value: string;
}

/** `key=value`, or `{key, value}`. Defaults to `routesync-cluster=<cluster>` (valid as AWS/Aliyun tag and GCE label). */
const instanceFilter = z.union([
  z
    .string()
    .regex(/^[^=\s]+=[^=\s]*$/, 'must be key=value')
    .transform((s): InstanceFilter => {
      const [key, value] = s.split('=') as [string, string];
      return { key, value };
    }),
  z.strictObject({ key: z.string().min(1), value: z.string() }),
]);

/**
 * A field the cloud cannot work without: its absence is named with the cloud and what the field is for
 * (`provider.region: is required for provider.type aws (the API region)`).
 */
export function requiredFor(kind: string, why: string) {
  return z
    .string({ error: (i) => (i.input === undefined ? `is required for provider.type ${kind} (${why})` : undefined) })
    .min(1);
}

/** The fields every cloud takes, beside `type` and its own. */
export const commonProviderFields = {
  routeTableIds: z.array(z.string().min(1)).optional(),
  instanceFilter: instanceFilter.optional(),
  endpoint: httpUrl.optional(),
  routeQuota: z.number().int().positive().optional(),
  /** Parallel write calls per table where the cloud allows parallelism (AWS, GCE). */
  concurrency: z.number().int().min(1).max(64).default(8),
};

/**
 * A cloud's parsed `provider` section as its adapter gets it: the schema's output, with the instance
 * filter filled in (src/config.ts defaults it to `routesync-cluster=<cluster>`).
 */
export type ResolvedConfig<S extends z.ZodType> = Omit<z.output<S>, 'instanceFilter'> & {
  instanceFilter: InstanceFilter;
};

/**
 * A credential the plug-in reads, as documentation data (README, the demo's hints, tests' dummies):
 * environment variables and files by name, or the SDK's own chain in words.
 */
export type CredentialSource =
  | {
      source: 'env';
      name: string;
      /** What it holds; `setting` is a switch, not a secret (e.g. AWS_EC2_METADATA_DISABLED). */
      role: 'id' | 'secret' | 'token' | 'file' | 'setting';
      optional?: boolean;
      /**
       * What an emulator run sets it to (the emulators accept any credentials): `client` the caller's
       * name (the emulators attribute requests to it), `secret` `<client>-secret`, else this literal.
       */
      emulator?: 'client' | 'secret' | (string & {});
    }
  | { source: 'chain'; what: string };

/** The environment that points a plug-in's SDK chain at an emulator, naming `client`. */
export function emulatorCredentials(sources: readonly CredentialSource[], client: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const s of sources) {
    if (s.source !== 'env' || s.emulator === undefined) continue;
    env[s.name] = s.emulator === 'client' ? client : s.emulator === 'secret' ? `${client}-secret` : s.emulator;
  }
  return env;
}

/**
 * One request to the metadata service as the node agent makes it (src/agent/identity.ts: the base URL,
 * a timeout, no redirects, errors naming the URL): the answer's body, trimmed, never empty.
 */
export type MetadataGet = (
  path: string,
  init?: { method?: 'GET' | 'PUT'; headers?: Record<string, string> },
) => Promise<string>;

/** The cloud's instance metadata service as the node agent sees it (no SDK: plain HTTP through `get`). */
export interface MetadataService {
  /** Its base URL on a VM of this cloud (`identity.metadataEndpoint` overrides it). */
  readonly endpoint: string;
  /** This VM's instance id as the provider names it, and the path it was read from (for the error line). */
  instanceId(get: MetadataGet): Promise<{ id: string; path: string }>;
}

/** Builds the adapter from the parsed config (each adapter also takes its own test options, `internal`). */
export type ProviderFactory<C> = (config: C, ctx: ProviderContext) => CloudAdapter;

export interface ProviderPlugin<K extends string, S extends z.ZodObject> {
  readonly kind: K;
  /** The strict schema of `provider.*` for this cloud; `type` is the literal kind. */
  readonly schema: S;
  /**
   * Hints for a field of another cloud given with this one, after "only applies to provider.type …"
   * (e.g. gce: `vpcId` → `gce uses provider.network`).
   */
  readonly foreignFieldHints?: Readonly<Record<string, string>>;
  readonly credentials: readonly CredentialSource[];
  /** The npm packages (its SDK) the adapter loads, and that no other cloud's command may load. */
  readonly sdkPackages: readonly string[];
  /** The factory, by dynamic import: only the configured cloud's SDK is ever loaded. */
  load(): Promise<ProviderFactory<ResolvedConfig<S>>>;
  /** How its cloud-provider writes a Node's spec.providerID (Kubernetes inventory and store). */
  readonly providerId: ProviderIdForm;
  /** The instance metadata service the node agent asks "who am I". */
  readonly metadata: MetadataService;
}

/** Declares a plug-in with its types checked against each other (kind ↔ schema ↔ factory). */
export function definePlugin<K extends string, S extends z.ZodObject<{ type: z.ZodLiteral<K> } & z.ZodRawShape>>(
  plugin: ProviderPlugin<K, S>,
): ProviderPlugin<K, S> {
  return plugin;
}
