// Shared by the CLI commands: exit codes and turning errors into one line on stderr.
import { ConfigError } from '../config.ts';

export const EXIT = { ok: 0, incomplete: 1, usage: 2 } as const;

/** Bad flags or arguments: one line, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Prints problems and sets the exit code; never a stack trace for expected failures. */
export function reportError(e: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  if (e instanceof ConfigError) {
    for (const p of e.problems) stderr.write(`routesync: ${p}\n`);
    return EXIT.usage;
  }
  if (e instanceof UsageError) {
    stderr.write(`routesync: ${e.message}\n`);
    return EXIT.usage;
  }
  const msg = e instanceof Error ? e.message : String(e);
  stderr.write(`routesync: ${msg.split('\n')[0]}\n`);
  if (process.env.ROUTESYNC_DEBUG) stderr.write(`${e instanceof Error ? e.stack : ''}\n`);
  return EXIT.incomplete;
}

/** Wraps a command action: its return value is the exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void> | number | void) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      process.exitCode = code ?? EXIT.ok;
    } catch (e) {
      process.exitCode = reportError(e);
    }
  };
}

export function parseIntFlag(name: string, min: number, max: number) {
  return (v: string): number => {
    if (!/^-?\d+$/.test(v)) throw new UsageError(`${name}: "${v}" is not an integer`);
    const n = Number(v);
    if (n < min || n > max) throw new UsageError(`${name}: ${n} is out of range ${min}..${max}`);
    return n;
  };
}
