// The plug-in table (providers/plugins.ts): a command loads the configured cloud's SDK and no other, the
// config's `provider` union is the plug-ins' schemas, and the table is the one list of clouds.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TOPOLOGIES } from '../../emulators/clouds.ts';
import { emulatorCredentials } from '../../providers/plugin.ts';
import { configFor, PLUGINS, PROVIDER_KINDS, providerFields, type ProviderKind } from '../../providers/plugins.ts';
import { type ConfigError, validateConfig } from '../../src/config.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A config for `kind` against its emulator's ids (nothing is called: building a provider sends nothing). */
function doc(kind: ProviderKind): Record<string, unknown> {
  return {
    cluster: 'sdk',
    clusterCIDR: '172.16.0.0/16',
    provider: { type: kind, ...providerFields(kind, TOPOLOGIES[kind]), endpoint: 'http://127.0.0.1:9' },
    store: { type: 'memory' },
  };
}

/**
 * In a fresh Node: opens the runtime a command opens (src/wiring.ts) for `kind`, recording every module
 * resolved on the way (module hooks see ESM imports and require() alike). Returns the npm packages loaded.
 */
function packagesLoadedFor(kind: ProviderKind | null): string[] {
  const script = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); seen.add(r.url); return r; } });
    const root = ${JSON.stringify(ROOT)};
    const { validateConfig } = await import(root + 'src/config.ts');
    const { openRuntime } = await import(root + 'src/wiring.ts');
    const { silentLogger } = await import(root + 'src/log.ts');
    const doc = ${JSON.stringify(kind === null ? null : doc(kind))};
    if (doc) await openRuntime(validateConfig(doc), { logger: silentLogger });
    process.stdout.write(JSON.stringify([...seen]));
    process.exit(0);
  `;
  const r = spawnSync(`${ROOT}node_modules/.bin/node`, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...emulatorCredentials(PLUGINS[kind ?? 'aws'].credentials, 'sdk-test') },
  });
  expect(r.stderr).toBe('');
  const urls = JSON.parse(r.stdout) as string[];
  const pkgs = new Set<string>();
  for (const u of urls) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
    if (m) pkgs.add(m[1] as string);
  }
  return [...pkgs];
}

const allSdks = PROVIDER_KINDS.flatMap((k) => PLUGINS[k].sdkPackages);

describe('plug-in table', () => {
  it('loading the table and the config loads no SDK', () => {
    expect(packagesLoadedFor(null).filter((p) => allSdks.includes(p))).toEqual([]);
  });

  it.each(PROVIDER_KINDS.map((k) => [k] as [ProviderKind]))(
    'a command configured for %s loads its SDK and no other cloud’s',
    (kind) => {
      const loaded = packagesLoadedFor(kind).filter((p) => allSdks.includes(p));
      const own = PLUGINS[kind].sdkPackages;
      // Its first package is the one the adapter is built on; the others may load lazily (quotas, auth).
      expect(loaded).toContain(own[0]);
      expect(loaded.filter((p) => !own.includes(p))).toEqual([]);
    },
  );

  it('the config’s provider section is the configured plug-in’s schema', () => {
    for (const kind of PROVIDER_KINDS) {
      const c = validateConfig(doc(kind));
      expect(configFor(kind, c.provider).type).toBe(kind);
      expect(PLUGINS[kind].schema.safeParse(doc(kind).provider).success).toBe(true);
    }
    expect(() => configFor('aws', validateConfig(doc('gce')).provider)).toThrow(/gce, not aws/);
  });

  it('names the clouds a foreign field belongs to, from the table', () => {
    const problems = (d: unknown) => {
      try {
        validateConfig(d);
        return [];
      } catch (e) {
        return (e as ConfigError).problems;
      }
    };
    const d = doc('aliyun') as { provider: Record<string, unknown> };
    expect(problems({ ...d, provider: { ...d.provider, project: 'p', nosuch: 1 } })).toEqual([
      'provider.project: only applies to provider.type gce',
      'provider.nosuch: unknown key',
    ]);
    expect(problems({ ...d, provider: { type: 'azure' } })).toEqual([
      `provider.type: must be one of ${PROVIDER_KINDS.join(', ')}`,
    ]);
  });

  it('gives every plug-in dummy credentials an emulator accepts', () => {
    for (const kind of PROVIDER_KINDS) {
      const env = emulatorCredentials(PLUGINS[kind].credentials, 'me');
      expect(Object.values(env)).toContain('me');
    }
    expect(emulatorCredentials(PLUGINS.aws.credentials, 'demo')).toEqual({
      AWS_ACCESS_KEY_ID: 'demo',
      AWS_SECRET_ACCESS_KEY: 'demo-secret',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
  });

  it('each plug-in’s providerID form and metadata service are its own, readable off the table', () => {
    const schemes = PROVIDER_KINDS.flatMap((k) => PLUGINS[k].providerId.schemes);
    expect(new Set(schemes).size).toBe(schemes.length); // a scheme names one cloud
    for (const kind of PROVIDER_KINDS) {
      const { providerId, metadata } = PLUGINS[kind];
      // The fields that bound the location are the cloud's own config fields (provider.project, …).
      const shape = PLUGINS[kind].schema.shape as Record<string, unknown>;
      for (const f of providerId.location) expect(Object.hasOwn(shape, f), `${kind}: provider.${f}`).toBe(true);
      expect(new URL(metadata.endpoint).protocol).toBe('http:');
    }
  });
});
