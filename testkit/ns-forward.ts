// Makes a loopback port of the test process reachable from inside a network namespace at the same
// address (127.0.0.1:PORT there), so an agent in a VM namespace reaches the emulator's metadata service
// with the URL the test uses itself. The namespace's own network is not touched.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NetnsKit } from './netns.ts';

const CHILD = fileURLToPath(new URL('./ns-forward-child.ts', import.meta.url));

export interface Forward {
  close(): Promise<void>;
}

export async function forwardIntoNetns(kit: NetnsKit, ns: string, port: number): Promise<Forward> {
  const dir = mkdtempSync(join(tmpdir(), 'rs-fwd-'));
  const path = join(dir, 'sock');
  const server: Server = createServer((s) => {
    const t = connect(port, '127.0.0.1');
    s.pipe(t).pipe(s);
    s.on('error', () => t.destroy());
    t.on('error', () => s.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  const child = kit.spawn(ns, [process.execPath, CHILD, String(port), path]);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`forwarder into ${ns} did not start`)), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`forwarder into ${ns} exited ${code}`));
    });
  });
  return {
    async close() {
      child.kill('SIGKILL');
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
