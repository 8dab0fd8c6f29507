// The agent's examples operators copy: the DaemonSet runs on the host network with only NET_ADMIN and
// NET_RAW and an embedded config the project's own schema accepts; the systemd unit runs `routesync agent`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseConfigText } from '../../src/config.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIR = join(ROOT, 'examples/kubernetes/agent');
// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML walked by key; a wrong guess fails the assertion
type Obj = Record<string, any>;
const docs = parseAllDocuments(readFileSync(join(DIR, 'daemonset.yaml'), 'utf8')).map((d) => d.toJS() as Obj);
const ds = docs.find((d) => d.kind === 'DaemonSet')!;
const cm = docs.find((d) => d.kind === 'ConfigMap')!;
const rbac = parseAllDocuments(readFileSync(join(DIR, 'rbac.yaml'), 'utf8')).map((d) => d.toJS() as Obj);

describe('examples/kubernetes/agent', () => {
  it('DaemonSet: host network, only NET_ADMIN and NET_RAW, runs `agent -c` on the mounted config', () => {
    const pod = ds.spec.template.spec;
    expect(pod.hostNetwork).toBe(true);
    const c = pod.containers[0];
    expect(c.args).toEqual(['agent', '-c', '/etc/routesync/config.yaml']);
    expect(c.securityContext.privileged).toBeUndefined();
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] });
    expect(c.env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    expect(ds.spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': ds.spec.template.metadata.labels['app.kubernetes.io/name'],
    });
    expect(pod.volumes.find((v: Obj) => v.name === 'config').configMap.name).toBe(cm.metadata.name);
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
  });

  it('the embedded config passes the schema and serves metrics on the probed port', () => {
    const config = parseConfigText(cm.data['config.yaml'], 'daemonset.yaml ConfigMap');
    expect(config.agent.metrics.listen).toBe(`0.0.0.0:${ds.spec.template.spec.containers[0].ports[0].containerPort}`);
    expect(config.agent.subnetEnv).toBe('/run/flannel/subnet.env');
    // Kubernetes mode, as the controller's default example: the Node's spec.podCIDR is the subnet.
    expect(config.agent.identity.source).toBe('kubernetes');
    expect(ds.spec.template.spec.volumes.map((v: Obj) => v.name)).not.toContain('etcd-tls');
  });

  it('RBAC: its ServiceAccount may get Nodes (its own spec.podCIDR) and nothing else', () => {
    const pod = ds.spec.template.spec;
    const sa = rbac.find((d) => d.kind === 'ServiceAccount' && d.metadata.name === pod.serviceAccountName)!;
    expect(sa).toBeDefined();
    expect(pod.automountServiceAccountToken).toBe(true);
    const role = rbac.find((d) => d.kind === 'ClusterRole')!;
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }]);
    const binding = rbac.find((d) => d.kind === 'ClusterRoleBinding')!;
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: role.metadata.name,
    });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'routesync' }]);
    expect(rbac.map((d) => d.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ServiceAccount']);
  });

  it('the etcd variant (examples/kubernetes-etcd/agent): metadata identity, the subnet from etcd, no API access', () => {
    const text = readFileSync(join(ROOT, 'examples/kubernetes-etcd/agent/daemonset-etcd.yaml'), 'utf8');
    const d = parseAllDocuments(text).map((x) => x.toJS() as Obj);
    const config = parseConfigText(d.find((x) => x.kind === 'ConfigMap')!.data['config.yaml'], 'daemonset-etcd.yaml');
    expect(config.agent.identity.source).toBe('metadata');
    expect(config.store.type).toBe('etcd');
    expect(d.find((x) => x.kind === 'DaemonSet')!.spec.template.spec.automountServiceAccountToken).toBe(false);
    const r = spawnSync('/usr/bin/kubectl', ['kustomize', join(ROOT, 'examples/kubernetes-etcd/agent')], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('image: ghcr.io/routesync/routesync:0.1.0');
  });

  it('kubectl kustomize renders it', () => {
    const kubectl = '/usr/bin/kubectl';
    expect(existsSync(kubectl), 'kubectl is on the machine image').toBe(true);
    const r = spawnSync(kubectl, ['kustomize', DIR], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('image: ghcr.io/routesync/routesync:0.1.0');
    expect(r.stdout).toContain('namespace: routesync');
  });
});

describe('examples/systemd/routesync-agent.service', () => {
  const unit = readFileSync(join(ROOT, 'examples/systemd/routesync-agent.service'), 'utf8');
  it('runs the agent on the config file with only the two capabilities it needs', () => {
    expect(unit).toMatch(/^ExecStart=\S*routesync agent -c \/etc\/routesync\/config\.yaml$/m);
    expect(unit).toMatch(/^CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW$/m);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
  });
});
