/** CLI output: readable colour for people (off for NO_COLOR and non-TTY), JSON for scripts. */
import pc from 'picocolors';
import { CmsError } from '../core/errors.js';
import { SettingsError } from '../core/settings.js';

const useColor = pc.isColorSupported && process.stdout.isTTY === true && !('NO_COLOR' in process.env);
export const color = pc.createColors(useColor);

/** Set once the reader of stdout has gone (`flextype serve | head -1`): output is then dropped. */
let stdoutGone = false;

/**
 * A reader that stops reading (a pipe closed early) is not a failure of the command: its output
 * is dropped quietly instead of crashing with an EPIPE stack trace. Other stream errors still throw.
 */
export function toleratePipeReadersLeaving(): void {
  const quiet = (onGone: () => void) => (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return onGone();
    throw err;
  };
  process.stdout.on('error', quiet(() => (stdoutGone = true)));
  process.stderr.on('error', quiet(() => undefined));
}

function writeOut(text: string): void {
  if (!stdoutGone) process.stdout.write(text);
}

export function printJson(value: unknown): void {
  writeOut(JSON.stringify(value, null, 2) + '\n');
}

export function printLine(text = ''): void {
  writeOut(text + '\n');
}

/** A human-readable rendering of a field map: `key: value` lines, nested values as JSON. */
export function printFields(fields: Record<string, unknown>, indent = ''): void {
  for (const [key, value] of Object.entries(fields)) {
    const shown = typeof value === 'string' ? value : JSON.stringify(value);
    printLine(`${indent}${color.cyan(key)}: ${shown}`);
  }
}

/** Thrown by commands to stop with a one-line reason and an exit code. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof CliFailure) return err.exitCode;
  if (err instanceof CmsError) return err.code === 'not_found' ? 3 : err.code === 'bad_request' ? 2 : 1;
  if (err instanceof SettingsError) return 78;
  return 1;
}

export function reasonOf(err: unknown): string {
  if (err instanceof CmsError) return err.detail;
  if (err instanceof Error) return err.message.split('\n').join('\n  ');
  return String(err);
}

export function fail(err: unknown): never {
  process.stderr.write(`${color.red('error:')} ${reasonOf(err)}\n`);
  process.exit(exitCodeOf(err));
}
