// The Kubernetes client reuses its connections (src/kubernetes/client.ts shareDispatchers): client-node 2.0
// alone opens a new connection — a TLS handshake — for every API call and leaves each open until its
// keep-alive ends. Counted at a TCP relay in front of the API emulator, over TLS with a CA (in-cluster's
// case) and over http with insecure-skip-tls-verify (the emulator's kubeconfig).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startKubeEmulator, type RunningKubeEmulator } from '../../emulators/kubernetes/server.ts';
import { openKubeClient } from '../../src/kubernetes/client.ts';
import { makeTls, type TlsFiles } from '../../testkit/tls.ts';

/** A TCP relay to `port` that counts the connections it accepted. */
async function relay(port: number): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((down) => {
    accepted++;
    const up = createConnection({ host: '127.0.0.1', port });
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    down.pipe(up);
    up.pipe(down);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

let tls: TlsFiles;
let dir: string;
beforeAll(() => {
  tls = makeTls();
  dir = mkdtempSync(join(tmpdir(), 'k8s-conns-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (tls) rmSync(tls.dir, { recursive: true, force: true });
});

describe.each([
  ['TLS with a CA', true],
  ['http with insecure-skip-tls-verify', false],
] as const)('Kubernetes client connections, %s', (_, useTls) => {
  let emu: RunningKubeEmulator | undefined;
  let r: Awaited<ReturnType<typeof relay>> | undefined;
  afterEach(async () => {
    await r?.close();
    await emu?.close();
  });

  it('30 API calls in a row go over one connection, not one each', async () => {
    emu = await startKubeEmulator({
      tokens: ['t'],
      nodes: [{ name: 'n1' }],
      ...(useTls
        ? {
            tls: {
              cert: readFileSync(tls.serverCert, 'utf8'),
              key: readFileSync(tls.serverKey, 'utf8'),
              ca: readFileSync(tls.ca, 'utf8'),
            },
          }
        : {}),
    });
    r = await relay(emu.port);
    const kc = join(dir, `kc-${useTls}`);
    writeFileSync(kc, emu.kubeconfig({ token: 't' }).replace(`:${emu.port}`, `:${r.port}`));
    const kube = await openKubeClient({ kubeconfig: kc, env: {} });
    for (let i = 0; i < 20; i++) {
      const n = await kube.core.readNode({ name: 'n1' }, kube.options({ timeoutMs: 5000 }));
      expect(n.metadata?.name).toBe('n1');
    }
    for (let i = 0; i < 10; i++) await kube.core.listNode({ limit: 500 });
    expect(emu.counters.snapshot().byAction['get:nodes']?.ok).toBe(20);
    // Sequential calls on a keep-alive connection: one, or two should the server close one between calls.
    expect(r.accepted()).toBeLessThanOrEqual(2);
  });
});
