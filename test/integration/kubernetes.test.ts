// The Kubernetes example must hang together without a cluster: every reference between manifests
// resolves, the pod is locked down, the embedded routesync config passes the project's own schema, and the
// real `kubectl kustomize` renders it all into the namespace.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseConfigText } from '../../src/config.ts';

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
        'v1/ConfigMap',
        'v1/Secret',
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
    expect(pod.automountServiceAccountToken).toBe(false);
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

  it('mounts the config ConfigMap at /etc/routesync, the etcd TLS Secret under it and a writable /tmp', () => {
    const volumes = new Map((pod.volumes as Obj[]).map((v) => [v.name as string, v]));
    const mounts = new Map((container.volumeMounts as Obj[]).map((m) => [m.mountPath as string, m]));
    const config = volumes.get(mounts.get('/etc/routesync')!.name)!;
    expect(one('ConfigMap', config.configMap.name).data['config.yaml']).toEqual(expect.any(String));
    const tls = volumes.get(mounts.get('/etc/routesync/etcd-tls')!.name)!;
    expect(one('Secret', tls.secret.secretName).type).toBe('kubernetes.io/tls');
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

  it('the embedded config is valid for the project schema and uses etcd with the mounted TLS files', () => {
    const configMap = one('ConfigMap');
    const mount = (container.volumeMounts as Obj[]).find((m) => m.mountPath === '/etc/routesync')!;
    const volume = (pod.volumes as Obj[]).find((v) => v.name === mount.name)!;
    expect(volume.configMap.name).toBe(configMap.metadata.name);
    // The args name /etc/routesync/config.yaml: the key must be config.yaml.
    const config = parseConfigText(configMap.data['config.yaml'], 'configmap.yaml config.yaml');
    expect(config.provider.type).toBe('aws');
    expect(config.store.type).toBe('etcd');
    expect(config.store.endpoints?.length).toBeGreaterThan(0);
    const tlsDir = (container.volumeMounts as Obj[]).find((m) => m.mountPath === '/etc/routesync/etcd-tls')!
      .mountPath as string;
    expect(config.store.tls).toEqual({ ca: `${tlsDir}/ca.crt`, cert: `${tlsDir}/tls.crt`, key: `${tlsDir}/tls.key` });
    const tlsKeys = Object.keys(one('Secret', 'routesync-etcd-client-tls').stringData);
    for (const f of Object.values(config.store.tls!)) expect(tlsKeys).toContain(f!.slice(tlsDir.length + 1));
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
      else expect(d.metadata.namespace, `${d.kind}/${d.metadata.name}`).toBe(ns);
    }
    const image = rendered.find((d) => d.kind === 'Deployment')!.spec.template.spec.containers[0].image as string;
    const override = (kustomization.images as Obj[])[0]!;
    expect(image).toBe(`${override.newName}:${override.newTag}`);
  });
});
