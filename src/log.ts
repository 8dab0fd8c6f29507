// The one place loggers are made. Library code receives a Logger; only the CLI creates one.
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export function createLogger(level: LoggerOptions['level'] = 'info', destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      level,
      base: { app: 'routesync' },
      // Secrets never reach logs, even when an SDK error object carries request config.
      redact: { paths: ['*.accessKeyId', '*.accessKeySecret', '*.secretAccessKey', '*.sessionToken', '*.credentials', '*.authorization', '*.Authorization'], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
