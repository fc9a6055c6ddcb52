/** `date`: date(format, timestamp), time(), strtotime(text, base) in the `timezone` setting (§9.11). */
import type { Env } from '../env.js';
import { formatPhpDate, strtotime } from '../../php-date.js';
import { functionTable, intArg, textArg } from './common.js';

const now = () => Math.floor(Date.now() / 1000);
const zoneOf = (env: Env) => {
  const zone = env.ctx.setting('timezone');
  return typeof zone === 'string' && zone !== '' ? zone : 'UTC';
};

export const dateFunctions = functionTable({
  date: (args, env) => env.budget.text(formatPhpDate(textArg(args, 0, 'date'), intArg(args, 1, 'date', now()), zoneOf(env)), 'a date'),
  time: () => now(),
  strtotime: (args, env) => strtotime(textArg(args, 0, 'strtotime'), intArg(args, 1, 'strtotime', now()), zoneOf(env)) ?? false,
});
