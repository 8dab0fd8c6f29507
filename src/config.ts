// The one config file: YAML, validated by a strict zod schema (unknown keys are errors: a typo such as
// `maxDeleteFracton` must not silently fall back to a default) and then by semantic checks across fields.
// Every problem is reported as one line `path: message`.
import { closeSync, constants, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { contains, formatCidr, overlaps, parseCidr, type Cidr } from './lib/cidr.ts';
import { poolStats } from './allocator.ts';
import { cidrString, duration } from './config-fields.ts';
import { httpUrl } from '../providers/plugin.ts';
import {
  isProviderKind,
  PLUGINS,
  PROVIDER_KINDS,
  type ProviderConfig,
  type ProviderKind,
} from '../providers/plugins.ts';
import { agentProblems, agentSchema } from './agent/config.ts';
import { kubernetesProblems, kubernetesSchema } from './kubernetes/config.ts';
import { DEFAULT_STORE_PATH } from './store/file/store.ts';

const ratio = z.number().gt(0).lte(1);

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9464')
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, {
    error: (i) => `port ${String(i.input).slice(String(i.input).lastIndexOf(':') + 1)} is out of range 0-65535`,
  });

/** `provider`: one cloud's section, chosen by `type`, each plug-in bringing its own schema. */
const providerSchema = z.discriminatedUnion(
  'type',
  Object.values(PLUGINS).map((p) => p.schema) as unknown as [ProviderSchema, ...ProviderSchema[]],
  { error: (i) => (i.code === 'invalid_union' ? `must be one of ${PROVIDER_KINDS.join(', ')}` : undefined) },
);
type ProviderSchema = (typeof PLUGINS)[ProviderKind]['schema'];

const tlsSchema = z.strictObject({
  ca: z.string().min(1).optional(),
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
});

const STORE_TYPES = ['file', 'etcd', 'kubernetes', 'memory'] as const;
const storeSchema = z.strictObject({
  type: z.enum(STORE_TYPES, { error: `must be one of ${STORE_TYPES.join(', ')}` }).default('file'),
  path: z.string().min(1).optional(),
  endpoints: z.array(httpUrl).min(1).optional(),
  prefix: z
    .string()
    .regex(/^\/[^\s]*[^/\s]$|^\/$/, 'must start with / and not end with /')
    .default('/routesync'),
  tls: tlsSchema.optional(),
  /** Leader lease TTL: a crashed leader is replaced after at most this long. */
  electionTTL: duration('5m').prefault('10s'),
});

const reconcileSchema = z.strictObject({
  interval: duration('24h').prefault('60s'),
  releaseAfter: duration('7d').prefault('5m'),
  reuseAfter: duration('7d').prefault('10m'),
  maxDeleteFraction: z.number().min(0).max(1).default(0.2),
  /** Coalescing window for change signals: a burst of changes costs one pass. */
  debounce: duration('5m').prefault('2s'),
});

const quotaSchema = z.strictObject({
  warnRatio: ratio.default(0.8),
  criticalRatio: ratio.default(0.95),
});

export const configSchema = z.strictObject({
  cluster: z
    .string()
    .max(26, 'must be at most 26 characters (it prefixes GCE route names, which are limited to 63)')
    .regex(
      /^[a-z]([a-z0-9-]*[a-z0-9])?$/,
      'must be a DNS label: lowercase letters, digits and -, starting with a letter',
    ),
  clusterCIDR: cidrString,
  /** Let clusterCIDR lie outside the private ranges (a VPC that routes public space privately). */
  allowNonPrivateClusterCIDR: z.boolean().default(false),
  subnetLen: z.number().int().default(24),
  reserved: z.array(cidrString).default([]),
  /** Take over a foreign route that holds one of our subnets (off: report it as a conflict). */
  adopt: z.boolean().default(false),
  provider: providerSchema,
  /** Where the cluster's VMs come from (src/inventory/): the cloud's instances carrying the cluster tag, or Nodes. */
  inventory: z
    .strictObject({
      source: z.enum(['cloud', 'kubernetes'], { error: 'must be cloud or kubernetes' }).default('cloud'),
    })
    .prefault({}),
  store: storeSchema.prefault({}),
  reconcile: reconcileSchema.prefault({}),
  quota: quotaSchema.prefault({}),
  metrics: z
    .strictObject({
      listen: hostPort.default('0.0.0.0:9464'),
      /** /status lists instance ids, names and IPs: by default only loopback clients get it. */
      statusFrom: z.enum(['loopback', 'any'], { error: 'must be loopback or any' }).default('loopback'),
    })
    .prefault({}),
  log: z
    .strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info') })
    .prefault({}),
  /** `routesync agent` (the node side); the controller ignores it. */
  agent: agentSchema.prefault({}),
  kubernetes: kubernetesSchema.prefault({}),
});

export type Config = Omit<z.output<typeof configSchema>, 'provider'> & { provider: ProviderConfig };

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function pathOf(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map(String).join('.');
}

/** A key of another cloud's section given with this one: name the clouds it belongs to. */
function foreignKey(key: string, type: unknown): string {
  const own = typeof type === 'string' && isProviderKind(type) ? PLUGINS[type] : undefined;
  const owners = PROVIDER_KINDS.filter((k) => k !== own?.kind && Object.hasOwn(PLUGINS[k].schema.shape, key));
  if (owners.length === 0) return 'unknown key';
  const hint = own?.foreignFieldHints?.[key];
  return `only applies to provider.type ${owners.join(' or ')}${hint ? ` (${hint})` : ''}`;
}

function formatIssue(issue: z.core.$ZodIssue, doc: Record<string, unknown>): string {
  const where = pathOf(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const inProvider = where === 'provider';
    const type = (doc.provider as { type?: unknown } | undefined)?.type;
    return issue.keys
      .map((k) => `${where === '(root)' ? k : `${where}.${k}`}: ${inProvider ? foreignKey(k, type) : 'unknown key'}`)
      .join('\n');
  }
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) return `${where}: is required`;
  return `${where}: ${issue.message}`;
}

/** Where pod subnets may live: RFC 1918 and the shared address space (RFC 6598) that VPCs route privately. */
export const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'] as const;

/** Never a cluster CIDR, whatever is allowed: routing these to VMs breaks the VPC or the hosts themselves. */
const NEVER: ReadonlyArray<[string, string]> = [
  ['0.0.0.0/8', '"this network" (0.0.0.0/8)'],
  ['127.0.0.0/8', 'loopback (127.0.0.0/8)'],
  ['169.254.0.0/16', 'link-local (169.254.0.0/16, the metadata service)'],
  ['224.0.0.0/4', 'multicast (224.0.0.0/4)'],
  ['240.0.0.0/4', 'reserved space and broadcast (240.0.0.0/4, 255.255.255.255)'],
];

/** The widest cluster CIDR accepted: the widest private range. Anything wider is a typo or a default route. */
const WIDEST_PREFIX = 8;

function clusterCIDRProblem(cluster: Cidr, allowNonPrivate: boolean): string | undefined {
  const text = formatCidr(cluster);
  if (cluster.prefix === 0)
    return `clusterCIDR: ${text} is the default route (every address); use a private range such as 10.244.0.0/16`;
  const bad = NEVER.find(([r]) => overlaps(parseCidr(r), cluster));
  if (bad) return `clusterCIDR: ${text} overlaps ${bad[1]}, which is never routed to VMs`;
  if (cluster.prefix < WIDEST_PREFIX)
    return `clusterCIDR: ${text} is wider than a /${WIDEST_PREFIX}; use a private range such as 10.244.0.0/16`;
  if (!allowNonPrivate && !PRIVATE_RANGES.some((r) => contains(parseCidr(r), cluster))) {
    return `clusterCIDR: ${text} is not inside a private range (${PRIVATE_RANGES.join(', ')}); set allowNonPrivateClusterCIDR: true if the VPC really routes it privately`;
  }
  return undefined;
}

/**
 * What parsed of a config that did not parse whole: each section and each field of a section on its own,
 * so the cross-field checks can still run on the fields that are fine and `validate` reports every problem
 * in one run instead of stopping at the first stage.
 */
interface Parsed extends Partial<Pick<Config, 'inventory' | 'kubernetes'>> {
  clusterCIDR?: string;
  allowNonPrivateClusterCIDR?: boolean;
  subnetLen?: number;
  reserved?: string[];
  store?: Partial<Config['store']>;
  reconcile?: Partial<Config['reconcile']>;
  quota?: Partial<Config['quota']>;
  agent?: Config['agent'];
}

const SECTIONS = {
  store: storeSchema,
  reconcile: reconcileSchema,
  quota: quotaSchema,
} as const;

function partialParse(doc: Record<string, unknown>): Parsed {
  const out: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(configSchema.shape)) {
    const section = SECTIONS[key as keyof typeof SECTIONS];
    if (section) {
      const raw = doc[key] ?? {};
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) continue;
      const fields: Record<string, unknown> = {};
      for (const [f, fs] of Object.entries(section.shape)) {
        const r = (fs as z.ZodType).safeParse((raw as Record<string, unknown>)[f]);
        if (r.success && r.data !== undefined) fields[f] = r.data;
      }
      out[key] = fields;
      continue;
    }
    const r = (schema as z.ZodType).safeParse(doc[key]);
    if (r.success) out[key] = r.data;
  }
  return out as Parsed;
}

/** Cross-field checks zod cannot express per field; each runs only when the fields it needs parsed. */
function semanticProblems(c: Parsed): string[] {
  const out: string[] = [];
  const cluster = c.clusterCIDR !== undefined ? parseCidr(c.clusterCIDR) : undefined;
  const cidrProblem = cluster ? clusterCIDRProblem(cluster, c.allowNonPrivateClusterCIDR ?? false) : undefined;
  if (cidrProblem) out.push(cidrProblem);
  if (cluster && c.subnetLen !== undefined && (c.subnetLen <= cluster.prefix || c.subnetLen > 30)) {
    out.push(`subnetLen: ${c.subnetLen} must be longer than the clusterCIDR prefix /${cluster.prefix} and at most 30`);
  } else if (c.subnetLen !== undefined && c.subnetLen <= WIDEST_PREFIX) {
    out.push(
      `subnetLen: ${c.subnetLen} must be longer than /${WIDEST_PREFIX} (a VM's subnet is a small part of the cluster) and at most 30`,
    );
  }
  const reserved = c.reserved ?? [];
  if (cluster) {
    reserved.forEach((r, i) => {
      if (!contains(cluster, parseCidr(r)))
        out.push(`reserved.${i}: ${r} is not inside clusterCIDR ${formatCidr(cluster)}`);
    });
  }
  if (
    cluster &&
    c.subnetLen !== undefined &&
    c.subnetLen > cluster.prefix &&
    c.subnetLen <= 30 &&
    reserved.length > 0
  ) {
    // The allocator skips every subnet a reserved range touches: ranges that touch them all leave nothing to hand out.
    const pool = poolStats(
      { clusterCIDR: formatCidr(cluster), subnetLen: c.subnetLen, reserved, reuseAfterMs: 0, now: 0 },
      { allocations: [], released: [] },
    );
    if (pool.free === 0)
      out.push(
        `reserved: covers every /${c.subnetLen} subnet of clusterCIDR ${formatCidr(cluster)}: no subnet is left to allocate`,
      );
  }
  const q = c.quota;
  if (q?.warnRatio !== undefined && q.criticalRatio !== undefined && q.warnRatio >= q.criticalRatio) {
    out.push(`quota.warnRatio: ${q.warnRatio} must be below quota.criticalRatio ${q.criticalRatio}`);
  }
  const s = c.store;
  if (s?.type !== undefined) {
    if (s.type === 'etcd' && s.endpoints === undefined) out.push('store.endpoints: is required for store.type etcd');
    if (s.type !== 'etcd' && s.endpoints !== undefined) out.push(`store.endpoints: only applies to store.type etcd`);
    if (s.type !== 'etcd' && s.tls !== undefined) out.push(`store.tls: only applies to store.type etcd`);
    if (s.type !== 'file' && s.path !== undefined) out.push(`store.path: only applies to store.type file`);
  }
  if (s?.tls && (s.tls.cert === undefined) !== (s.tls.key === undefined))
    out.push('store.tls: cert and key must be given together');
  if (c.reconcile?.interval !== undefined && c.reconcile.interval < 1000)
    out.push(`reconcile.interval: must be at least 1s`);
  if (c.agent) out.push(...agentProblems(c.agent));
  out.push(...kubernetesProblems(c.kubernetes, c.inventory?.source, c.store?.type));
  return out;
}

/** Validates an already-parsed document. Throws ConfigError listing every problem, schema and cross-field alike. */
export function validateConfig(doc: unknown): Config {
  if (doc === null || doc === undefined) throw new ConfigError(['(root): the config is empty']);
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError(['(root): must be a YAML mapping of keys to values']);
  const r = configSchema.safeParse(doc);
  const problems = r.success
    ? []
    : r.error.issues.flatMap((i) => formatIssue(i, doc as Record<string, unknown>).split('\n'));
  const parsed: Parsed = r.success ? (r.data as Config) : partialParse(doc as Record<string, unknown>);
  // A field the schema refused is absent from the partial parse: a cross-field "is required" about it
  // would only repeat that problem, less precisely.
  const refused = problems.map((p) => p.slice(0, p.indexOf(': ')));
  const related = (a: string, b: string) => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
  for (const p of semanticProblems(parsed)) {
    const field = p.slice(0, p.indexOf(': '));
    if (!problems.includes(p) && !refused.some((f) => related(f, field))) problems.push(p);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const c = r.data as Config;
  c.provider.instanceFilter ??= { key: 'routesync-cluster', value: c.cluster };
  return c;
}

export function parseConfigText(text: string, source = 'config'): Config {
  if (text.includes('\u0000')) throw new ConfigError([`(root): ${source} is not a text file`]);
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: false, uniqueKeys: true });
  } catch (e) {
    let msg = String(e);
    if (e instanceof YAMLParseError) {
      // Name the line (and for duplicate keys the key): "Map keys must be unique" alone leaves the user searching.
      const line = text.slice(0, e.pos[0]).split('\n').length;
      const lineText = (text.split('\n')[line - 1] ?? '').trim();
      const key = e.code === 'DUPLICATE_KEY' ? ` (${lineText.split(':')[0]})` : '';
      msg = `${e.message.split('\n')[0]}${key} at line ${line}`;
    }
    throw new ConfigError([`(root): ${source} is not valid YAML: ${msg}`]);
  }
  return validateConfig(doc);
}

/** Path from `-c`, else ROUTESYNC_CONFIG. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const p = flag ?? env.ROUTESYNC_CONFIG;
  if (!p) throw new ConfigError(['config: no config file given (use -c FILE or set ROUTESYNC_CONFIG)']);
  return p;
}

/**
 * The file store's path, absolute: a relative (or the default) `store.path` is anchored to the config file's
 * directory, never to the working directory — a run from elsewhere must find the same allocations, not an
 * empty store that would re-plan every live route.
 */
export function anchorStorePath(c: Config, configFile: string, cwd: string = process.cwd()): Config {
  if (c.store.type !== 'file') return c;
  const p = c.store.path ?? DEFAULT_STORE_PATH;
  if (isAbsolute(p)) return c;
  const anchored = resolve(dirname(resolve(cwd, configFile)), p);
  // Earlier versions took a relative path from the working directory: a state file found only there is
  // this cluster's allocations, and starting empty beside it would be the very loss anchoring prevents.
  const old = resolve(cwd, p);
  if (old !== anchored && !existsSync(anchored) && existsSync(old)) {
    throw new ConfigError([
      `store.path: ${JSON.stringify(p)} is now taken from the config file's directory (${anchored}), which has no state file, but ${old} exists; move it there or set store.path to its absolute path`,
    ]);
  }
  c.store.path = anchored;
  return c;
}

/** A config is a few KB; anything near this is not one (and `-c /dev/zero` must not read forever). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Reads the file bounded: only a regular file, at most MAX_CONFIG_BYTES. O_NONBLOCK keeps the open of a
 * FIFO from waiting for a writer; the checks run on the opened descriptor, so the file cannot be swapped
 * between check and read.
 */
function readConfigFile(path: string): string {
  const cannot = (e: unknown) => {
    const code = (e as NodeJS.ErrnoException).code;
    return new ConfigError([`config: cannot read ${path}${code ? ` (${code})` : ''}`]);
  };
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw cannot(e);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new ConfigError([`config: ${path} is a directory, not a config file`]);
    if (!st.isFile())
      throw new ConfigError([`config: ${path} is not a regular file (a device, pipe or socket is never a config)`]);
    if (st.size > MAX_CONFIG_BYTES)
      throw new ConfigError([`config: ${path} is ${st.size} bytes, more than the ${MAX_CONFIG_BYTES} a config may be`]);
    // Read to EOF but never past the bound: the size from fstat may be stale if the file grows meanwhile.
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n > MAX_CONFIG_BYTES)
        throw new ConfigError([`config: ${path} is more than the ${MAX_CONFIG_BYTES} bytes a config may be`]);
    }
    return buf.subarray(0, n).toString('utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw cannot(e);
  } finally {
    closeSync(fd);
  }
}

export function loadConfig(path: string): Config {
  return anchorStorePath(parseConfigText(readConfigFile(path), path), path);
}
