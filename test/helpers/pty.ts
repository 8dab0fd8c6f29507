// Runs the real CLI on a pseudo-terminal, for what only happens on a TTY (the apply prompt, human log
// lines). util-linux `script` allocates the pty and copies our stdin into it, so no native module is needed.
import { spawn } from 'node:child_process';
import { BIN, REPO } from '../../testkit/cli.ts';

export interface PtyRun {
  /** Everything the terminal showed so far (stdout and stderr together, as on a screen). */
  output(): string;
  /** The same as a reader of the screen sees it (see plain). */
  screen(): string;
  /** Resolves once the output matches, rejects after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Types on the terminal. */
  type(text: string): void;
  exit: Promise<number | null>;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * What a reader of the screen sees, line by line: no colour codes or cursor moves, and a carriage return
 * (the in-place progress line) overwrites the line so far — as the line is erased each time, exactly.
 */
export function plain(s: string): string {
  return (
    s
      // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI escapes from terminal output
      .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
      .replace(/\r+\n/g, '\n')
      .split('\n')
      .map((line) => line.slice(line.lastIndexOf('\r') + 1))
      .join('\n')
  );
}

export function runOnPty(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): PtyRun {
  const cmd = [process.execPath, BIN, ...args].map(quote).join(' ');
  // -q no banner, -f flush at once, -e the command's exit code, -c the command; /dev/null: no typescript file.
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
    cwd: opts.cwd ?? REPO,
    env: { ...(opts.env ?? process.env), SHELL: '/bin/sh' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: Array<() => void> = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  const exit = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      for (const w of waiters.splice(0)) w();
      resolve(code);
    });
  });
  return {
    output: () => out,
    screen: () => plain(out),
    waitFor(re, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`timed out waiting for ${re} on the terminal; it showed:\n${plain(out)}`)),
          timeoutMs,
        );
        const check = () => {
          if (re.test(plain(out))) {
            clearTimeout(t);
            resolve(plain(out));
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(t);
            reject(new Error(`the command ended before ${re} showed; it showed:\n${plain(out)}`));
          } else waiters.push(check);
        };
        check();
      });
    },
    type(text) {
      child.stdin.write(text);
    },
    exit,
  };
}
