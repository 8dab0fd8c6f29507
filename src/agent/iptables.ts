// Runs iptables-save / iptables-restore. The rule set goes in with one `iptables-restore --noflush`, so the
// kernel swaps each table's part in one transaction; a failed restore changes nothing (I7).
import { spawn } from 'node:child_process';
import { emptyRuleSet, inPlace, parseSave, restoreText, type Installed, type RuleSet } from './rules.ts';

export class IptablesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IptablesError';
  }
}

export interface IptablesOptions {
  /** Commands run as `[...prefix, 'iptables-save']`; tests use `['ip', 'netns', 'exec', NS]`. */
  prefix?: readonly string[];
  save?: string;
  restore?: string;
  timeoutMs?: number;
}

export interface ApplyResult {
  /** False when the installed rules already were the wanted ones (nothing ran but iptables-save). */
  changed: boolean;
  /** Milliseconds the iptables-restore took, when it ran. */
  restoreMs?: number;
}

function run(argv: readonly string[], input: string | undefined, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv as [string, ...string[]];
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new IptablesError(e.code === 'ENOENT' ? `${cmd} not found (install iptables)` : `${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(Buffer.concat(out).toString('utf8'));
      const why =
        Buffer.concat(err).toString('utf8').trim().split('\n')[0] || (signal ? `killed by ${signal}` : `exit ${code}`);
      reject(new IptablesError(`${argv.slice(argv.indexOf(cmd)).join(' ')} failed: ${why}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

export class Iptables {
  private readonly prefix: readonly string[];
  private readonly save: string;
  private readonly restore: string;
  private readonly timeoutMs: number;

  constructor(opts: IptablesOptions = {}) {
    this.prefix = opts.prefix ?? [];
    this.save = opts.save ?? 'iptables-save';
    this.restore = opts.restore ?? 'iptables-restore';
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** Our chains and the jumps into them, as installed now. A failed read throws: never "nothing there". */
  async installed(): Promise<Installed> {
    const [nat, filter] = await Promise.all([
      run([...this.prefix, this.save, '-t', 'nat'], undefined, this.timeoutMs),
      run([...this.prefix, this.save, '-t', 'filter'], undefined, this.timeoutMs),
    ]);
    return parseSave(`${nat}\n${filter}`);
  }

  /** Makes the installed rules equal `want`, in one restore, only when they differ. */
  async apply(want: RuleSet): Promise<ApplyResult> {
    const have = await this.installed();
    if (inPlace(want, have)) return { changed: false };
    const text = restoreText(want, have);
    const t0 = performance.now();
    await run([...this.prefix, this.restore, '--noflush'], text, this.timeoutMs);
    return { changed: true, restoreMs: performance.now() - t0 };
  }

  /** Removes every chain of ours and every jump into them; nothing else. */
  cleanup(): Promise<ApplyResult> {
    return this.apply(emptyRuleSet());
  }
}
