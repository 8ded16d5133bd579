/**
 * Structured JSON logs on stdout (pino). Redaction is a second line of defence: no code path puts
 * a key into a log record in the first place, but an `authorization` header or a `key` field that
 * ever slips into a record (for instance inside an error's cause) is censored.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

const REDACT_PATHS = [
  'authorization',
  'Authorization',
  'key',
  'apiKey',
  'api_key',
  'token',
  'password',
  '*.authorization',
  '*.Authorization',
  '*.key',
  '*.apiKey',
  '*.api_key',
  '*.token',
  '*.password',
  'headers.authorization',
  'req.headers.authorization',
  'request.headers.authorization',
  'err.headers.authorization',
  'err.cause.headers.authorization',
];

export interface LoggerOptions {
  level: LogLevel;
  /** Where the JSON lines go; stdout when omitted. Tests pass a stream that collects lines. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { name: 'zexa-exporter' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
