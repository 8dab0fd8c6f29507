// The example configs are what operators copy: each must pass the schema, be accepted by the shipped
// CLI (`routesync validate`), document every key it sets, and the local one must point at the emulator.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isMap, isScalar, parseDocument, type Node as YamlNode } from 'yaml';
import { TOPOLOGIES } from '../../emulators/clouds.ts';
import { PLUGINS, PROVIDER_KINDS, type ProviderKind } from '../../providers/plugins.ts';
import { configSchema, parseConfigText } from '../../src/config.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIR = join(ROOT, 'examples/config');
const CLOUDS = PROVIDER_KINDS;
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
/** The configs for the local emulators: local.yaml (Aliyun) and one per other cloud. */
const LOCAL: Record<ProviderKind, string> = { aliyun: 'local.yaml', aws: 'local-aws.yaml', gce: 'local-gce.yaml' };

function read(name: string): string {
  return readFileSync(join(DIR, name), 'utf8');
}

/** Key paths of leaf settings with no comment above them or at the end of their line. */
function undocumentedKeys(text: string): string[] {
  type Commented = YamlNode & { commentBefore?: string | null; comment?: string | null };
  const out: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (!isMap(node)) return;
    node.items.forEach((pair, i) => {
      const key = isScalar(pair.key) ? String(pair.key.value) : '?';
      const value = pair.value as Commented | null;
      const p = path ? `${path}.${key}` : key;
      // A section (provider:, store:) is explained by the comments of its keys.
      if (isMap(value)) return walk(value, p);
      // The yaml package hangs the comment above a mapping's first key on the mapping itself.
      const above = (pair.key as Commented).commentBefore ?? (i === 0 ? (node as Commented).commentBefore : undefined);
      if (!above && !value?.comment) out.push(p);
    });
  };
  walk(parseDocument(text).contents, '');
  return out;
}

describe('examples/config', () => {
  it('has one config per cloud plus one per cloud for its local emulator', () => {
    expect(new Set(files)).toEqual(new Set([...CLOUDS.map((c) => `${c}.yaml`), ...Object.values(LOCAL)]));
  });

  for (const cloud of CLOUDS) {
    it(`${cloud}.yaml is valid and configures ${cloud}`, () => {
      const c = parseConfigText(read(`${cloud}.yaml`), `${cloud}.yaml`);
      expect(c.provider.type).toBe(cloud);
      // Real deployments talk to the cloud's own endpoint; an override here would be copied by mistake.
      expect(c.provider.endpoint).toBeUndefined();
    });

    it(`${cloud}.yaml explains every key it sets`, () => {
      expect(undocumentedKeys(read(`${cloud}.yaml`))).toEqual([]);
    });

    it(`${cloud}.yaml sets (or shows) every key the schema knows`, () => {
      const text = read(`${cloud}.yaml`);
      // Commented-out keys count: they show the operator that the option exists.
      const shown = (key: string) => new RegExp(`^\\s*(#\\s*)?${key}:`, 'm').test(text);
      for (const key of Object.keys(configSchema.shape)) expect(shown(key), key).toBe(true);
      for (const key of Object.keys(PLUGINS[cloud].schema.shape)) {
        // GCE: routes are project-wide (region is accepted and unused) and the network is the one table.
        if (cloud === 'gce' && (key === 'region' || key === 'routeTableIds')) continue;
        expect(shown(key), `provider.${key}`).toBe(true);
      }
    });
  }

  it('the undocumented-key check finds a key without a comment', () => {
    const text =
      '# cluster name\ncluster: a\nclusterCIDR: 10.0.0.0/16\nsubnetLen: 24 # bits\nstore:\n  # type\n  type: file\n  path: x\n  tls:\n    ca: y\n';
    expect(undocumentedKeys(text)).toEqual(['clusterCIDR', 'store.path', 'store.tls.ca']);
  });

  for (const cloud of CLOUDS) {
    it(`${LOCAL[cloud]} points at the ${cloud} emulator on loopback with its own file store`, () => {
      const c = parseConfigText(read(LOCAL[cloud]), LOCAL[cloud]);
      expect(c.provider.type).toBe(cloud);
      expect(new URL(c.provider.endpoint!).hostname).toBe('127.0.0.1');
      const topo = TOPOLOGIES[cloud];
      const p = c.provider as Record<string, unknown>;
      if (cloud === 'gce') expect([p.project, p.network]).toEqual([topo.project, topo.network]);
      else expect([p.region, p.vpcId]).toEqual([topo.region, topo.vpcId]);
      // The emulator's default --tag.
      expect(c.provider.instanceFilter).toEqual({ key: 'routesync-cluster', value: 'demo' });
      expect(c.store.type).toBe('file');
      expect(c.metrics.listen.startsWith('127.0.0.1:')).toBe(true);
    });
  }

  it('the local configs keep separate state files', () => {
    const paths = Object.values(LOCAL).map((f) => (parseConfigText(read(f), f).store as { path: string }).path);
    expect(new Set(paths).size).toBe(paths.length);
  });

  for (const name of [...CLOUDS.map((c) => `${c}.yaml`), ...Object.values(LOCAL)]) {
    it(`routesync validate -c examples/config/${name} exits 0`, () => {
      // process.execPath is Node 24 under vitest, the runtime the CLI needs.
      const r = spawnSync(process.execPath, [join(ROOT, 'bin/routesync.js'), 'validate', '-c', join(DIR, name)], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, ROUTESYNC_CONFIG: '' },
        timeout: 30_000,
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`${name}: valid`);
    });
  }
});
