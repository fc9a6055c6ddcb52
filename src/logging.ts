/**
 * The process logger: pino JSON lines; credentials are redacted wherever they could appear. On a
 * terminal the same lines are shown human-readable (pino-pretty), with colours unless NO_COLOR.
 */
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type { PrettyOptions } from 'pino-pretty';

export const REDACT_PATHS = [
  'token', 'access_token', 'hashed_access_token', 'password', 'secret',
  '*.token', '*.access_token', '*.hashed_access_token', '*.password', '*.secret',
  'req.headers.authorization', 'req.headers["x-access-token"]',
];

type PrettyFactory = (options: PrettyOptions) => pino.DestinationStream;

/** Loaded only for a terminal: other runs (services, pipes, tests) never pay for it. */
function prettyStream(destination: NodeJS.WritableStream): pino.DestinationStream {
  const pretty = createRequire(import.meta.url)('pino-pretty') as PrettyFactory;
  return pretty({ destination, sync: true, colorize: !('NO_COLOR' in process.env), translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } };
  const target = destination ?? process.stdout;
  if ((target as { isTTY?: boolean }).isTTY === true) return pino(options, prettyStream(target as NodeJS.WritableStream));
  return destination ? pino(options, destination) : pino(options);
}
