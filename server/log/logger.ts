/** pino logging: one root logger, child loggers per component, secrets redacted wherever they appear. */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Paths pino replaces with "<redacted>" in any log line. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'streamKey',
  '*.streamKey',
  'jwtSecret',
  '*.jwtSecret',
  'adminPassword',
  '*.adminPassword',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { app: 'onair' },
      redact: { paths: REDACT_PATHS, censor: '<redacted>' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
