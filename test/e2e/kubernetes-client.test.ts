// Where the Kubernetes client's config comes from (src/kubernetes/client.ts), against the API emulator over
// TLS with bearer tokens: an explicit kubeconfig, $KUBECONFIG (a merged list), the pod's service account
// (the token file read per request, its namespace) — and a clear one-line error when none is there. Also the
// per-call options: a deadline that ends a request the server holds, a patch content type.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeEmulator, type RunningKubeEmulator } from '../../emulators/kubernetes/server.ts';
import { openNodeSource } from '../../src/agent/node-source.ts';
import { apiCode, apiMessage, KubeConfigError, openKubeClient } from '../../src/kubernetes/client.ts';
import { makeTls, type TlsFiles } from '../../testkit/tls.ts';

const TOKEN = 'sa-token-1';
let emu: RunningKubeEmulator;
let tls: TlsFiles;
let dir: string;

beforeAll(async () => {
  tls = makeTls();
  emu = await startKubeEmulator({
    tokens: [TOKEN],
    nodes: [{ name: 'n1', podCIDR: '10.244.1.0/24' }],
    timeoutFaultMs: 5_000,
    tls: {
      cert: readFileSync(tls.serverCert, 'utf8'),
      key: readFileSync(tls.serverKey, 'utf8'),
      ca: readFileSync(tls.ca, 'utf8'),
    },
  });
  dir = mkdtempSync(join(tmpdir(), 'k8s-client-'));
  writeFileSync(join(dir, 'kubeconfig'), emu.kubeconfig({ token: TOKEN, namespace: 'from-file' }));
  writeFileSync(join(dir, 'wrong-token'), emu.kubeconfig({ token: 'nope' }));
});

afterAll(async () => {
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (tls) rmSync(tls.dir, { recursive: true, force: true });
});

function serviceAccount(token: string, namespace?: string): string {
  const sa = mkdtempSync(join(dir, 'sa-'));
  writeFileSync(join(sa, 'token'), token);
  writeFileSync(join(sa, 'ca.crt'), readFileSync(tls.ca));
  if (namespace) writeFileSync(join(sa, 'namespace'), `${namespace}\n`);
  return sa;
}

const podEnv = () => ({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(emu.port) });

describe('openKubeClient', () => {
  it('an explicit kubeconfig wins over $KUBECONFIG and the service account', async () => {
    const kube = await openKubeClient({
      kubeconfig: join(dir, 'kubeconfig'),
      env: { KUBECONFIG: join(dir, 'wrong-token'), ...podEnv() },
    });
    expect(kube.source).toBe(`--kubeconfig ${join(dir, 'kubeconfig')}`);
    expect(kube.namespace).toBe('from-file');
    expect(kube.server).toBe(emu.url);
    expect((await kube.core.readNode({ name: 'n1' })).spec?.podCIDR).toBe('10.244.1.0/24');
  });

  it('$KUBECONFIG is a path list, merged with the first file’s context current', async () => {
    const other = join(dir, 'other');
    writeFileSync(other, emu.kubeconfig({ token: 'nope' }).replaceAll('routesync-emulator', 'second'));
    const kube = await openKubeClient({ env: { KUBECONFIG: `${join(dir, 'kubeconfig')}:${other}` } });
    expect(kube.source).toBe('KUBECONFIG');
    expect(kube.config.getContexts().map((c) => c.name)).toEqual(['routesync-emulator', 'second']);
    expect((await kube.core.listNode()).items.map((n) => n.metadata?.name)).toEqual(['n1']);
  });

  it('in a pod: the service account’s token, CA and namespace; the token authenticates', async () => {
    const sa = serviceAccount(TOKEN, 'routesync-system');
    const kube = await openKubeClient({ env: podEnv(), serviceAccountDir: sa });
    expect(kube.source).toBe('in-cluster');
    expect(kube.namespace).toBe('routesync-system');
    expect((await kube.core.readNode({ name: 'n1' })).metadata?.name).toBe('n1');
    // The token is what authenticates: the same mount with a token the server does not know is refused.
    const revoked = await openKubeClient({ env: podEnv(), serviceAccountDir: serviceAccount('revoked') });
    expect(revoked.namespace).toBeUndefined();
    const code = await revoked.core.readNode({ name: 'n1' }).then(
      () => 200,
      (e: unknown) => apiCode(e),
    );
    expect(code).toBe(401);
  });

  it('no config anywhere, a missing file, a broken kubeconfig: one line naming what to fix', async () => {
    const none = openKubeClient({ env: {}, serviceAccountDir: join(dir, 'absent') });
    await expect(none).rejects.toThrow(KubeConfigError);
    await expect(none).rejects.toThrow(/no --kubeconfig, no KUBECONFIG and not in a pod/);
    await expect(openKubeClient({ env: podEnv(), serviceAccountDir: join(dir, 'absent') })).rejects.toThrow(
      `kubernetes: in-cluster service account: ${join(dir, 'absent', 'token')} is missing`,
    );
    await expect(openKubeClient({ kubeconfig: join(dir, 'missing'), env: {} })).rejects.toThrow(
      new RegExp(`^--kubeconfig: cannot load ${join(dir, 'missing')}: .*ENOENT`),
    );
    writeFileSync(join(dir, 'garbage'), 'clusters: [: nope');
    const bad = openKubeClient({ kubeconfig: join(dir, 'garbage'), field: 'agent.identity.kubeconfig', env: {} });
    await expect(bad).rejects.toThrow(/^agent\.identity\.kubeconfig: cannot load /);
    await expect(bad).rejects.not.toThrow(/\n/);
    await expect(openKubeClient({ env: { KUBECONFIG: join(dir, 'missing') } })).rejects.toThrow(/^KUBECONFIG: /);
  });

  it('a call deadline ends a request the server holds; errors read as one line', async () => {
    const kube = await openKubeClient({ kubeconfig: join(dir, 'kubeconfig') });
    await fetchAdmin('POST', 'faults', { action: 'get:nodes', rate: 1, error: 'timeout', count: 1 });
    const t0 = Date.now();
    const err = await kube.core.readNode({ name: 'n1' }, kube.options({ timeoutMs: 300 })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeDefined();
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(apiCode(err)).toBeUndefined();
    const missing = await kube.core.readNode({ name: 'nope' }).catch((e: unknown) => e);
    expect(apiMessage(missing)).toBe('HTTP 404: nodes "nope" not found');
  });

  it('a patch content type per call: merge patch applied as merge patch', async () => {
    const kube = await openKubeClient({ kubeconfig: join(dir, 'kubeconfig') });
    const n = await kube.core.patchNode(
      { name: 'n1', body: { metadata: { labels: { 'routesync.io/test': 'yes' } } } },
      kube.options({ contentType: 'application/merge-patch+json', timeoutMs: 5_000 }),
    );
    expect(n.metadata?.labels?.['routesync.io/test']).toBe('yes');
    expect(n.metadata?.labels?.['kubernetes.io/hostname']).toBe('n1');
  });

  it('the agent’s Node source reads through the same client', async () => {
    const nodes = await openNodeSource(join(dir, 'kubeconfig'));
    expect(await nodes.podCIDR('n1')).toBe('10.244.1.0/24');
    await expect(nodes.podCIDR('gone')).rejects.toThrow('Node gone not found in the API');
    await expect(openNodeSource(join(dir, 'missing'))).rejects.toThrow(/^agent\.identity\.kubeconfig: cannot load/);
  });
});

async function fetchAdmin(method: string, path: string, body: unknown): Promise<void> {
  const { request } = await import('node:https');
  await new Promise<void>((done, fail) => {
    const req = request(`${emu.url}/_emulator/${path}`, { method, ca: readFileSync(tls.ca) }, (res) => {
      res.resume();
      res.on('end', () => done());
    });
    req.on('error', fail);
    req.end(JSON.stringify(body));
  });
}
