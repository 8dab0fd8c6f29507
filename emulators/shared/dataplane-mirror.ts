// The emulated route table made real: a network namespace's kernel routes follow one table of an emulator
// (create → `ip route replace DEST via <the target VM's private IP>`, a blackhole → `blackhole DEST`,
// delete → `ip route del`), so packets go where routesync's routes send them. For tests and the demo on a
// machine with root; it only ever touches the routes it installed itself in that namespace.
import { spawn } from 'node:child_process';
import type { CloudEmulator } from './types.ts';

export interface MirrorOptions {
  /** The namespace playing the VPC router. */
  netns: string;
  /** The table to mirror; default the first one the emulator lists (AWS: the main table). */
  table?: string;
  /** How often the emulator's state is looked at. Default 100 ms. */
  intervalMs?: number;
  /** Told about each failed `ip` run (the mirror keeps going and retries the change on the next look). */
  onError?: (e: Error) => void;
}

interface AdminState {
  instances: Array<{ id: string; privateIp: string; state: string }>;
  tables: Array<{ id: string; routes: Array<{ destination: string; target: string | null; state: string }> }>;
}

export interface RouteMirror {
  /** Resolves after the next look has been applied to the kernel. */
  synced(): Promise<void>;
  /** Kernel routes installed now: destination → `via IP` or `blackhole`. */
  routes(): ReadonlyMap<string, string>;
  /** Stops looking and removes every route it installed. */
  stop(): Promise<void>;
}

function ipBatch(netns: string, lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    // -force: one refused line (a route someone else removed already) must not skip the others.
    const child = spawn('ip', ['-n', netns, '-force', '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    // The namespace may be gone (torn down): the exit code reports it, not an EPIPE on stdin.
    child.stdin.on('error', () => undefined);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`ip -n ${netns} -batch: ${err.trim().split('\n')[0] ?? `exit ${code}`}`)),
    );
    child.stdin.end(`${lines.join('\n')}\n`);
  });
}

/** What the kernel should hold for the table: destination → `via IP` | `blackhole`. */
export function wantedRoutes(state: AdminState, table?: string): Map<string, string> {
  const t = table === undefined ? state.tables[0] : state.tables.find((x) => x.id === table);
  const ips = new Map(state.instances.filter((i) => i.state !== 'terminated').map((i) => [i.id, i.privateIp]));
  const out = new Map<string, string>();
  for (const r of t?.routes ?? []) {
    if (r.state === 'pending' || r.target === null) continue;
    const ip = ips.get(r.target);
    out.set(r.destination, r.state === 'blackhole' || ip === undefined ? 'blackhole' : `via ${ip}`);
  }
  return out;
}

export function startRouteMirror(cloud: CloudEmulator, opts: MirrorOptions): RouteMirror {
  const installed = new Map<string, string>();
  let stopped = false;
  let waiters: Array<() => void> = [];
  let timer: NodeJS.Timeout | undefined;

  async function look(): Promise<void> {
    const want = wantedRoutes(cloud.admin.state() as AdminState, opts.table);
    const lines: string[] = [];
    for (const [dest, how] of want) {
      if (installed.get(dest) !== how)
        lines.push(how === 'blackhole' ? `route replace blackhole ${dest}` : `route replace ${dest} ${how}`);
    }
    for (const dest of installed.keys()) if (!want.has(dest)) lines.push(`route del ${dest}`);
    if (lines.length > 0) {
      try {
        await ipBatch(opts.netns, lines);
        installed.clear();
        for (const [d, h] of want) installed.set(d, h);
      } catch (e) {
        // A delete that failed found the route gone already; changes still due are retried next look.
        for (const dest of [...installed.keys()]) if (!want.has(dest)) installed.delete(dest);
        opts.onError?.(e as Error);
      }
    }
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  }

  const loop = async () => {
    if (stopped) return;
    await look();
    if (!stopped) timer = setTimeout(() => void loop(), opts.intervalMs ?? 100);
  };
  void loop();

  return {
    synced: () => new Promise<void>((resolve) => waiters.push(resolve)),
    routes: () => installed,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      const lines = [...installed.keys()].map((d) => `route del ${d}`);
      installed.clear();
      if (lines.length > 0) await ipBatch(opts.netns, lines).catch(() => undefined);
      for (const f of waiters) f();
      waiters = [];
    },
  };
}
