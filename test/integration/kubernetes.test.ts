// The Kubernetes example must hang together without a cluster: every reference between manifests
// resolves, the pod is locked down, the embedded routesync config passes the project's own schema, the RBAC
// grants what Kubernetes mode calls and nothing more, and the real `kubectl kustomize` renders it all into
// the namespace — the default (no etcd) and the etcd overlay (examples/kubernetes-etcd).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseConfigText } from '../../src/config.ts';
import { recordName } from '../../src/store/kubernetes/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIR = join(ROOT, 'examples/kubernetes');
const KUBECTL = '/usr/bin/kubectl';

// Manifests are free-form YAML; these tests walk them by key, so a loose record type is the honest shape.
// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML walked by key; a wrong guess fails the assertion
type Obj = Record<string, any>;

function loadDocs(text: string, source: string): Obj[] {
  return parseAllDocuments(text).flatMap((d) => {
    if (d.errors.length > 0) throw new Error(`${source}: ${d.errors[0]!.message}`);
    const v = d.toJS() as Obj | null;
    return v === null ? [] : [v];
  });
}

const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
const manifests = files.flatMap((f) =>
  loadDocs(readFileSync(join(DIR, f), 'utf8'), f).map((doc) => ({ file: f, doc })),
);
const docs = manifests.map((m) => m.doc);
const kustomization = loadDocs(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8'), 'kustomization.yaml')[0]!;

function one(kind: string, name?: string): Obj {
  const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata?.name === name));
  expect(found.length, `exactly one ${kind}${name ? ` ${name}` : ''}`).toBe(1);
  return found[0]!;
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

const deployment = one('Deployment');
const pod = deployment.spec.template.spec as Obj;
const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
const container = (pod.containers as Obj[]).find((c) => c.name === 'routesync')!;

describe('Kubernetes manifests', () => {
  it('every file parses and every object has apiVersion, kind and a name', () => {
    expect(manifests.length).toBeGreaterThan(0);
    for (const { file, doc } of manifests) {
      expect(doc.apiVersion, file).toEqual(expect.any(String));
      expect(doc.kind, file).toEqual(expect.any(String));
      expect(doc.metadata?.name, file).toEqual(expect.any(String));
    }
  });

  it('has the expected kinds', () => {
    const kinds = docs.map((d) => `${d.apiVersion}/${d.kind}`).sort();
    expect(kinds).toEqual(
      [
        'v1/Namespace',
        'v1/ServiceAccount',
        'rbac.authorization.k8s.io/v1/ClusterRole',
        'rbac.authorization.k8s.io/v1/ClusterRoleBinding',
        'rbac.authorization.k8s.io/v1/Role',
        'rbac.authorization.k8s.io/v1/RoleBinding',
        'v1/ConfigMap',
        'v1/Secret',
        'apps/v1/Deployment',
        'policy/v1/PodDisruptionBudget',
        'v1/Service',
        'monitoring.coreos.com/v1/ServiceMonitor',
        'monitoring.coreos.com/v1/PrometheusRule',
      ].sort(),
    );
  });

  it('kustomization lists every manifest file and sets the namespace', () => {
    expect(new Set(kustomization.resources)).toEqual(new Set(files));
    expect(kustomization.namespace).toBe(one('Namespace').metadata.name);
  });

  it('Deployment: two replicas, selector matching its pods, never below one during a rollout', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(selects(deployment.spec.selector.matchLabels, podLabels)).toBe(true);
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });

  it('runs `run -c /etc/routesync/config.yaml` with the image default entrypoint', () => {
    expect(container.command).toBeUndefined();
    expect(container.args).toEqual(['run', '-c', '/etc/routesync/config.yaml']);
  });

  it('probes /readyz and /healthz on the named metrics port 9464', () => {
    const port = (container.ports as Obj[]).find((p) => p.name === 'metrics');
    expect(port?.containerPort).toBe(9464);
    expect(container.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'metrics' });
    expect(container.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 'metrics' });
  });

  it('has resource requests and limits', () => {
    for (const k of ['requests', 'limits'] as const) {
      expect(container.resources[k].cpu, k).toBeDefined();
      expect(container.resources[k].memory, k).toBeDefined();
    }
  });

  it('is locked down: non-root, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp', () => {
    // The container's setting wins over the pod's, as in the kubelet.
    const eff = (k: string): unknown => container.securityContext?.[k] ?? pod.securityContext?.[k];
    expect(eff('runAsNonRoot')).toBe(true);
    expect(eff('runAsUser')).toEqual(expect.any(Number));
    expect(eff('runAsUser')).toBeGreaterThan(0);
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(container.securityContext.capabilities.drop).toEqual(['ALL']);
    expect(container.securityContext.capabilities.add).toBeUndefined();
    expect((eff('seccompProfile') as Obj).type).toBe('RuntimeDefault');
    // The token is the API access rbac.yaml grants (Nodes, the Lease, the record ConfigMap, Events).
    expect(pod.automountServiceAccountToken).toBe(true);
  });

  it('runs on the host network (no pod gets an address before routesync writes the podCIDRs) and tolerates a not network-ready Node', () => {
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe('Default');
    const tolerated = (pod.tolerations as Obj[]).map((t) => `${t.key}:${t.effect}`);
    for (const taint of [
      'node.kubernetes.io/network-unavailable:NoSchedule',
      'node.kubernetes.io/not-ready:NoSchedule',
      'node.cloudprovider.kubernetes.io/uninitialized:NoSchedule',
    ])
      expect(tolerated).toContain(taint);
    // A Node that really died is left (the default NoExecute toleration of 300 s stays).
    expect((pod.tolerations as Obj[]).some((t) => t.effect === 'NoExecute' || t.effect === undefined)).toBe(false);
  });

  it('RBAC: least privilege — exactly what Kubernetes mode calls, bound to the pods’ ServiceAccount', () => {
    const rules = (kind: string) =>
      (one(kind, 'routesync').rules as Obj[]).map(
        (r) =>
          `${r.apiGroups.join(',')}|${r.resources.join(',')}|${(r.resourceNames ?? ['*']).join(',')}|${r.verbs.join(',')}`,
      );
    expect(rules('ClusterRole').sort()).toEqual(
      ['|nodes|*|get,list,watch,patch', '|nodes/status|*|patch', '|events|*|create,patch'].sort(),
    );
    const config = parseConfigText(one('ConfigMap', 'routesync-config').data['config.yaml'], 'configmap.yaml');
    expect(rules('Role').sort()).toEqual(
      [
        'coordination.k8s.io|leases|*|create',
        `coordination.k8s.io|leases|${config.kubernetes.lease.name}|get,update`,
        '|configmaps|*|create',
        `|configmaps|${recordName(config.cluster)}|get,update`,
      ].sort(),
    );
    for (const [binding, role] of [
      ['ClusterRoleBinding', 'ClusterRole'],
      ['RoleBinding', 'Role'],
    ] as const) {
      const b = one(binding, 'routesync');
      expect(b.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: role, name: 'routesync' });
      expect(b.subjects).toEqual([
        { kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: kustomization.namespace },
      ]);
    }
  });

  it('runs as the UID the Dockerfile sets', () => {
    const user = /^USER\s+(\d+)/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    expect(user, 'Dockerfile has a numeric USER').not.toBeNull();
    expect(container.securityContext.runAsUser ?? pod.securityContext.runAsUser).toBe(Number(user![1]));
  });

  it('spreads replicas over nodes', () => {
    const spread = (pod.topologySpreadConstraints as Obj[]).find((t) => t.topologyKey === 'kubernetes.io/hostname');
    expect(spread).toBeDefined();
    expect(selects(spread!.labelSelector.matchLabels, podLabels)).toBe(true);
  });

  it('mounts the config ConfigMap at /etc/routesync and a writable /tmp, no etcd certificate', () => {
    const volumes = new Map((pod.volumes as Obj[]).map((v) => [v.name as string, v]));
    const mounts = new Map((container.volumeMounts as Obj[]).map((m) => [m.mountPath as string, m]));
    const config = volumes.get(mounts.get('/etc/routesync')!.name)!;
    expect(one('ConfigMap', config.configMap.name).data['config.yaml']).toEqual(expect.any(String));
    expect([...mounts.keys()].sort()).toEqual(['/etc/routesync', '/tmp']);
    const tmp = volumes.get(mounts.get('/tmp')!.name)!;
    expect(tmp.emptyDir).toBeDefined();
    expect(mounts.get('/tmp')!.readOnly).not.toBe(true);
    // Every volume and every mount refers to something that exists.
    for (const m of mounts.values()) expect(volumes.has(m.name), `volume ${m.name}`).toBe(true);
    for (const v of volumes.values()) {
      if (v.configMap) one('ConfigMap', v.configMap.name);
      if (v.secret) one('Secret', v.secret.secretName);
    }
  });

  it('reads cloud credentials from an optional Secret that ships with empty values', () => {
    const refs = (container.envFrom as Obj[]).filter((e) => e.secretRef);
    expect(refs.length).toBeGreaterThan(0);
    for (const r of refs) {
      expect(r.secretRef.optional).toBe(true);
      const secret = one('Secret', r.secretRef.name);
      for (const [k, v] of Object.entries({ ...secret.stringData, ...secret.data })) expect(v, k).toBe('');
    }
    for (const s of docs.filter((d) => d.kind === 'Secret')) {
      for (const [k, v] of Object.entries({ ...s.stringData, ...s.data }))
        expect(v, `${s.metadata.name}.${k}`).toBe('');
    }
  });

  it('uses the ServiceAccount that exists', () => {
    one('ServiceAccount', pod.serviceAccountName);
  });

  it('the embedded config is valid for the project schema: Kubernetes mode, no etcd', () => {
    const configMap = one('ConfigMap');
    const mount = (container.volumeMounts as Obj[]).find((m) => m.mountPath === '/etc/routesync')!;
    const volume = (pod.volumes as Obj[]).find((v) => v.name === mount.name)!;
    expect(volume.configMap.name).toBe(configMap.metadata.name);
    // The args name /etc/routesync/config.yaml: the key must be config.yaml.
    const config = parseConfigText(configMap.data['config.yaml'], 'configmap.yaml config.yaml');
    expect(config.provider.type).toBe('aws');
    expect(config.store.type).toBe('kubernetes');
    expect(config.inventory.source).toBe('kubernetes');
    expect(config.kubernetes.podCIDR).toBe('allocate');
    // client-go's timings; the namespace is the pod's (the service account's), so the file names none.
    expect(config.kubernetes.lease).toMatchObject({ leaseDuration: 15_000, renewDeadline: 10_000, retryPeriod: 2_000 });
    expect(config.kubernetes.namespace).toBeUndefined();
    // The probes and Service reach what the config listens on.
    expect(config.metrics.listen).toMatch(/^(0\.0\.0\.0|\[::\]):9464$/);
  });

  it('PDB keeps one replica and selects the pods', () => {
    const pdb = one('PodDisruptionBudget');
    expect(pdb.spec.minAvailable).toBe(1);
    expect(selects(pdb.spec.selector.matchLabels, podLabels)).toBe(true);
  });

  it('Service selects the pods and targets the container port name', () => {
    const svc = one('Service');
    expect(selects(svc.spec.selector, podLabels)).toBe(true);
    const port = (svc.spec.ports as Obj[]).find((p) => p.name === 'metrics')!;
    expect(port.port).toBe(9464);
    expect((container.ports as Obj[]).some((p) => p.name === port.targetPort)).toBe(true);
  });

  it('ServiceMonitor selects the Service and scrapes its metrics port', () => {
    const sm = one('ServiceMonitor');
    const svc = one('Service');
    expect(selects(sm.spec.selector.matchLabels, svc.metadata.labels)).toBe(true);
    const names = (svc.spec.ports as Obj[]).map((p) => p.name);
    for (const ep of sm.spec.endpoints as Obj[]) {
      expect(names).toContain(ep.port);
      expect(ep.path ?? '/metrics').toBe('/metrics');
    }
    // Selecting the pods' Service, not something else that happens to share labels.
    expect(
      docs.filter((d) => d.kind === 'Service' && selects(sm.spec.selector.matchLabels, d.metadata.labels ?? {})).length,
    ).toBe(1);
  });

  it('kubectl kustomize renders every object into the namespace', () => {
    const r = spawnSync(KUBECTL, ['kustomize', DIR], { encoding: 'utf8', timeout: 60_000 });
    expect(r.error, `${KUBECTL} must be installed`).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const rendered = loadDocs(r.stdout, 'kubectl kustomize output');
    expect(rendered.map((d) => d.kind).sort()).toEqual(docs.map((d) => d.kind).sort());
    const ns = kustomization.namespace as string;
    for (const d of rendered) {
      if (d.kind === 'Namespace') expect(d.metadata.name).toBe(ns);
      else if (d.kind === 'ClusterRole' || d.kind === 'ClusterRoleBinding')
        expect(d.metadata.namespace).toBeUndefined();
      else expect(d.metadata.namespace, `${d.kind}/${d.metadata.name}`).toBe(ns);
    }
    const image = rendered.find((d) => d.kind === 'Deployment')!.spec.template.spec.containers[0].image as string;
    const override = (kustomization.images as Obj[])[0]!;
    expect(image).toBe(`${override.newName}:${override.newTag}`);
  });
});

describe('the etcd variant (examples/kubernetes-etcd, an overlay of examples/kubernetes)', () => {
  const r = spawnSync(KUBECTL, ['kustomize', join(ROOT, 'examples/kubernetes-etcd')], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  const rendered = r.status === 0 ? loadDocs(r.stdout, 'kubectl kustomize examples/kubernetes-etcd') : [];
  const find = (kind: string, name?: string) =>
    rendered.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));

  it('renders, with no RBAC and no API token: routesync does not call the Kubernetes API there', () => {
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(rendered.filter((d) => d.apiVersion.startsWith('rbac.'))).toEqual([]);
    expect(find('ServiceAccount')[0]!.automountServiceAccountToken).toBe(false);
    expect(find('Deployment')[0]!.spec.template.spec.automountServiceAccountToken).toBe(false);
  });

  it('its config uses etcd with the TLS files the Deployment mounts from the Secret it ships', () => {
    const cm = find('ConfigMap', 'routesync-config');
    expect(cm.length).toBe(1);
    const config = parseConfigText(cm[0]!.data['config.yaml'], 'kubernetes-etcd configmap.yaml');
    expect(config.store.type).toBe('etcd');
    expect(config.inventory.source).toBe('cloud');
    expect(config.store.endpoints?.length).toBeGreaterThan(0);
    const p = find('Deployment')[0]!.spec.template.spec as Obj;
    const c = (p.containers as Obj[]).find((x) => x.name === 'routesync')!;
    const mount = (c.volumeMounts as Obj[]).find((m) => m.mountPath === '/etc/routesync/etcd-tls')!;
    const dirOf = mount.mountPath as string;
    expect(config.store.tls).toEqual({ ca: `${dirOf}/ca.crt`, cert: `${dirOf}/tls.crt`, key: `${dirOf}/tls.key` });
    const vol = (p.volumes as Obj[]).find((v) => v.name === mount.name)!;
    const secret = find('Secret', vol.secret.secretName);
    expect(secret.length).toBe(1);
    for (const f of Object.values(config.store.tls!))
      expect(Object.keys(secret[0]!.stringData)).toContain(f!.slice(dirOf.length + 1));
    // Still the base's pod otherwise: the config mount and /tmp are there.
    expect((c.volumeMounts as Obj[]).map((m) => m.mountPath).sort()).toEqual([
      '/etc/routesync',
      '/etc/routesync/etcd-tls',
      '/tmp',
    ]);
  });
});
