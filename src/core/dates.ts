/** Date handling: stored date strings (the reference's `d-m-Y H:i`, ISO 8601, …) to Unix seconds. */

const DMY = /^(\d{1,2})[-./](\d{1,2})[-./](\d{4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;
const YMD = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$/;
const HAS_ZONE = /(?:Z|[+-]\d{2}:?\d{2}|\b(?:UTC|GMT))$/i;

/** Offset (ms) of a time zone at a given UTC instant, via Intl; 0 for UTC. */
function zoneOffsetMs(utcMs: number, timeZone: string): number {
  if (timeZone === 'UTC') return 0;
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(utcMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

function wallClockToUnix(y: number, mo: number, d: number, h: number, mi: number, s: number, timeZone: string): number | undefined {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
  const naive = Date.UTC(y, mo - 1, d, h, mi, s);
  const offset = zoneOffsetMs(naive, timeZone);
  return Math.floor((naive - offset) / 1000);
}

/** Parses a date string to Unix seconds; undefined when it is not a date. */
export function parseDate(text: string, timeZone = 'UTC'): number | undefined {
  const value = text.trim();
  if (value === '') return undefined;
  if (/^-?\d+$/.test(value)) return Number(value);
  let m = DMY.exec(value);
  if (m) return wallClockToUnix(+m[3]!, +m[2]!, +m[1]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), timeZone);
  m = YMD.exec(value);
  if (m) return wallClockToUnix(+m[1]!, +m[2]!, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), timeZone);
  if (!HAS_ZONE.test(value) && !/[a-z]{3,}/i.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** A date field's value as Unix seconds: numbers pass, date strings convert, others stay as they are. */
export function toTimestamp(value: unknown, timeZone: string): unknown {
  if (typeof value === 'number') return Math.floor(value);
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  if (typeof value === 'string') return parseDate(value, timeZone) ?? value;
  return value;
}

/** The form new entries store their dates in: ISO 8601 in UTC, which every parser reads. */
export function nowForStorage(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}
