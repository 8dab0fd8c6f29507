// The one place loggers are made. Library code receives a Logger; only the CLI creates one.
import { pino, type Logger, type LoggerOptions } from 'pino';
import { prettyFactory } from 'pino-pretty';

export type { Logger };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

type Destination = NodeJS.WritableStream & { isTTY?: boolean };

/**
 * `auto` is human lines on a terminal and JSON everywhere else. Inside a pod stderr is a pipe to the
 * container runtime, but `kubectl run -it` gives it a TTY: the service-account env keeps JSON there too,
 * since that is what the cluster's log collector parses.
 */
export function resolveFormat(
  format: LogFormat,
  destination: Destination,
  env: NodeJS.ProcessEnv = process.env,
): 'json' | 'pretty' {
  if (format !== 'auto') return format;
  return destination.isTTY === true && env.KUBERNETES_SERVICE_HOST === undefined ? 'pretty' : 'json';
}

export function createLogger(
  level: LoggerOptions['level'] = 'info',
  destination: Destination = process.stderr,
  format: LogFormat = 'json',
): Logger {
  const options: LoggerOptions = {
    level,
    base: { app: 'routesync' },
    // Secrets never reach logs, even when an SDK error object carries request config.
    redact: {
      paths: [
        '*.accessKeyId',
        '*.accessKeySecret',
        '*.secretAccessKey',
        '*.sessionToken',
        '*.credentials',
        '*.authorization',
        '*.Authorization',
      ],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (resolveFormat(format, destination) === 'json') return pino(options, destination);
  // Formatted in-process and written synchronously (not pino's worker transport, not a stream pipeline):
  // log lines stay in order with the CLI's own stderr output (progress line, prompts), and nothing is lost
  // when a one-off command exits right after logging.
  const format1 = prettyFactory({
    colorize: destination.isTTY === true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,app',
  });
  const stream = { write: (line: string) => destination.write(format1(line)) };
  return pino(options, stream);
}

export const silentLogger: Logger = pino({ level: 'silent' });
