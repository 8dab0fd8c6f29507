// Shared by the CLI commands: exit codes, turning errors into one line on stderr, the log flags.
import { Option, type Command } from 'commander';
import { ConfigError, type Config } from '../config.ts';
import { createLogger, LOG_FORMATS, LOG_LEVELS, type LogFormat, type Logger, type LogLevel } from '../log.ts';

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
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | undefined> | number | undefined) {
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

export interface LogFlags {
  logLevel?: LogLevel;
  logFormat: LogFormat;
}

/**
 * `--log-level` and `--log-format` on a command. Commander checks the choices, so a bad value is a usage
 * error (exit 2, one line naming the flag and the allowed values) before anything runs. `defaultLevel`
 * undefined leaves the level to the config file (`routesync run`).
 */
export function withLogFlags(cmd: Command, defaultLevel?: LogLevel): Command {
  const level = new Option('--log-level <level>', 'log level on stderr').choices(LOG_LEVELS);
  cmd.addOption(defaultLevel === undefined ? level : level.default(defaultLevel));
  return cmd.addOption(
    new Option(
      '--log-format <format>',
      'log lines on stderr: human (pretty) or JSON; auto is pretty on a terminal, JSON elsewhere',
    )
      .choices(LOG_FORMATS)
      .default('auto'),
  );
}

/** The command's logger on stderr, from its log flags (the level falls back to `fallback`). */
export function loggerFrom(
  flags: LogFlags,
  fallback: LogLevel = 'info',
  destination: NodeJS.WritableStream = process.stderr,
): Logger {
  return createLogger(flags.logLevel ?? fallback, destination, flags.logFormat);
}

/** `--kubeconfig` on the commands that may talk to the Kubernetes API (inventory.source / store.type kubernetes). */
export const KUBECONFIG_HELP =
  'kubeconfig for inventory.source / store.type kubernetes; wins over kubernetes.kubeconfig (default: $KUBECONFIG, then in-cluster)';

/** The flag wins over the file's `kubernetes.kubeconfig`. */
export function applyKubeconfigFlag(config: Config, flag: string | undefined): Config {
  if (flag === undefined) return config;
  if (flag === '') throw new UsageError('--kubeconfig: must be a file path');
  config.kubernetes.kubeconfig = flag;
  return config;
}
