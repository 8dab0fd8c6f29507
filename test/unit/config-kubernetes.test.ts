// The `kubernetes:` section (issue 14 item 1): defaults as client-go's, one line per problem naming the
// field, `inventory.source` / `store.type` kubernetes accepted, and `--kubeconfig` on the commands that
// talk to the API winning over the file.
import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../src/config.ts';
import { applyKubeconfigFlag, UsageError } from '../../src/commands/common.ts';
import { parseLabelMatch } from '../../src/kubernetes/config.ts';
import { runCli } from '../../testkit/cli.ts';

const base = {
  cluster: 'prod',
  clusterCIDR: '10.244.0.0/16',
  provider: { type: 'gce', project: 'p', network: 'n' },
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

describe('kubernetes section', () => {
  it('fills the documented defaults (client-go lease timings)', () => {
    const c = validateConfig({ ...base, inventory: { source: 'kubernetes' }, store: { type: 'kubernetes' } });
    expect(c.inventory.source).toBe('kubernetes');
    expect(c.store.type).toBe('kubernetes');
    expect(c.kubernetes).toEqual({
      lease: { name: 'routesync', leaseDuration: 15_000, renewDeadline: 10_000, retryPeriod: 2_000 },
      podCIDR: 'allocate',
      excludeLabel: 'routesync.io/exclude=true',
    });
  });

  it('takes every field', () => {
    const c = validateConfig({
      ...base,
      inventory: { source: 'kubernetes' },
      store: { type: 'kubernetes' },
      kubernetes: {
        kubeconfig: '/etc/kube/config',
        namespace: 'kube-system',
        lease: { name: 'routesync-prod', leaseDuration: '30s', renewDeadline: '20s', retryPeriod: '4s' },
        podCIDR: 'read',
        excludeLabel: 'example.com/no-routes=yes',
      },
    });
    expect(c.kubernetes).toEqual({
      kubeconfig: '/etc/kube/config',
      namespace: 'kube-system',
      lease: { name: 'routesync-prod', leaseDuration: 30_000, renewDeadline: 20_000, retryPeriod: 4_000 },
      podCIDR: 'read',
      excludeLabel: 'example.com/no-routes=yes',
    });
  });

  it('refuses bad fields, one line each naming the field', () => {
    const p = problems({
      ...base,
      inventory: { source: 'nodes' },
      store: { type: 'configmap' },
      kubernetes: {
        namespace: 'Kube_System',
        lease: { name: 'Bad Name', leaseDuration: 'soon' },
        podCIDR: 'guess',
        excludeLabel: 'no equals sign',
        kubeConfig: '/x',
      },
    });
    expect(p).toEqual(
      expect.arrayContaining([
        'inventory.source: must be cloud or kubernetes',
        'store.type: must be one of file, etcd, kubernetes, memory',
        'kubernetes.namespace: must be a namespace name: lowercase letters, digits and -',
        'kubernetes.lease.name: must be a DNS subdomain name: lowercase letters, digits, - and .',
        'kubernetes.lease.leaseDuration: "soon" is not a duration (use e.g. 30s, 5m, 1h)',
        'kubernetes.podCIDR: must be allocate or read',
        'kubernetes.excludeLabel: "no equals sign" is not a label key=value such as routesync.io/exclude=true',
        'kubernetes.kubeConfig: unknown key',
      ]),
    );
    expect(p).toHaveLength(8);
  });

  it('checks the lease timings as client-go does, naming the fields', () => {
    expect(problems({ ...base, kubernetes: { lease: { leaseDuration: '10s', renewDeadline: '10s' } } })).toEqual([
      'kubernetes.lease.leaseDuration: must be longer than kubernetes.lease.renewDeadline (10s ≤ 10s)',
    ]);
    expect(problems({ ...base, kubernetes: { lease: { renewDeadline: '2s', retryPeriod: '2s' } } })).toEqual([
      'kubernetes.lease.renewDeadline: must be longer than 1.2 × kubernetes.lease.retryPeriod (2s ≤ 2.4s)',
    ]);
    expect(problems({ ...base, kubernetes: { lease: { leaseDuration: '15500ms' } } })).toEqual([
      'kubernetes.lease.leaseDuration: must be whole seconds (a Lease stores leaseDurationSeconds)',
    ]);
    expect(problems({ ...base, kubernetes: { lease: { retryPeriod: '0s', renewDeadline: '10s' } } })).toEqual([
      'kubernetes.lease.retryPeriod: must be positive',
    ]);
  });

  it('podCIDR read needs the Nodes as inventory and as the allocation record (store.type kubernetes)', () => {
    const store = { type: 'kubernetes' };
    expect(problems({ ...base, store, kubernetes: { podCIDR: 'read' } })).toEqual([
      'kubernetes.podCIDR: read needs inventory.source kubernetes (the podCIDRs are read from the Nodes)',
    ]);
    expect(problems({ ...base, store, inventory: { source: 'kubernetes' }, kubernetes: { podCIDR: 'read' } })).toEqual(
      [],
    );
    for (const type of ['file', 'etcd'])
      expect(
        problems({
          ...base,
          inventory: { source: 'kubernetes' },
          kubernetes: { podCIDR: 'read' },
          store: { type, ...(type === 'etcd' ? { endpoints: ['http://127.0.0.1:2379'] } : {}) },
        }),
      ).toEqual([
        `kubernetes.podCIDR: read needs store.type kubernetes (the Nodes' podCIDRs are the allocation record; store.type ${type} would keep a second one)`,
      ]);
    // The default store is the file: read mode names it too.
    expect(problems({ ...base, inventory: { source: 'kubernetes' }, kubernetes: { podCIDR: 'read' } })).toHaveLength(1);
  });

  it('store.type kubernetes takes none of the file and etcd fields', () => {
    expect(
      problems({ ...base, store: { type: 'kubernetes', path: 'x.json', endpoints: ['http://127.0.0.1:2379'] } }),
    ).toEqual(['store.endpoints: only applies to store.type etcd', 'store.path: only applies to store.type file']);
  });

  it('label matches: keys with and without prefix, empty values, nothing else', () => {
    expect(parseLabelMatch('routesync.io/exclude=true')).toEqual({ key: 'routesync.io/exclude', value: 'true' });
    expect(parseLabelMatch('exclude=')).toEqual({ key: 'exclude', value: '' });
    for (const bad of ['=true', 'exclude', 'a/b/c=1', `x=${'v'.repeat(64)}`, 'Bad_Prefix/x=1', 'x=-v', '/x=1'])
      expect(parseLabelMatch(bad), bad).toBeUndefined();
  });
});

describe('--kubeconfig', () => {
  it('wins over kubernetes.kubeconfig and refuses an empty path', () => {
    const c = validateConfig({ ...base, kubernetes: { kubeconfig: '/from/file' } });
    expect(applyKubeconfigFlag(c, undefined).kubernetes.kubeconfig).toBe('/from/file');
    expect(applyKubeconfigFlag(c, '/from/flag').kubernetes.kubeconfig).toBe('/from/flag');
    expect(() => applyKubeconfigFlag(c, '')).toThrow(UsageError);
  });

  it('is on the commands that talk to the API', async () => {
    for (const cmd of ['run', 'reconcile', 'status', 'release']) {
      const r = await runCli([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(/--kubeconfig <file>/);
    }
  });
});
