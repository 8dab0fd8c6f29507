// Network namespaces for tests: every namespace a test makes carries a per-test random prefix (`rsNNNN-`),
// and teardown (in afterAll / finally, also after a failure) kills the processes started in them and
// deletes the namespaces, which removes every veth and bridge inside. Interfaces are only ever created
// inside the test's namespaces, never in the machine's own, so interface names need no prefix.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export function requireNetns(): void {
  if (process.getuid?.() !== 0)
    throw new Error('network-namespace tests need root (CI runs as root): run npm test as root');
  try {
    execFileSync('sh', ['-c', 'command -v ip && command -v iptables-restore'], { stdio: 'ignore' });
  } catch {
    throw new Error('ip and iptables-restore not found; install them with: apt-get install -y iproute2 iptables');
  }
}

export class NetnsKit {
  readonly prefix: string;
  private readonly made: string[] = [];
  private readonly children = new Set<ChildProcess>();

  constructor() {
    requireNetns();
    this.prefix = `rs${randomBytes(3).toString('hex')}`;
    // Last resort when a worker dies before its afterAll: no namespace outlives the test process.
    process.once('exit', () => this.deleteAll());
  }

  private deleteAll(): void {
    for (const ns of this.made.splice(0)) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // Already gone (a test removed it): nothing left to clean.
      }
    }
  }

  /** Creates `<prefix>-<name>` with loopback up; returns its full name. */
  add(name: string): string {
    const ns = `${this.prefix}-${name}`;
    execFileSync('ip', ['netns', 'add', ns]);
    this.made.push(ns);
    this.ip(ns, 'link set lo up');
    return ns;
  }

  /** `ip -n NS …` (args split on spaces). */
  ip(ns: string, args: string): string {
    return execFileSync('ip', ['-n', ns, ...args.split(' ')], { encoding: 'utf8' });
  }

  /** Runs a command inside the namespace and returns stdout; throws with stderr on failure. */
  exec(ns: string, argv: readonly string[], input?: string): string {
    try {
      return execFileSync('ip', ['netns', 'exec', ns, ...argv], {
        encoding: 'utf8',
        input: input ?? '',
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`${argv.join(' ')} in ${ns}: ${(err.stderr ?? err.message).trim()}`);
    }
  }

  /** A long-running process inside the namespace, killed at teardown. */
  spawn(ns: string, argv: readonly string[], opts: { env?: NodeJS.ProcessEnv; stdin?: boolean } = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** A veth pair from `a` (named `aIf`) to `b` (named `bIf`). */
  veth(a: string, aIf: string, b: string, bIf: string): void {
    this.ip(a, `link add ${aIf} type veth peer name ${bIf} netns ${b}`);
    this.ip(a, `link set ${aIf} up`);
    this.ip(b, `link set ${bIf} up`);
  }

  sysctl(ns: string, key: string, value: string): void {
    this.exec(ns, ['sysctl', '-qw', `${key}=${value}`]);
  }

  async teardown(): Promise<void> {
    await Promise.all(
      [...this.children].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
            setTimeout(resolve, 2000).unref();
          }),
      ),
    );
    this.deleteAll();
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command in a namespace without blocking the test's event loop (in-process emulators keep serving). */
export function runIn(ns: string, argv: readonly string[], timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
