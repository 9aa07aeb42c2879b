import { InvalidParameterError } from '../errors.js';

/** Recurring snapshot intervals (storage.md §5.3). */
export const SNAPSHOT_INTERVALS = ['HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY'] as const;
/** One of {@link SNAPSHOT_INTERVALS}. */
export type SnapshotInterval = (typeof SNAPSHOT_INTERVALS)[number];

/** A parsed schedule: minute, hour, day of week (1 = Sunday … 7, as Java's Calendar) or day of month (1–28). */
export interface SnapshotSchedule {
  minute: number;
  hour: number;
  dayOfWeek?: number;
  dayOfMonth?: number;
}

const int = (field: string, raw: string | undefined, min: number, max: number, value: string): number => {
  const n = Number(raw);
  if (raw === undefined || !/^\d{1,2}$/.test(raw) || n < min || n > max)
    throw new InvalidParameterError('schedule', value, `${field} must be ${min}–${max}`);
  return n;
};

/** Parses HOURLY `MM`, DAILY `MM:HH`, WEEKLY `MM:HH:D`, MONTHLY `MM:HH:DD`. */
export function parseSnapshotSchedule(interval: SnapshotInterval, schedule: string): SnapshotSchedule {
  const parts = String(schedule).split(':');
  const expected = { HOURLY: 1, DAILY: 2, WEEKLY: 3, MONTHLY: 3 }[interval];
  if (parts.length !== expected)
    throw new InvalidParameterError(
      'schedule',
      schedule,
      `${interval} schedules are ${['MM', 'MM:HH', 'MM:HH:D', 'MM:HH:DD'][SNAPSHOT_INTERVALS.indexOf(interval)]}`,
    );
  const minute = int('minute', parts[0], 0, 59, schedule);
  if (interval === 'HOURLY') return { minute, hour: 0 };
  const hour = int('hour', parts[1], 0, 23, schedule);
  if (interval === 'DAILY') return { minute, hour };
  if (interval === 'WEEKLY') return { minute, hour, dayOfWeek: int('day of week', parts[2], 1, 7, schedule) };
  return { minute, hour, dayOfMonth: int('day of month', parts[2], 1, 28, schedule) };
}

/** Validates an IANA (Olson) time-zone id. */
export function requireTimezone(timezone: unknown): string {
  if (typeof timezone !== 'string' || timezone.trim() === '')
    throw new InvalidParameterError('timezone', timezone, 'a time zone id is required');
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new InvalidParameterError('timezone', timezone, 'not a known time zone id');
  }
  return timezone;
}

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock time of `t` in `timezone`. */
function wall(t: number, timezone: string): Wall {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
    });
    formatters.set(timezone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(t)).map((p) => [p.type, p.value]));
  const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(String(parts.weekday)) + 1;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    weekday,
  };
}

/** Offset (ms) of `timezone` at instant `t`: wall clock minus UTC. */
function offsetAt(t: number, timezone: string): number {
  const w = wall(t, timezone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) - Math.floor(t / 60_000) * 60_000;
}

/**
 * The epoch ms of a wall-clock time in `timezone`: the earlier instant in a DST overlap; a time in a
 * DST gap moves forward by the gap (as Java's lenient Calendar does).
 */
function fromWall(y: number, mo: number, d: number, h: number, mi: number, timezone: string): number {
  const guess = Date.UTC(y, mo - 1, d, h, mi);
  const before = guess - offsetAt(guess - 43_200_000, timezone);
  const after = guess - offsetAt(guess + 43_200_000, timezone);
  const matches = (t: number) => {
    const w = wall(t, timezone);
    return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) === guess;
  };
  if (matches(before) && matches(after)) return Math.min(before, after);
  if (matches(before)) return before;
  if (matches(after)) return after;
  return before;
}

/**
 * The first run strictly after `after` of a schedule evaluated in `timezone` (storage.md §5.3
 * rule 1): hourly at minute MM, daily at HH:MM, weekly on day D, monthly on day DD.
 */
export function nextSnapshotRun(
  interval: SnapshotInterval,
  schedule: SnapshotSchedule,
  timezone: string,
  after: number,
): number {
  const now = wall(after, timezone);
  const base = Date.UTC(now.year, now.month - 1, now.day);
  const candidates: number[] = [];
  if (interval === 'HOURLY') {
    for (let i = 0; i <= 26; i++) {
      const d = new Date(Date.UTC(now.year, now.month - 1, now.day, now.hour + i));
      candidates.push(
        fromWall(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), schedule.minute, timezone),
      );
    }
  } else if (interval === 'MONTHLY') {
    for (let i = 0; i <= 2; i++) {
      const d = new Date(Date.UTC(now.year, now.month - 1 + i, 1));
      candidates.push(
        fromWall(
          d.getUTCFullYear(),
          d.getUTCMonth() + 1,
          schedule.dayOfMonth ?? 1,
          schedule.hour,
          schedule.minute,
          timezone,
        ),
      );
    }
  } else {
    for (let i = 0; i <= 8; i++) {
      const d = new Date(base + i * 86_400_000);
      if (interval === 'WEEKLY' && d.getUTCDay() + 1 !== schedule.dayOfWeek) continue;
      candidates.push(
        fromWall(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), schedule.hour, schedule.minute, timezone),
      );
    }
  }
  const next = candidates.filter((t) => t > after).sort((a, b) => a - b)[0];
  if (next === undefined) throw new Error(`no next run for ${interval} ${JSON.stringify(schedule)} in ${timezone}`);
  return next;
}
