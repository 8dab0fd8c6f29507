// The one config file: YAML, validated by a strict zod schema (unknown keys are errors: a typo such as
// `maxDeleteFracton` must not silently fall back to a default) and then by semantic checks across fields.
// Every problem is reported as one line `path: message`.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { contains, formatCidr, overlaps, parseCidr, type Cidr } from './cidr.ts';
import { parseDuration } from './duration.ts';
import { agentProblems, agentSchema } from './agent/config.ts';
import { DEFAULT_STORE_PATH } from './store/file.ts';

const cidrString = z.string().superRefine((s, ctx) => {
  try {
    parseCidr(s);
  } catch (e) {
    // parseCidr says why (e.g. host bits set, with the CIDR that was probably meant).
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});

const duration = z.string({ error: 'must be a duration such as 30s, 5m or 1h' }).transform((s, ctx) => {
  try {
    return parseDuration(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)} is not a duration (use e.g. 30s, 5m, 1h)` });
    return z.NEVER;
  }
});

const ratio = z.number().gt(0).lte(1);

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9464');

/** `key=value`, or `{key, value}`. Defaults to `routesync-cluster=<cluster>` (valid as AWS/Aliyun tag and GCE label). */
const instanceFilter = z.union([
  z.string().regex(/^[^=\s]+=[^=\s]*$/, 'must be key=value').transform((s) => {
    const [key, value] = s.split('=') as [string, string];
    return { key, value };
  }),
  z.strictObject({ key: z.string().min(1), value: z.string() }),
]);

const url = z.string().url('must be a URL such as http://127.0.0.1:8080');

const numberOrRequired = (issue: { input: unknown }): string => (issue.input === undefined ? 'is required' : 'must be a number');

const providerSchema = z.strictObject({
  type: z.enum(['aliyun', 'aws', 'gce'], { error: 'must be one of aliyun, aws, gce' }),
  region: z.string().min(1).optional(),
  vpcId: z.string().min(1).optional(),
  project: z.string().min(1).optional(),
  network: z.string().min(1).optional(),
  routeTableIds: z.array(z.string().min(1)).optional(),
  instanceFilter: instanceFilter.optional(),
  endpoint: url.optional(),
  routeQuota: z.number().int().positive().optional(),
  /** Parallel write calls per table where the cloud allows parallelism (AWS, GCE). */
  concurrency: z.number().int().min(1).max(64).default(8),
  aws: z
    .strictObject({
      /** Each EC2 mutating action's request bucket; raise it only if AWS raised the account's limits. */
      writeRateLimit: z
        .strictObject(
          {
            burst: z.number({ error: numberOrRequired }).int('must be a whole number of requests').min(1, 'must be at least 1 (EC2 default 50)').max(1_000_000, 'must be at most 1000000'),
            perSecond: z.number({ error: numberOrRequired }).gt(0, 'must be above 0 requests per second (EC2 default 5)').max(1_000_000, 'must be at most 1000000'),
          },
          { error: 'must be a mapping {burst, perSecond}' },
        )
        .optional(),
    })
    .optional(),
});

const tlsSchema = z.strictObject({
  ca: z.string().min(1).optional(),
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
});

const storeSchema = z.strictObject({
  type: z.enum(['file', 'etcd', 'memory'], { error: 'must be one of file, etcd, memory' }).default('file'),
  path: z.string().min(1).optional(),
  endpoints: z.array(url).min(1).optional(),
  prefix: z.string().regex(/^\/[^\s]*[^/\s]$|^\/$/, 'must start with / and not end with /').default('/routesync'),
  tls: tlsSchema.optional(),
  /** Leader lease TTL: a crashed leader is replaced after at most this long. */
  electionTTL: duration.prefault('10s'),
});

export const configSchema = z.strictObject({
  cluster: z
    .string()
    .max(26, 'must be at most 26 characters (it prefixes GCE route names, which are limited to 63)')
    .regex(/^[a-z]([a-z0-9-]*[a-z0-9])?$/, 'must be a DNS label: lowercase letters, digits and -, starting with a letter'),
  clusterCIDR: cidrString,
  /** Let clusterCIDR lie outside the private ranges (a VPC that routes public space privately). */
  allowNonPrivateClusterCIDR: z.boolean().default(false),
  subnetLen: z.number().int().default(24),
  reserved: z.array(cidrString).default([]),
  /** Take over a foreign route that holds one of our subnets (off: report it as a conflict). */
  adopt: z.boolean().default(false),
  provider: providerSchema,
  store: storeSchema.prefault({}),
  reconcile: z
    .strictObject({
      interval: duration.prefault('60s'),
      releaseAfter: duration.prefault('5m'),
      reuseAfter: duration.prefault('10m'),
      maxDeleteFraction: z.number().min(0).max(1).default(0.2),
      /** Coalescing window for change signals: a burst of changes costs one pass. */
      debounce: duration.prefault('2s'),
    })
    .prefault({}),
  quota: z
    .strictObject({
      warnRatio: ratio.default(0.8),
      criticalRatio: ratio.default(0.95),
    })
    .prefault({}),
  metrics: z.strictObject({ listen: hostPort.default('0.0.0.0:9464') }).prefault({}),
  log: z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info') }).prefault({}),
  /** `routesync agent` (the node side); the controller ignores it. */
  agent: agentSchema.prefault({}),
});

export type Config = z.output<typeof configSchema> & {
  provider: z.output<typeof providerSchema> & { instanceFilter: { key: string; value: string } };
};

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

function formatIssue(issue: z.core.$ZodIssue): string {
  const where = pathOf(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${where === '(root)' ? k : `${where}.${k}`}: unknown key`).join('\n');
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
  if (cluster.prefix === 0) return `clusterCIDR: ${text} is the default route (every address); use a private range such as 10.244.0.0/16`;
  const bad = NEVER.find(([r]) => overlaps(parseCidr(r), cluster));
  if (bad) return `clusterCIDR: ${text} overlaps ${bad[1]}, which is never routed to VMs`;
  if (cluster.prefix < WIDEST_PREFIX) return `clusterCIDR: ${text} is wider than a /${WIDEST_PREFIX}; use a private range such as 10.244.0.0/16`;
  if (!allowNonPrivate && !PRIVATE_RANGES.some((r) => contains(parseCidr(r), cluster))) {
    return `clusterCIDR: ${text} is not inside a private range (${PRIVATE_RANGES.join(', ')}); set allowNonPrivateClusterCIDR: true if the VPC really routes it privately`;
  }
  return undefined;
}

/** Cross-field checks zod cannot express per field. */
function semanticProblems(c: Config): string[] {
  const out: string[] = [];
  const cluster = parseCidr(c.clusterCIDR);
  const cidrProblem = clusterCIDRProblem(cluster, c.allowNonPrivateClusterCIDR);
  if (cidrProblem) out.push(cidrProblem);
  if (c.subnetLen <= cluster.prefix || c.subnetLen > 30) {
    out.push(`subnetLen: ${c.subnetLen} must be longer than the clusterCIDR prefix /${cluster.prefix} and at most 30`);
  } else if (c.subnetLen <= WIDEST_PREFIX) {
    out.push(`subnetLen: ${c.subnetLen} must be longer than /${WIDEST_PREFIX} (a VM's subnet is a small part of the cluster) and at most 30`);
  }
  c.reserved.forEach((r, i) => {
    if (!contains(cluster, parseCidr(r))) out.push(`reserved.${i}: ${r} is not inside clusterCIDR ${formatCidr(cluster)}`);
  });
  if (c.quota.warnRatio >= c.quota.criticalRatio) {
    out.push(`quota.warnRatio: ${c.quota.warnRatio} must be below quota.criticalRatio ${c.quota.criticalRatio}`);
  }
  const p = c.provider;
  const need = (field: keyof typeof p, why: string) => {
    if (p[field] === undefined) out.push(`provider.${field}: is required for provider.type ${p.type} (${why})`);
  };
  if (p.type === 'aliyun' || p.type === 'aws') {
    need('region', 'the API region');
    need('vpcId', 'the VPC whose route tables are managed');
    if (p.project !== undefined) out.push(`provider.project: only applies to provider.type gce`);
    if (p.network !== undefined) out.push(`provider.network: only applies to provider.type gce`);
    if (p.type === 'aliyun' && p.aws !== undefined) out.push(`provider.aws: only applies to provider.type aws`);
  } else {
    need('project', 'the GCP project');
    need('network', 'the VPC network');
    if (p.vpcId !== undefined) out.push(`provider.vpcId: only applies to provider.type aliyun or aws (gce uses provider.network)`);
    if (p.aws !== undefined) out.push(`provider.aws: only applies to provider.type aws`);
  }
  const s = c.store;
  if (s.type === 'etcd' && s.endpoints === undefined) out.push('store.endpoints: is required for store.type etcd');
  if (s.type !== 'etcd' && s.endpoints !== undefined) out.push(`store.endpoints: only applies to store.type etcd`);
  if (s.type !== 'etcd' && s.tls !== undefined) out.push(`store.tls: only applies to store.type etcd`);
  if (s.type !== 'file' && s.path !== undefined) out.push(`store.path: only applies to store.type file`);
  if (s.tls && (s.tls.cert === undefined) !== (s.tls.key === undefined)) out.push('store.tls: cert and key must be given together');
  if (c.reconcile.interval < 1000) out.push(`reconcile.interval: must be at least 1s`);
  out.push(...agentProblems(c.agent));
  return out;
}

/** Validates an already-parsed document. Throws ConfigError listing every problem. */
export function validateConfig(doc: unknown): Config {
  if (doc === null || doc === undefined) throw new ConfigError(['(root): the config is empty']);
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(['(root): must be a YAML mapping of keys to values']);
  const r = configSchema.safeParse(doc);
  if (!r.success) throw new ConfigError(r.error.issues.flatMap((i) => formatIssue(i).split('\n')));
  const c = r.data as Config;
  c.provider.instanceFilter ??= { key: 'routesync-cluster', value: c.cluster };
  const problems = semanticProblems(c);
  if (problems.length > 0) throw new ConfigError(problems);
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

export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError([`config: cannot read ${path}${code ? ` (${code})` : ''}`]);
  }
  return anchorStorePath(parseConfigText(text, path), path);
}
