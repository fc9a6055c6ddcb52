/** Date handling: stored date strings (the reference's `d-m-Y H:i`, ISO 8601, …) to Unix seconds. */
import { DateTime } from 'luxon';

const DMY = /^(\d{1,2})[-./](\d{1,2})[-./](\d{4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;
const YMD = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$/;
const HAS_ZONE = /(?:Z|[+-]\d{2}:?\d{2}|\b(?:UTC|GMT))$/i;

/** Month-name forms (`May 15, 2020`, `15 May 2020 06:57`, optionally with a zone), read by luxon. */
const NAMED_MONTH_FORMATS = ['MMM d, yyyy', 'MMM d yyyy', 'd MMM yyyy', 'MMMM d, yyyy', 'MMMM d yyyy', 'd MMMM yyyy'].flatMap((day) =>
  ['', ' H:mm', ' H:mm:ss'].flatMap((time) => ['', ' z', ' ZZ'].map((zone) => day + time + zone)),
);

/**
 * The instant of a parsed local time. A time that happens twice (clocks turned back) is its first
 * occurrence, as in PHP; a time that never happens (clocks turned forward) has already been moved
 * forward by the gap by luxon, as in PHP.
 */
function firstOccurrence(local: DateTime): number {
  let earliest = local.toMillis();
  if (!local.zone.isUniversal) for (const candidate of local.getPossibleOffsets()) earliest = Math.min(earliest, candidate.toMillis());
  return Math.floor(earliest / 1000);
}

function wallClockToUnix(y: number, mo: number, d: number, h: number, mi: number, s: number, timeZone: string): number | undefined {
  if (h > 23) return undefined; // luxon would read 24:00 as the next day
  const local = DateTime.fromObject({ year: y, month: mo, day: d, hour: h, minute: mi, second: s }, { zone: timeZone });
  // 31-02, month 13, 10:61: not dates (never rolled over into the next day or month).
  return local.isValid ? firstOccurrence(local) : undefined;
}

/** Forms with a zone or a month name; local times among them are read in `timeZone`. */
function parseOther(value: string, timeZone: string): number | undefined {
  // setZone: a time with an explicit offset keeps it (a fixed zone), so only local times get the rule above.
  const options = { zone: timeZone, setZone: true, locale: 'en-US' };
  for (const parse of [DateTime.fromISO, DateTime.fromSQL, DateTime.fromRFC2822, DateTime.fromHTTP]) {
    const parsed = parse(value, options);
    if (parsed.isValid) return firstOccurrence(parsed);
  }
  for (const format of NAMED_MONTH_FORMATS) {
    const parsed = DateTime.fromFormat(value, format, options);
    if (parsed.isValid) return firstOccurrence(parsed);
  }
  return undefined;
}

/**
 * Parses a date string to Unix seconds; undefined when it is not a date, including impossible
 * dates (`31-02-2021`), which are never rolled over.
 */
export function parseDate(text: string, timeZone = 'UTC'): number | undefined {
  const value = text.trim();
  if (value === '') return undefined;
  if (/^-?\d+$/.test(value)) return Number(value);
  let m = DMY.exec(value);
  if (m) return wallClockToUnix(+m[3]!, +m[2]!, +m[1]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), timeZone);
  m = YMD.exec(value);
  if (m) return wallClockToUnix(+m[1]!, +m[2]!, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), timeZone);
  if (!HAS_ZONE.test(value) && !/[a-z]{3,}/i.test(value)) return undefined;
  return parseOther(value, timeZone);
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
