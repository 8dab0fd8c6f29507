// One descriptor per cloud emulator (emulators/<cloud>/index.ts), one table line each (emulators/clouds.ts):
// the views callers use are that table's fields; the bench bound, the `routesync emulator` banner and its
// printed config come from the descriptor, with the figures and text they had when they were per-cloud
// switches.
import { describe, expect, it } from 'vitest';
import { bound } from '../../bench/common.ts';
import {
  EMULATOR_PLUGINS,
  EMULATOR_PROFILES,
  EMULATORS,
  startEmulator,
  TOPOLOGIES,
  VOCABULARIES,
} from '../../emulators/clouds.ts';
import type { EmulatorPlugin } from '../../emulators/shared/plugin.ts';
import type { EmulatorDescription } from '../../emulators/shared/server.ts';
import { emulatorCredentials } from '../../providers/plugin.ts';
import { PLUGINS, PROVIDER_KINDS } from '../../providers/plugins.ts';
import { bannerLines, type EmulatorPresentation, emulatorConfigText } from '../../src/commands/emulator-config.ts';
import { controllerEnv, dummyCredentials } from '../../testkit/cli.ts';
import { scaledPacing } from '../../testkit/clouds.ts';

const plugins = Object.values(EMULATOR_PLUGINS);

describe('the emulators table', () => {
  it('has one descriptor per provider kind, and the views are its fields', async () => {
    expect(Object.keys(EMULATOR_PLUGINS).sort()).toEqual([...PROVIDER_KINDS].sort());
    for (const [kind, p] of Object.entries(EMULATOR_PLUGINS)) {
      expect(p.kind).toBe(kind);
      expect(EMULATORS[p.kind]).toBe(p.create);
      expect(TOPOLOGIES[p.kind]).toBe(p.topology);
      expect(VOCABULARIES[p.kind]).toBe(p.vocabulary);
      expect(EMULATOR_PROFILES[p.kind]).toBe(p.profiles);
      const emu = await startEmulator(p.create, { instances: 1 });
      try {
        expect(emu.cloud.kind).toBe(kind);
        const d = emu.describe();
        // The ids a printed config names are ids the emulator serves.
        for (const k of p.configIds) expect(d[k], `${kind} ${k}`).toBe(p.topology[k]);
      } finally {
        await emu.close();
      }
    }
  });

  it('bench bound(): each cloud’s from its descriptor, the figures unchanged', () => {
    const figures = bound;
    expect(figures('aws', 1000, 1)).toEqual({ seconds: 190, limitedBy: 'CreateRoute bucket' });
    expect(figures('aws', 1000, 3)).toEqual({ seconds: 590, limitedBy: 'CreateRoute bucket' });
    expect(figures('aws', 40, 1)).toEqual({ seconds: 0, limitedBy: 'CreateRoute bucket' });
    expect(figures('aliyun', 1000, 2)).toEqual({ seconds: 99.82352941176472, limitedBy: 'settle chain per table' });
    expect(figures('aliyun', 5000, 1)).toEqual({ seconds: 494.117647058824, limitedBy: 'settle chain per table' });
    expect(figures('gce', 1000, 1)).toEqual({ seconds: 19.98946348970354, limitedBy: 'operation completion' });
    expect(figures('gce', 1000, 2)).toEqual({
      seconds: 79.97478261245273,
      limitedBy: 'insert + operation-read minute windows, then completion',
    });
    expect(bound('aliyun', 10, 1, 'fast')).toEqual({
      seconds: 0.09454545454545454,
      limitedBy: 'settle chain per table',
    });
    for (const p of plugins) expect(bound(p.kind, 300, 2, 'fast')).toEqual(p.bound(300, 2, 'fast'));
  });
});

const AWS: EmulatorDescription = {
  provider: 'aws',
  endpoint: 'http://127.0.0.1:8787',
  region: 'us-east-1',
  vpcId: 'vpc-0a1b2c3d4e5f60001',
  tables: ['rtb-1', 'rtb-2'],
  credentials: { AWS_ACCESS_KEY_ID: 'local' },
  credentialsRule: 'any key',
  instanceFilter: 'routesync-cluster=demo',
};

describe('routesync emulator: banner and printed config from the descriptor', () => {
  it('the three clouds print what they printed before', () => {
    expect(bannerLines(AWS, EMULATOR_PLUGINS.aws, { instances: 2, quota: 50 }, 'NOTE').slice(0, 4)).toEqual([
      '  region:      us-east-1',
      '  vpcId:       vpc-0a1b2c3d4e5f60001',
      '  tables:      rtb-1, rtb-2',
      '  VMs:         2 tagged routesync-cluster=demo (provider.instanceFilter); route quota 50 per table',
    ]);
    const gce: EmulatorDescription = {
      ...AWS,
      provider: 'gce',
      project: 'routesync-emu',
      network: 'cluster-net',
      region: 'us-central1',
      tables: ['cluster-net', 'shared-net'],
    };
    expect(bannerLines(gce, EMULATOR_PLUGINS.gce, { instances: 2, quota: 50 }, 'NOTE').slice(0, 3)).toEqual([
      '  project:     routesync-emu',
      "  network:     cluster-net (the project's networks: cluster-net, shared-net)",
      '  VMs:         2 tagged routesync-cluster=demo (provider.instanceFilter); route quota 50 per project',
    ]);
    expect(emulatorConfigText(gce, EMULATOR_PLUGINS.gce, 'x.json')).toContain(
      [
        'provider:',
        '  type: gce',
        '  project: routesync-emu',
        '  network: cluster-net',
        '  endpoint: http://127.0.0.1:8787',
        '  instanceFilter: routesync-cluster=demo',
        'store:',
      ].join('\n'),
    );
  });

  it('nothing in them is chosen by the provider kind: a descriptor says it', () => {
    // AWS's ids presented another way: the text follows the descriptor, not `provider === …`.
    const other: EmulatorPresentation = {
      configIds: ['vpcId', 'region'],
      bannerIds: (d) => [`  account:     ${d.vpcId}@${d.region}`],
      vocabulary: { ...EMULATOR_PLUGINS.aws.vocabulary, quotaScope: 'project' },
    };
    expect(bannerLines(AWS, other, { instances: 1, quota: 9 }, 'NOTE').slice(0, 2)).toEqual([
      '  account:     vpc-0a1b2c3d4e5f60001@us-east-1',
      '  VMs:         1 tagged routesync-cluster=demo (provider.instanceFilter); route quota 9 per project',
    ]);
    expect(emulatorConfigText(AWS, other, 'x.json')).toContain(
      '  type: aws\n  vpcId: vpc-0a1b2c3d4e5f60001\n  region: us-east-1\n  endpoint:',
    );
  });
});

describe('testkit: what differs per cloud comes from the tables', () => {
  it('scaledPacing is the emulator descriptor’s (AWS: its client write bucket, scaled); the others need none', () => {
    for (const p of plugins) expect(scaledPacing(p.kind, 20)).toEqual((p as EmulatorPlugin).scaledPacing?.(20) ?? {});
    expect(scaledPacing('aws', 20)).toEqual({ aws: { writeRateLimit: { burst: 50, perSecond: 100 } } });
    expect(scaledPacing('gce', 20)).toEqual({});
  });

  it('dummy credentials are what each plug-in lists it reads; a controller child inherits none of their families', () => {
    const dummies = dummyCredentials('me');
    for (const p of Object.values(PLUGINS)) expect(dummies).toMatchObject(emulatorCredentials(p.credentials, 'me'));
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { ALIBABA_CLOUD_REGION_ID: 'x', GOOGLE_CLOUD_PROJECT: 'x', AWS_PROFILE: 'x' });
      const env = controllerEnv('me');
      expect(
        Object.keys(env)
          .filter((k) => /^(ALIBABA_|GOOGLE_|AWS_|ROUTESYNC_)/.test(k))
          .sort(),
      ).toEqual(Object.keys(dummies).sort());
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});
