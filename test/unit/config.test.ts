import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configFor } from '../../providers/plugins.ts';
import {
  anchorStorePath,
  ConfigError,
  loadConfig,
  MAX_CONFIG_BYTES,
  parseConfigText,
  validateConfig,
} from '../../src/config.ts';

const aws = {
  cluster: 'prod',
  clusterCIDR: '172.16.0.0/16',
  provider: { type: 'aws', region: 'us-east-1', vpcId: 'vpc-1' },
};

function problems(doc: unknown): string[] {
  try {
    validateConfig(doc);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

const withStore = (store: object) => ({ ...aws, store });

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('valid configs', () => {
  it('fills the documented defaults', () => {
    const c = validateConfig(aws);
    expect(c.subnetLen).toBe(24);
    expect(c.reserved).toEqual([]);
    expect(c.store).toMatchObject({ type: 'file', prefix: '/routesync', electionTTL: 10_000 });
    expect(c.reconcile).toEqual({
      interval: 60_000,
      releaseAfter: 300_000,
      reuseAfter: 600_000,
      maxDeleteFraction: 0.2,
      debounce: 2000,
    });
    expect(c.quota).toEqual({ warnRatio: 0.8, criticalRatio: 0.95 });
    expect(c.provider.instanceFilter).toEqual({ key: 'routesync-cluster', value: 'prod' });
    expect(c.provider.concurrency).toBe(8);
  });

  it('accepts each provider and store with their fields', () => {
    expect(
      validateConfig({
        ...aws,
        provider: { type: 'aliyun', region: 'cn-hangzhou', vpcId: 'vpc-a', instanceFilter: 'team=net' },
      }).provider.instanceFilter,
    ).toEqual({ key: 'team', value: 'net' });
    expect(validateConfig({ ...aws, provider: { type: 'gce', project: 'p', network: 'default' } }).provider.type).toBe(
      'gce',
    );
    const e = validateConfig(
      withStore({
        type: 'etcd',
        endpoints: ['https://127.0.0.1:2379'],
        prefix: '/rs',
        electionTTL: '3s',
        tls: { ca: 'ca.pem', cert: 'c.pem', key: 'k.pem' },
      }),
    );
    expect(e.store).toMatchObject({ type: 'etcd', prefix: '/rs', electionTTL: 3000 });
    expect(validateConfig(withStore({ type: 'file', path: '/var/lib/routesync/state.json' })).store.path).toBe(
      '/var/lib/routesync/state.json',
    );
    expect(
      validateConfig({ ...aws, subnetLen: 26, reserved: ['172.16.0.0/20'], reconcile: { interval: '1h30m' } }).reconcile
        .interval,
    ).toBe(5_400_000);
  });

  it('parses YAML text', () => {
    const c = parseConfigText(
      'cluster: prod\nclusterCIDR: 10.0.0.0/8\nprovider: {type: gce, project: p, network: n}\n',
    );
    expect(c.clusterCIDR).toBe('10.0.0.0/8');
  });
});

describe('problems, one line each, naming the field', () => {
  it('names unknown keys at every level', () => {
    expect(
      problems({
        ...aws,
        maxDeleteFracton: 0.2,
        reconcile: { intervall: '1m' },
        provider: { ...aws.provider, zone: 'a' },
      }).sort(),
    ).toEqual(['maxDeleteFracton: unknown key', 'provider.zone: unknown key', 'reconcile.intervall: unknown key']);
  });

  it('reports missing and malformed fields', () => {
    expect(problems({ provider: { type: 'aws', region: 'r', vpcId: 'v' } }).sort()).toEqual([
      'cluster: is required',
      'clusterCIDR: is required',
    ]);
    expect(problems({ ...aws, clusterCIDR: '10.0.0.0/33' })).toEqual([
      'clusterCIDR: "10.0.0.0/33" is not a valid IPv4 CIDR',
    ]);
    expect(problems({ ...aws, clusterCIDR: '10.0.0.1/8' })).toEqual([
      'clusterCIDR: "10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?)',
    ]);
    expect(problems({ ...aws, cluster: 'Prod_1' })[0]).toMatch(/^cluster: must be a DNS label/);
    expect(problems({ ...aws, reconcile: { interval: '60' } })[0]).toMatch(
      /^reconcile\.interval: "60" is not a duration/,
    );
    expect(problems({ ...aws, provider: { type: 'azure' } })[0]).toMatch(
      /^provider\.type: must be one of aliyun, aws, gce/,
    );
    expect(problems(null)).toEqual(['(root): the config is empty']);
    expect(problems([1])).toEqual(['(root): must be a YAML mapping of keys to values']);
  });

  it('runs every cross-field check', () => {
    const cases: Array<[object, string]> = [
      [{ ...aws, subnetLen: 16 }, 'subnetLen: 16 must be longer than the clusterCIDR prefix /16 and at most 30'],
      [{ ...aws, subnetLen: 31 }, 'subnetLen: 31 must be longer than the clusterCIDR prefix /16 and at most 30'],
      [{ ...aws, reserved: ['10.0.0.0/24'] }, 'reserved.0: 10.0.0.0/24 is not inside clusterCIDR 172.16.0.0/16'],
      [
        { ...aws, quota: { warnRatio: 0.9, criticalRatio: 0.9 } },
        'quota.warnRatio: 0.9 must be below quota.criticalRatio 0.9',
      ],
      [
        { ...aws, provider: { type: 'aws', vpcId: 'v' } },
        'provider.region: is required for provider.type aws (the API region)',
      ],
      [
        { ...aws, provider: { type: 'aliyun', region: 'cn-hangzhou' } },
        'provider.vpcId: is required for provider.type aliyun (the VPC whose route tables are managed)',
      ],
      [{ ...aws, provider: { ...aws.provider, project: 'p' } }, 'provider.project: only applies to provider.type gce'],
      [{ ...aws, provider: { ...aws.provider, network: 'n' } }, 'provider.network: only applies to provider.type gce'],
      [
        { ...aws, provider: { type: 'gce', network: 'n' } },
        'provider.project: is required for provider.type gce (the GCP project)',
      ],
      [
        { ...aws, provider: { type: 'gce', project: 'p' } },
        'provider.network: is required for provider.type gce (the VPC network)',
      ],
      [
        { ...aws, provider: { type: 'gce', project: 'p', network: 'n', vpcId: 'v' } },
        'provider.vpcId: only applies to provider.type aliyun or aws (gce uses provider.network)',
      ],
      [withStore({ type: 'etcd' }), 'store.endpoints: is required for store.type etcd'],
      [
        withStore({ type: 'file', endpoints: ['http://127.0.0.1:2379'] }),
        'store.endpoints: only applies to store.type etcd',
      ],
      [withStore({ type: 'file', tls: { ca: 'x' } }), 'store.tls: only applies to store.type etcd'],
      [withStore({ type: 'memory', path: 'x' }), 'store.path: only applies to store.type file'],
      [
        withStore({ type: 'etcd', endpoints: ['http://127.0.0.1:2379'], tls: { cert: 'c' } }),
        'store.tls: cert and key must be given together',
      ],
      [{ ...aws, reconcile: { interval: '500ms' } }, 'reconcile.interval: must be at least 1s'],
    ];
    for (const [doc, line] of cases) expect(problems(doc)).toEqual([line]);
  });

  it('refuses broken YAML and duplicate keys in one line', () => {
    expect(() => parseConfigText('cluster: [')).toThrow(/^\(root\): config is not valid YAML: /);
    expect(() => parseConfigText('cluster: a\ncluster: b\n')).toThrow(/not valid YAML/);
  });
});

describe('bounds (issue 12)', () => {
  it('refuses a listen port above 65535 and keeps 0 (a free port)', () => {
    expect(problems({ ...aws, metrics: { listen: '0.0.0.0:99999' } })).toEqual([
      'metrics.listen: port 99999 is out of range 0-65535',
    ]);
    expect(problems({ ...aws, metrics: { listen: '127.0.0.1:0' } })).toEqual([]);
    expect(problems({ ...aws, metrics: { listen: '[::1]:65535' } })).toEqual([]);
  });

  it('refuses endpoints that are not http(s) URLs', () => {
    expect(problems({ ...aws, provider: { ...aws.provider, endpoint: 'file:///etc/passwd' } })).toEqual([
      'provider.endpoint: "file:///etc/passwd" must be an http:// or https:// URL, not file:',
    ]);
    expect(problems({ ...aws, provider: { ...aws.provider, endpoint: 'javascript:alert(1)' } })).toEqual([
      'provider.endpoint: "javascript:alert(1)" must be an http:// or https:// URL, not javascript:',
    ]);
    expect(problems(withStore({ type: 'etcd', endpoints: ['https://127.0.0.1:2379', 'ftp://e:21'] }))).toEqual([
      'store.endpoints.1: "ftp://e:21" must be an http:// or https:// URL, not ftp:',
    ]);
    expect(problems({ ...aws, provider: { ...aws.provider, endpoint: 'http://127.0.0.1:8080' } })).toEqual([]);
  });

  it('refuses reserved ranges that leave no subnet to allocate', () => {
    const line = 'reserved: covers every /24 subnet of clusterCIDR 172.16.0.0/16: no subnet is left to allocate';
    expect(problems({ ...aws, reserved: ['172.16.0.0/16'] })).toEqual([line]);
    expect(problems({ ...aws, reserved: ['172.16.0.0/17', '172.16.128.0/17'] })).toEqual([line]);
    // A /25 in every /24 of a /23: each subnet is touched, so none is free.
    expect(problems({ ...aws, clusterCIDR: '172.16.0.0/23', reserved: ['172.16.0.0/25', '172.16.1.128/25'] })).toEqual([
      line.replace('172.16.0.0/16', '172.16.0.0/23'),
    ]);
    expect(problems({ ...aws, reserved: ['172.16.0.0/17', '172.16.128.0/18'] })).toEqual([]);
  });

  it('refuses durations a timer cannot wait, and each key above its maximum', () => {
    expect(problems({ ...aws, reconcile: { interval: '25d' } })).toEqual([
      'reconcile.interval: "25d" is longer than a timer can wait (about 24d); at most 24h',
    ]);
    expect(problems({ ...aws, reconcile: { interval: '25h' } })).toEqual([
      'reconcile.interval: "25h" is more than the maximum 24h',
    ]);
    expect(problems({ ...aws, reconcile: { releaseAfter: '8d', reuseAfter: '7d1s' } }).sort()).toEqual([
      'reconcile.releaseAfter: "8d" is more than the maximum 7d',
      'reconcile.reuseAfter: "7d1s" is more than the maximum 7d',
    ]);
    expect(problems({ ...aws, reconcile: { debounce: '6m' } })).toEqual([
      'reconcile.debounce: "6m" is more than the maximum 5m',
    ]);
    expect(problems(withStore({ type: 'file', electionTTL: '1h' }))).toEqual([
      'store.electionTTL: "1h" is more than the maximum 5m',
    ]);
    expect(problems({ ...aws, reconcile: { debounce: `${'9'.repeat(400)}d` } })[0]).toMatch(
      /^reconcile\.debounce: .* longer than a timer can wait/,
    );
    expect(
      validateConfig({
        ...aws,
        reconcile: { interval: '24h', releaseAfter: '7d', reuseAfter: '7d', debounce: '5m' },
        store: { electionTTL: '5m' },
      }).reconcile.interval,
    ).toBe(86_400_000);
  });

  it("bounds the agent section's durations the same way", () => {
    expect(problems({ ...aws, agent: { resyncInterval: '25d' } })).toEqual([
      'agent.resyncInterval: "25d" is longer than a timer can wait (about 24d); at most 24h',
    ]);
    expect(problems({ ...aws, agent: { identity: { timeout: '6m' } } })).toEqual([
      'agent.identity.timeout: "6m" is more than the maximum 5m',
    ]);
    expect(validateConfig({ ...aws, agent: { resyncInterval: '24h' } }).agent.resyncInterval).toBe(86_400_000);
  });

  it('reports schema and cross-field problems together, without repeating a refused field', () => {
    expect(problems({ ...aws, bogus: 1, subnetLen: 8, provider: { type: 'aws', vpcId: 'v', zone: 'a' } })).toEqual([
      // The provider's fields are its plug-in's schema: its problems come with the schema's, in its order.
      'provider.region: is required for provider.type aws (the API region)',
      'provider.zone: unknown key',
      'bogus: unknown key',
      'subnetLen: 8 must be longer than the clusterCIDR prefix /16 and at most 30',
    ]);
    expect(problems(withStore({ type: 'etcd', endpoints: ['127.0.0.1:2379'] }))).toEqual([
      'store.endpoints.0: "127.0.0.1:2379" is not a URL such as http://127.0.0.1:8080',
    ]);
    expect(problems({ ...aws, quota: { warnRatio: 2, criticalRatio: 0.5 }, reconcile: { interval: 'x' } })).toEqual([
      'reconcile.interval: "x" is not a duration (use e.g. 30s, 5m, 1h)',
      'quota.warnRatio: Too big: expected number to be <=1',
    ]);
  });
});

describe('reading the file (issue 12)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'routesync-config-read-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('refuses devices, FIFOs, directories and files over 1 MiB without reading them whole', () => {
    expect(problemsOf(() => loadConfig('/dev/zero'))).toEqual([
      'config: /dev/zero is not a regular file (a device, pipe or socket is never a config)',
    ]);
    const fifo = join(dir, 'fifo.yaml');
    spawnSync('mkfifo', [fifo]);
    expect(problemsOf(() => loadConfig(fifo))).toEqual([
      `config: ${fifo} is not a regular file (a device, pipe or socket is never a config)`,
    ]);
    expect(problemsOf(() => loadConfig(dir))).toEqual([`config: ${dir} is a directory, not a config file`]);
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `cluster: a\n#${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    expect(problemsOf(() => loadConfig(big))[0]).toMatch(
      /^config: .*big\.yaml is \d+ bytes, more than the 1048576 a config may be$/,
    );
    const ok = join(dir, 'ok.yaml');
    writeFileSync(ok, 'cluster: prod\nclusterCIDR: 172.16.0.0/16\nprovider: {type: aws, region: r, vpcId: v}\n');
    expect(loadConfig(ok).cluster).toBe('prod');
  });
});

describe('messages that point at the mistake', () => {
  it('a CIDR with host bits set names the CIDR that was probably meant', () => {
    const problems = problemsOf(() =>
      parseConfigText('cluster: a\nclusterCIDR: 10.244.1.0/16\nprovider: {type: aws, region: r, vpcId: v}\n'),
    );
    expect(problems).toEqual(['clusterCIDR: "10.244.1.0/16" has host bits set (did you mean 10.244.0.0/16?)']);
  });
  it('a duplicate key names the key and its line', () => {
    const problems = problemsOf(() => parseConfigText('cluster: a\nclusterCIDR: 10.0.0.0/16\ncluster: b\n', 'c.yaml'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^\(root\): c\.yaml is not valid YAML: .*\(cluster\) at line 3$/);
  });
});

describe('routesync validate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'routesync-validate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (text: string) => {
    const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, text);
    return {
      file,
      ...spawnSync('node_modules/.bin/node', ['bin/routesync.js', 'validate', '-c', file], {
        encoding: 'utf8',
        env: { ...process.env, ROUTESYNC_CONFIG: '' },
      }),
    };
  };

  it('exits 0 on a valid file', () => {
    const r = run(
      'cluster: prod\nclusterCIDR: 172.16.0.0/16\nprovider: {type: aws, region: us-east-1, vpcId: vpc-1}\n',
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${r.file}: valid (cluster prod, provider aws, store file)\n`);
  });

  it('exits 2 with one line per problem', () => {
    const r = run('cluster: prod\nclusterCIDR: 172.16.0.0/16\nsubnetLen: 8\nbogus: 1\nprovider: {type: aws}\n');
    expect(r.status).toBe(2);
    // Every stage in one run: the unknown key and the cross-field problems together.
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual([
      'routesync: provider.region: is required for provider.type aws (the API region)',
      'routesync: provider.vpcId: is required for provider.type aws (the VPC whose route tables are managed)',
      'routesync: bogus: unknown key',
      'routesync: subnetLen: 8 must be longer than the clusterCIDR prefix /16 and at most 30',
    ]);
    const r2 = run('cluster: prod\nclusterCIDR: 172.16.0.0/16\nsubnetLen: 8\nprovider: {type: aws}\n');
    expect(r2.status).toBe(2);
    expect(r2.stderr.trim().split('\n').sort()).toEqual([
      'routesync: provider.region: is required for provider.type aws (the API region)',
      'routesync: provider.vpcId: is required for provider.type aws (the VPC whose route tables are managed)',
      'routesync: subnetLen: 8 must be longer than the clusterCIDR prefix /16 and at most 30',
    ]);
  });

  it('exits 2 naming a file it cannot read', () => {
    const r = spawnSync('node_modules/.bin/node', ['bin/routesync.js', 'validate', '-c', join(dir, 'missing.yaml')], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`routesync: config: cannot read ${join(dir, 'missing.yaml')} (ENOENT)\n`);
  });
});

// provider.aws.writeRateLimit: the client bucket of each EC2 mutating action, for accounts whose limits AWS raised.
const withLimit = (writeRateLimit: unknown, type = 'aws') => ({
  ...aws,
  provider: { ...aws.provider, type, aws: { writeRateLimit } },
});

describe('provider.aws.writeRateLimit', () => {
  it('is absent by default (the provider uses the EC2 defaults) and accepted with both fields', () => {
    expect(configFor('aws', validateConfig(aws).provider).aws).toBeUndefined();
    expect(configFor('aws', validateConfig(withLimit({ burst: 200, perSecond: 20 })).provider).aws).toEqual({
      writeRateLimit: { burst: 200, perSecond: 20 },
    });
    const c = parseConfigText(
      'cluster: prod\nclusterCIDR: 10.0.0.0/8\nprovider:\n  type: aws\n  region: us-east-1\n  vpcId: vpc-1\n  aws:\n    writeRateLimit: {burst: 100, perSecond: 2.5}\n',
    );
    expect(configFor('aws', c.provider).aws?.writeRateLimit).toEqual({ burst: 100, perSecond: 2.5 });
  });

  it('bad values: one line naming the field', () => {
    const cases: Array<[unknown, string]> = [
      [{ burst: 0, perSecond: 5 }, 'provider.aws.writeRateLimit.burst: must be at least 1 (EC2 default 50)'],
      [{ burst: 2.5, perSecond: 5 }, 'provider.aws.writeRateLimit.burst: must be a whole number of requests'],
      [{ burst: '50', perSecond: 5 }, 'provider.aws.writeRateLimit.burst: must be a number'],
      [
        { burst: 50, perSecond: 0 },
        'provider.aws.writeRateLimit.perSecond: must be above 0 requests per second (EC2 default 5)',
      ],
      [
        { burst: 50, perSecond: -1 },
        'provider.aws.writeRateLimit.perSecond: must be above 0 requests per second (EC2 default 5)',
      ],
      [{ burst: 50 }, 'provider.aws.writeRateLimit.perSecond: is required'],
      [{ burst: 50, perSecond: 5, perMinute: 300 }, 'provider.aws.writeRateLimit.perMinute: unknown key'],
      ['5/s', 'provider.aws.writeRateLimit: must be a mapping {burst, perSecond}'],
    ];
    for (const [limit, line] of cases) expect(problems(withLimit(limit))).toEqual([line]);
    expect(problems({ ...aws, provider: { ...aws.provider, aws: { writeLimit: {} } } })).toEqual([
      'provider.aws.writeLimit: unknown key',
    ]);
  });

  it('only applies to provider.type aws', () => {
    const gce = {
      ...aws,
      provider: { type: 'gce', project: 'p', network: 'n', aws: { writeRateLimit: { burst: 50, perSecond: 5 } } },
    };
    expect(problems(gce)).toEqual(['provider.aws: only applies to provider.type aws']);
    const aliyun = withLimit({ burst: 50, perSecond: 5 }, 'aliyun');
    expect(problems(aliyun)).toEqual(['provider.aws: only applies to provider.type aws']);
  });
});

// Issue 12 item 6: clusterCIDR 0.0.0.0/0 validated and deleted someone else's default route.
describe('clusterCIDR and subnetLen: only a private range, never special space, a sane subnet size', () => {
  it('accepts every private range and, with allowNonPrivateClusterCIDR, public unicast space', () => {
    for (const cidr of [
      '10.0.0.0/8',
      '10.244.0.0/16',
      '172.16.0.0/12',
      '172.31.0.0/16',
      '192.168.0.0/16',
      '100.64.0.0/10',
      '100.64.0.0/16',
    ]) {
      expect(problems({ ...aws, clusterCIDR: cidr }), cidr).toEqual([]);
    }
    expect(validateConfig(aws).allowNonPrivateClusterCIDR).toBe(false);
    expect(problems({ ...aws, clusterCIDR: '8.8.0.0/16', allowNonPrivateClusterCIDR: true })).toEqual([]);
  });

  it('refuses what the issue saw accepted, and all special space even when non-private is allowed', () => {
    const cases: Array<[string, boolean, string]> = [
      [
        '0.0.0.0/0',
        false,
        'clusterCIDR: 0.0.0.0/0 is the default route (every address); use a private range such as 10.244.0.0/16',
      ],
      [
        '0.0.0.0/0',
        true,
        'clusterCIDR: 0.0.0.0/0 is the default route (every address); use a private range such as 10.244.0.0/16',
      ],
      ['224.0.0.0/4', false, 'clusterCIDR: 224.0.0.0/4 overlaps multicast (224.0.0.0/4), which is never routed to VMs'],
      ['224.0.0.0/4', true, 'clusterCIDR: 224.0.0.0/4 overlaps multicast (224.0.0.0/4), which is never routed to VMs'],
      ['127.0.0.0/8', true, 'clusterCIDR: 127.0.0.0/8 overlaps loopback (127.0.0.0/8), which is never routed to VMs'],
      [
        '169.254.0.0/16',
        true,
        'clusterCIDR: 169.254.0.0/16 overlaps link-local (169.254.0.0/16, the metadata service), which is never routed to VMs',
      ],
      [
        '255.255.255.0/24',
        true,
        'clusterCIDR: 255.255.255.0/24 overlaps reserved space and broadcast (240.0.0.0/4, 255.255.255.255), which is never routed to VMs',
      ],
      ['0.0.0.0/8', true, 'clusterCIDR: 0.0.0.0/8 overlaps "this network" (0.0.0.0/8), which is never routed to VMs'],
      ['192.0.0.0/3', true, 'clusterCIDR: 192.0.0.0/3 is wider than a /8; use a private range such as 10.244.0.0/16'],
      [
        '8.8.0.0/16',
        false,
        'clusterCIDR: 8.8.0.0/16 is not inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10); set allowNonPrivateClusterCIDR: true if the VPC really routes it privately',
      ],
      // Overlapping a private range is not being inside it.
      [
        '172.0.0.0/8',
        false,
        'clusterCIDR: 172.0.0.0/8 is not inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10); set allowNonPrivateClusterCIDR: true if the VPC really routes it privately',
      ],
    ];
    for (const [cidr, allow, line] of cases) {
      const subnetLen = cidr === '255.255.255.0/24' ? 28 : 24;
      expect(
        problems({ ...aws, clusterCIDR: cidr, subnetLen, allowNonPrivateClusterCIDR: allow }),
        `${cidr} allow=${allow}`,
      ).toEqual([line]);
    }
  });

  it('subnetLen: longer than the clusterCIDR prefix, longer than /8, at most 30', () => {
    expect(problems({ ...aws, clusterCIDR: '10.0.0.0/8', subnetLen: 1 })).toEqual([
      'subnetLen: 1 must be longer than the clusterCIDR prefix /8 and at most 30',
    ]);
    expect(problems({ ...aws, clusterCIDR: '0.0.0.0/0', subnetLen: 1, allowNonPrivateClusterCIDR: true })).toEqual([
      'clusterCIDR: 0.0.0.0/0 is the default route (every address); use a private range such as 10.244.0.0/16',
      "subnetLen: 1 must be longer than /8 (a VM's subnet is a small part of the cluster) and at most 30",
    ]);
    expect(problems({ ...aws, clusterCIDR: '10.0.0.0/8', subnetLen: 9 })).toEqual([]);
    expect(problems({ ...aws, clusterCIDR: '10.0.0.0/8', subnetLen: 30 })).toEqual([]);
  });
});

// Issue 12 item 2: the default (or a relative) store.path resolved from another working directory was an empty store.
describe('store.path is anchored to the config file, not the working directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'routesync-anchor-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const base = 'cluster: prod\nclusterCIDR: 172.16.0.0/16\nprovider: {type: aws, region: us-east-1, vpcId: vpc-1}\n';

  it('the default and a relative path resolve next to the config file, whatever the cwd; an absolute one is kept', () => {
    mkdirSync(join(dir, 'etc'), { recursive: true });
    const file = join(dir, 'etc', 'routesync.yaml');
    writeFileSync(file, base);
    for (const cwd of [dir, tmpdir(), '/']) {
      expect(anchorStorePath(parseConfigText(base, file), file, cwd).store.path).toBe(
        join(dir, 'etc', '.routesync', 'state.json'),
      );
    }
    const rel = `${base}store: {type: file, path: data/state.json}\n`;
    expect(anchorStorePath(parseConfigText(rel, file), file, '/').store.path).toBe(
      join(dir, 'etc', 'data', 'state.json'),
    );
    const abs = `${base}store: {type: file, path: /var/lib/routesync/state.json}\n`;
    expect(anchorStorePath(parseConfigText(abs, file), file, '/').store.path).toBe('/var/lib/routesync/state.json');
    // A relative config path is taken from the cwd, as typed; the store then follows the file.
    expect(anchorStorePath(parseConfigText(base, 'etc/routesync.yaml'), 'etc/routesync.yaml', dir).store.path).toBe(
      join(dir, 'etc', '.routesync', 'state.json'),
    );
    writeFileSync(join(dir, 'etc', 'loaded.yaml'), base);
    expect(loadConfig(join(dir, 'etc', 'loaded.yaml')).store.path).toBe(join(dir, 'etc', '.routesync', 'state.json'));
  });

  it('refuses, naming both files, when the state file exists only where earlier versions looked (the cwd)', () => {
    const cfgDir = join(dir, 'conf');
    const work = join(dir, 'work');
    mkdirSync(cfgDir, { recursive: true });
    mkdirSync(join(work, '.routesync'), { recursive: true });
    writeFileSync(join(work, '.routesync', 'state.json'), '{"version":1,"allocations":[],"released":[]}\n');
    const file = join(cfgDir, 'routesync.yaml');
    const p = problemsOf(() => anchorStorePath(parseConfigText(base, file), file, work));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^store\.path: /);
    expect(p[0]).toContain(join(cfgDir, '.routesync', 'state.json'));
    expect(p[0]).toContain(join(work, '.routesync', 'state.json'));
    // Once the file is where the config says, the stray one in the cwd no longer matters.
    mkdirSync(join(cfgDir, '.routesync'), { recursive: true });
    writeFileSync(join(cfgDir, '.routesync', 'state.json'), '{"version":1,"allocations":[],"released":[]}\n');
    expect(anchorStorePath(parseConfigText(base, file), file, work).store.path).toBe(
      join(cfgDir, '.routesync', 'state.json'),
    );
  });

  it('leaves etcd and memory stores alone', () => {
    const c = parseConfigText(`${base}store: {type: memory}\n`, 'x.yaml');
    expect(anchorStorePath(c, '/nowhere/x.yaml').store.path).toBeUndefined();
  });
});
