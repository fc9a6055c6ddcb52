/**
 * PHP's date() letters (SPEC §9.11) and a strtotime() for the forms the SPEC lists, in a named
 * time zone. Hand-written: no library formats PHP's letters (Swatch time, ISO week-year, `S`), and
 * strtotime's grammar is PHP's own.
 */

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Offset (seconds east of UTC) of a zone at a Unix time. */
export function zoneOffset(unix: number, timeZone: string): number {
  if (timeZone === 'UTC') return 0;
  const parts = formatterOf(timeZone).formatToParts(new Date(unix * 1000));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour') % 24, get('minute'), get('second')) / 1000;
  return Math.round(asUtc - Math.floor(unix));
}

/** Unix seconds of a wall-clock time in a zone (the earlier instant when a time repeats). */
export function wallToUnix(y: number, mo: number, d: number, h: number, mi: number, s: number, timeZone: string): number {
  const naive = Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
  let unix = naive - zoneOffset(naive, timeZone);
  unix = naive - zoneOffset(unix, timeZone);
  return unix;
}

function zoneName(unix: number, timeZone: string): string {
  if (timeZone === 'UTC') return 'UTC';
  // en-US knows American abbreviations (EST), en-GB European ones (CET); else an offset as PHP prints it.
  for (const locale of ['en-US', 'en-GB']) {
    const name = new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: 'short' }).formatToParts(new Date(unix * 1000))
      .find((p) => p.type === 'timeZoneName')?.value ?? '';
    if (/^[A-Z]{3,5}$/.test(name) && name !== 'GMT') return name;
  }
  const offset = zoneOffset(unix, timeZone);
  if (offset === 0) return 'GMT';
  const abs = Math.abs(offset);
  const minutes = Math.floor(abs / 60) % 60;
  return `${offset < 0 ? '-' : '+'}${pad(Math.floor(abs / 3600), 2)}${minutes ? pad(minutes, 2) : ''}`;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

function isoWeek(y: number, m: number, d: number): { week: number; year: number } {
  const date = new Date(Date.UTC(y, m - 1, d));
  const day = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1);
  return { week: Math.ceil(((date.getTime() - yearStart) / 86400000 + 1) / 7), year: date.getUTCFullYear() };
}

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

function offsetText(offset: number, colon: boolean): string {
  const abs = Math.abs(offset);
  return `${offset < 0 ? '-' : '+'}${pad(Math.floor(abs / 3600), 2)}${colon ? ':' : ''}${pad(Math.floor(abs / 60) % 60, 2)}`;
}

/** Formats Unix seconds with PHP date() letters; `\x` is a literal x, other characters stay. */
export function formatPhpDate(format: string, unix: number, timeZone: string): string {
  const seconds = Math.floor(unix);
  const offset = zoneOffset(seconds, timeZone);
  const w = new Date((seconds + offset) * 1000);
  const Y = w.getUTCFullYear();
  const m = w.getUTCMonth() + 1;
  const d = w.getUTCDate();
  const H = w.getUTCHours();
  const i = w.getUTCMinutes();
  const s = w.getUTCSeconds();
  const dow = w.getUTCDay();
  const letter = (c: string): string => {
    switch (c) {
      case 'd': return pad(d, 2);
      case 'D': return DAYS[dow]!.slice(0, 3);
      case 'j': return String(d);
      case 'l': return DAYS[dow]!;
      case 'N': return String(dow || 7);
      case 'S': return d % 10 === 1 && d !== 11 ? 'st' : d % 10 === 2 && d !== 12 ? 'nd' : d % 10 === 3 && d !== 13 ? 'rd' : 'th';
      case 'w': return String(dow);
      case 'z': return String(Math.round((Date.UTC(Y, m - 1, d) - Date.UTC(Y, 0, 1)) / 86400000));
      case 'W': return pad(isoWeek(Y, m, d).week, 2);
      case 'F': return MONTHS[m - 1]!;
      case 'm': return pad(m, 2);
      case 'M': return MONTHS[m - 1]!.slice(0, 3);
      case 'n': return String(m);
      case 't': return String(new Date(Date.UTC(Y, m, 0)).getUTCDate());
      case 'L': return isLeap(Y) ? '1' : '0';
      case 'o': return String(isoWeek(Y, m, d).year);
      case 'Y': return Y < 0 ? `-${pad(-Y, 4)}` : pad(Y, 4);
      case 'y': return pad(Math.abs(Y) % 100, 2);
      case 'a': return H < 12 ? 'am' : 'pm';
      case 'A': return H < 12 ? 'AM' : 'PM';
      case 'B': return pad(Math.floor((((seconds + 3600) % 86400) + 86400) % 86400 / 86.4), 3);
      case 'g': return String(H % 12 || 12);
      case 'G': return String(H);
      case 'h': return pad(H % 12 || 12, 2);
      case 'H': return pad(H, 2);
      case 'i': return pad(i, 2);
      case 's': return pad(s, 2);
      case 'u': return '000000';
      case 'v': return '000';
      case 'e': return timeZone;
      case 'I': {
        const january = zoneOffset(Date.UTC(Y, 0, 1) / 1000, timeZone);
        const july = zoneOffset(Date.UTC(Y, 6, 1) / 1000, timeZone);
        return january !== july && offset === Math.max(january, july) ? '1' : '0';
      }
      case 'O': return offsetText(offset, false);
      case 'P': return offsetText(offset, true);
      case 'p': return offset === 0 ? 'Z' : offsetText(offset, true);
      case 'T': return zoneName(seconds, timeZone);
      case 'Z': return String(offset);
      case 'c': return formatPhpDate('Y-m-d\\TH:i:sP', seconds, timeZone);
      case 'r': return formatPhpDate('D, d M Y H:i:s O', seconds, timeZone);
      case 'U': return String(seconds);
      default: return c;
    }
  };
  let out = '';
  for (let k = 0; k < format.length; k++) {
    const c = format[k]!;
    if (c === '\\') {
      k++;
      if (k < format.length) out += format[k];
      continue;
    }
    out += letter(c);
  }
  return out;
}

const MONTH_NAMES = new Map<string, number>();
MONTHS.forEach((name, index) => {
  MONTH_NAMES.set(name.toLowerCase(), index + 1);
  MONTH_NAMES.set(name.slice(0, 3).toLowerCase(), index + 1);
});
MONTH_NAMES.set('sept', 9);

interface Wall {
  y: number; mo: number; d: number; h: number; mi: number; s: number;
  /** Offset in seconds when the text named a zone. */
  zone?: number;
}

const TIME = String.raw`(?:[ t]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(am|pm|a\.m\.|p\.m\.)?)?`;
const ZONE = String.raw`\s*(z|utc|gmt|[+-]\d{2}:?\d{2})?`;

const ABSOLUTE: { re: RegExp; build(m: RegExpExecArray): Wall | undefined }[] = [
  // 2000-09-10, 2000-09-10T12:00:00Z, 2000-09-10 12:00 (Y-m-d H:i)
  { re: new RegExp(String.raw`^(\d{4})-(\d{1,2})-(\d{1,2})${TIME}${ZONE}`), build: (m) => wall(+m[1]!, +m[2]!, +m[3]!, m, 4) },
  // 10-09-2000 12:00 (d-m-Y H:i), 10.09.2000
  { re: new RegExp(String.raw`^(\d{1,2})[-.](\d{1,2})[-.](\d{4})${TIME}${ZONE}`), build: (m) => wall(+m[3]!, +m[2]!, +m[1]!, m, 4) },
  // 09/10/2000 02:30 pm (m/d/Y h:i a)
  { re: new RegExp(String.raw`^(\d{1,2})/(\d{1,2})/(\d{4})${TIME}${ZONE}`), build: (m) => wall(+m[3]!, +m[1]!, +m[2]!, m, 4) },
  // 10 September 2000, 10 Sep 2000 12:00
  { re: new RegExp(String.raw`^(\d{1,2})(?:st|nd|rd|th)?[ -]+([a-z]+)\.?[ -,]+(\d{4})${TIME}${ZONE}`), build: (m) => named(+m[3]!, m[2]!, +m[1]!, m, 4) },
  // September 10, 2000; Sep 10 2000
  { re: new RegExp(String.raw`^([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})${TIME}${ZONE}`), build: (m) => named(+m[3]!, m[1]!, +m[2]!, m, 4) },
];

function named(y: number, month: string, d: number, m: RegExpExecArray, at: number): Wall | undefined {
  const mo = MONTH_NAMES.get(month);
  return mo === undefined ? undefined : wall(y, mo, d, m, at);
}

function wall(y: number, mo: number, d: number, m: RegExpExecArray, at: number): Wall | undefined {
  let h = m[at] === undefined ? 0 : +m[at]!;
  const mi = m[at + 1] === undefined ? 0 : +m[at + 1]!;
  const s = m[at + 2] === undefined ? 0 : +m[at + 2]!;
  const meridiem = m[at + 3];
  if (meridiem) {
    if (h < 1 || h > 12) return undefined;
    h = (h % 12) + (meridiem.startsWith('p') ? 12 : 0);
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
  const result: Wall = { y, mo, d, h, mi, s };
  const zone = m[at + 4];
  if (zone) {
    if (zone === 'z' || zone === 'utc' || zone === 'gmt') result.zone = 0;
    else {
      const digits = zone.replace(':', '');
      result.zone = (digits[0] === '-' ? -1 : 1) * (Number(digits.slice(1, 3)) * 3600 + Number(digits.slice(3, 5)) * 60);
    }
  }
  return result;
}

const UNITS: Record<string, [keyof Wall, number]> = {
  sec: ['s', 1], second: ['s', 1], min: ['mi', 1], minute: ['mi', 1], hour: ['h', 1], day: ['d', 1],
  week: ['d', 7], fortnight: ['d', 14], month: ['mo', 1], year: ['y', 1],
};

/** strtotime(): Unix seconds, or undefined when the text is not understood. */
export function strtotime(text: string, base: number, timeZone: string): number | undefined {
  let rest = text.trim().toLowerCase();
  if (rest === '') return undefined;
  const at = /^@(-?\d+)$/.exec(rest);
  if (at) return Number(at[1]);
  const baseOffset = zoneOffset(base, timeZone);
  const b = new Date((Math.floor(base) + baseOffset) * 1000);
  let current: Wall = { y: b.getUTCFullYear(), mo: b.getUTCMonth() + 1, d: b.getUTCDate(), h: b.getUTCHours(), mi: b.getUTCMinutes(), s: b.getUTCSeconds() };
  let matched = false;
  for (const form of ABSOLUTE) {
    const m = form.re.exec(rest);
    if (!m) continue;
    const parsed = form.build(m);
    if (!parsed) return undefined;
    current = parsed;
    rest = rest.slice(m[0].length).trim();
    matched = true;
    break;
  }
  while (rest !== '') {
    let m: RegExpExecArray | null;
    if ((m = /^(now|today|midnight|tomorrow|yesterday|noon)\b\s*/.exec(rest))) {
      const word = m[1]!;
      if (word !== 'now') {
        current = { ...current, h: word === 'noon' ? 12 : 0, mi: 0, s: 0 };
        if (word === 'tomorrow') current.d += 1;
        if (word === 'yesterday') current.d -= 1;
      }
    } else if ((m = /^([+-]?)\s*(\d+)\s*(sec|second|min|minute|hour|day|week|fortnight|month|year)s?\b\s*(ago\b)?\s*/.exec(rest))) {
      const sign = (m[1] === '-' ? -1 : 1) * (m[4] ? -1 : 1);
      const [field, factor] = UNITS[m[3]!]!;
      current = { ...current, [field]: (current[field] as number) + sign * factor * Number(m[2]) };
    } else {
      return undefined;
    }
    rest = rest.slice(m[0].length);
    matched = true;
  }
  if (!matched) return undefined;
  if (current.zone !== undefined) {
    return Date.UTC(current.y, current.mo - 1, current.d, current.h, current.mi, current.s) / 1000 - current.zone;
  }
  return wallToUnix(current.y, current.mo, current.d, current.h, current.mi, current.s, timeZone);
}
