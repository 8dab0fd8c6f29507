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
