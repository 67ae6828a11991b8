/**
 * Working-time arithmetic over a team calendar: an IANA time zone, any number of working
 * intervals per weekday, and holidays. Pure functions, so every edge (weekends, holidays,
 * lunch breaks, daylight-saving changes) is tested table by table.
 */

export interface WorkingInterval {
  /** ISO weekday: 1 Monday … 7 Sunday. */
  weekday: number;
  /** Local wall-clock times "HH:MM"; end after start ("24:00" ends at midnight). */
  start: string;
  end: string;
}

export interface WorkingCalendar {
  timezone: string;
  intervals: WorkingInterval[];
  /** Local dates "YYYY-MM-DD" on which nobody works. */
  holidays: string[];
}

export const DEFAULT_CALENDAR: WorkingCalendar = {
  timezone: 'UTC',
  intervals: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '08:00', end: '17:00' })),
  holidays: [],
};

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** Ten years: a calendar with no working time at all must not loop for ever. */
const MAX_DAYS = 3660;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timezone, f);
  }
  return f;
}

export function isValidTimezone(timezone: string): boolean {
  try {
    formatter(timezone);
    return true;
  } catch {
    return false;
  }
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function localParts(instant: number, timezone: string): LocalParts {
  const parts: Record<string, number> = {};
  for (const p of formatter(timezone).formatToParts(new Date(instant))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! };
}

/** Offset of local time from UTC at an instant, in ms (Brussels in winter: +3 600 000). */
function offsetAt(instant: number, timezone: string): number {
  const p = localParts(instant, timezone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant of a local wall-clock time. A time repeated when clocks go back maps to its
 * first occurrence; a time skipped when they go forward is shifted forward by the gap (02:30 on
 * a spring-forward night is 03:30), as Temporal's "compatible" disambiguation does.
 */
export function instantOfLocal(year: number, month: number, day: number, minutes: number, timezone: string): number {
  const wall = Date.UTC(year, month - 1, day) + minutes * MINUTE;
  const before = offsetAt(wall - DAY / 2, timezone);
  const after = offsetAt(wall + DAY / 2, timezone);
  const valid = [wall - before, wall - after].filter((t) => t + offsetAt(t, timezone) === wall).sort((a, b) => a - b);
  return valid[0] ?? wall - before;
}

function minutesOf(hhmm: string): number {
  const match = /^(\d{2}):(\d{2})$/.exec(hhmm);
  if (!match) throw new Error(`invalid time "${hhmm}"`);
  return Number(match[1]) * 60 + Number(match[2]);
}

export function isValidTime(hhmm: string, allow24 = false): boolean {
  const match = /^(\d{2}):(\d{2})$/.exec(hhmm);
  if (!match) return false;
  const h = Number(match[1]);
  const m = Number(match[2]);
  return m < 60 && (h < 24 || (allow24 && h === 24 && m === 0));
}

/** The working periods [start, end) of the local day that `dayStart` (local midnight, as a UTC date) names. */
function periodsOfDay(calendar: WorkingCalendar, y: number, m: number, d: number, holidays: Set<string>): Array<[number, number]> {
  const date = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  if (holidays.has(date)) return [];
  const weekday = ((new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7) + 1;
  return calendar.intervals
    .filter((i) => i.weekday === weekday)
    .map((i): [number, number] => [instantOfLocal(y, m, d, minutesOf(i.start), calendar.timezone), instantOfLocal(y, m, d, minutesOf(i.end), calendar.timezone)])
    .filter(([s, e]) => e > s)
    .sort((a, b) => a[0] - b[0]);
}

/**
 * The periods of each day depend only on the calendar: they are computed once per calendar
 * object and day, which makes bulk recomputation over one team's calendar cheap.
 */
interface CalendarDays {
  holidays: Set<string>;
  days: Map<number, Array<[number, number]>>;
}
const dayCache = new WeakMap<WorkingCalendar, CalendarDays>();

function calendarDays(calendar: WorkingCalendar): CalendarDays {
  let cache = dayCache.get(calendar);
  if (!cache) dayCache.set(calendar, (cache = { holidays: new Set(calendar.holidays), days: new Map() }));
  return cache;
}

function periodsOfDayCached(calendar: WorkingCalendar, cache: CalendarDays, dayUtc: number): Array<[number, number]> {
  let periods = cache.days.get(dayUtc);
  if (!periods) {
    const day = new Date(dayUtc);
    periods = periodsOfDay(calendar, day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), cache.holidays);
    if (cache.days.size > 20_000) cache.days.clear();
    cache.days.set(dayUtc, periods);
  }
  return periods;
}

const QUARTER_HOUR = 15 * MINUTE;
/** Per time zone: quarter hour since the epoch → its local date as midnight UTC. */
const localDayCache = new Map<string, Map<number, number>>();

/**
 * The local date of an instant, as midnight UTC of that date. UTC offsets are multiples of 15
 * minutes, so local midnights fall on 15-minute UTC boundaries and the answer can be cached per
 * quarter hour: bulk work formats far fewer dates.
 */
function localDayOf(instant: number, timezone: string): number {
  let days = localDayCache.get(timezone);
  if (!days) localDayCache.set(timezone, (days = new Map()));
  const quarter = Math.floor(instant / QUARTER_HOUR);
  let day = days.get(quarter);
  if (day === undefined) {
    const p = localParts(quarter * QUARTER_HOUR, timezone);
    day = Date.UTC(p.year, p.month - 1, p.day);
    if (days.size > 100_000) days.clear();
    days.set(quarter, day);
  }
  return day;
}

/** The instant at which `durationMs` of working time has passed after `from`. */
export function addWorkingTime(calendar: WorkingCalendar, from: Date, durationMs: number): Date {
  let remaining = durationMs;
  if (remaining <= 0) return new Date(from);
  // Walks the working periods from the local day of `from`, each clipped to start no earlier
  // than `from`. Plain loops with index access: bulk recomputation walks about ten periods per
  // ticket and policy, and a generator or destructuring allocates at each.
  const start = from.getTime();
  const cache = calendarDays(calendar);
  let day = localDayOf(start, calendar.timezone);
  for (let i = 0; i < MAX_DAYS; i++, day += DAY) {
    const periods = periodsOfDayCached(calendar, cache, day);
    for (let p = 0; p < periods.length; p++) {
      const end = periods[p]![1];
      if (end <= start) continue;
      const begin = Math.max(periods[p]![0], start);
      // "<=": a deadline that ends exactly at closing time is that closing time, not the next opening.
      if (remaining <= end - begin) return new Date(begin + remaining);
      remaining -= end - begin;
    }
  }
  throw new Error('the calendar has no working time within ten years');
}

/** Working time, in ms, between two instants (0 when `to` is not after `from`). */
export function workingTimeBetween(calendar: WorkingCalendar, from: Date, to: Date): number {
  let total = 0;
  if (to <= from) return 0;
  const start = from.getTime();
  const until = to.getTime();
  const cache = calendarDays(calendar);
  let day = localDayOf(start, calendar.timezone);
  for (let i = 0; i < MAX_DAYS; i++, day += DAY) {
    const periods = periodsOfDayCached(calendar, cache, day);
    for (let p = 0; p < periods.length; p++) {
      const end = periods[p]![1];
      if (end <= start) continue;
      const begin = Math.max(periods[p]![0], start);
      if (begin >= until) return total;
      total += Math.min(end, until) - begin;
    }
  }
  return total;
}
