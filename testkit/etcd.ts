// A real etcd for tests: /usr/bin/etcd (or etcd on PATH) on 127.0.0.1 with free ports and a temp data
// dir. Missing binary is an error with the install command: a silent skip would hide the etcd tests.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import type { TlsFiles } from './tls.ts';

export interface EtcdServer {
  endpoints: string[];
  dataDir: string;
  /** Graceful stop (SIGTERM); the data dir stays until stop({ keepData: false }) or process exit. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
  /** Starts again on the same ports and data. */
  restart(): Promise<void>;
  /** SIGKILL, data kept: for crash tests. */
  kill(): Promise<void>;
  /**
   * SIGSTOP: a frozen etcd (the kernel still accepts connections, nothing answers). Resolves once every
   * thread is stopped: delivery to a busy Go process is not instant. Undo with resume(), in a finally.
   */
  pause(): Promise<void>;
  /** SIGCONT after pause(). */
  resume(): void;
}

export function findEtcd(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('etcd not found on PATH; install it with: apt-get install -y etcd-server');
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function healthy(url: string, tls?: TlsFiles): Promise<boolean> {
  return new Promise((resolve) => {
    const u = new URL('/health', url);
    const opts = tls
      ? { ca: readFileSync(tls.ca), cert: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey) }
      : {};
    const req = (tls ? httpsRequest : httpRequest)(u, { ...opts, timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('"health":"true"')));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function startEtcd(opts: { tls?: TlsFiles } = {}): Promise<EtcdServer> {
  const bin = findEtcd();
  const dataDir = mkdtempSync(join(tmpdir(), 'routesync-etcd-'));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const scheme = opts.tls ? 'https' : 'http';
  const clientUrl = `${scheme}://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name',
    'test',
    '--data-dir',
    join(dataDir, 'data'),
    '--listen-client-urls',
    clientUrl,
    '--advertise-client-urls',
    clientUrl,
    '--listen-peer-urls',
    peerUrl,
    '--initial-advertise-peer-urls',
    peerUrl,
    '--initial-cluster',
    `test=${peerUrl}`,
    '--initial-cluster-state',
    'new',
    '--log-level',
    'error',
    '--logger',
    'zap',
  ];
  if (opts.tls)
    args.push(
      '--cert-file',
      opts.tls.serverCert,
      '--key-file',
      opts.tls.serverKey,
      '--trusted-ca-file',
      opts.tls.ca,
      '--client-cert-auth',
    );

  let child: ChildProcess | undefined;
  let stderr = '';
  const launch = async () => {
    stderr = '';
    const c = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    c.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (c.exitCode !== null) throw new Error(`etcd exited with ${c.exitCode}: ${stderr}`);
      if (await healthy(clientUrl, opts.tls)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    c.kill('SIGKILL');
    throw new Error(`etcd did not become healthy on ${clientUrl} within 20s: ${stderr}`);
  };
  const waitExit = (c: ChildProcess, signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill(signal);
    });

  await launch();
  const server: EtcdServer = {
    endpoints: [clientUrl],
    dataDir,
    async stop({ keepData = false } = {}) {
      if (child) await waitExit(child, 'SIGTERM');
      child = undefined;
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
    async restart() {
      if (child) await waitExit(child, 'SIGTERM');
      await launch();
    },
    async kill() {
      if (child) await waitExit(child, 'SIGKILL');
      child = undefined;
    },
    async pause() {
      const pid = child?.pid;
      if (pid === undefined) return;
      child?.kill('SIGSTOP');
      const stopped = () =>
        readdirSync(`/proc/${pid}/task`).every((t) => {
          try {
            // Field 3 of stat is the state; the name in field 2 is in parentheses and may hold spaces.
            const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
            return /^[TtXZ]/.test(stat.slice(stat.lastIndexOf(')') + 2));
          } catch {
            return true; // the thread is gone
          }
        });
      const deadline = Date.now() + 5000;
      while (!stopped()) {
        if (Date.now() > deadline) throw new Error(`etcd pid ${pid} did not stop within 5 s of SIGSTOP`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    resume() {
      child?.kill('SIGCONT');
    },
  };
  // Never leave an etcd behind when the test process dies early.
  process.once('exit', () => child?.kill('SIGKILL'));
  return server;
}
