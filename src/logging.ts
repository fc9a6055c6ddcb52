/** The process logger: pino JSON lines; credentials are redacted wherever they could appear. */
import pino, { type Logger } from 'pino';

export const REDACT_PATHS = [
  'token', 'access_token', 'hashed_access_token', 'password', 'secret',
  '*.token', '*.access_token', '*.hashed_access_token', '*.password', '*.secret',
  'req.headers.authorization', 'req.headers["x-access-token"]',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } };
  return destination ? pino(options, destination) : pino(options);
}
