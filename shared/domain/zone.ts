import { tzOffset } from '@date-fns/tz/tzOffset';

/**
 * Local wall-clock time in IANA zones, across DST changes: the zone's offset at an instant comes
 * from `@date-fns/tz` (the runtime's Intl time-zone data); the rules for the times a change skips
 * or repeats are ours (`localInstant`). No AWS imports.
 */

const CLOCK = /^([01]\d|2[0-3]):([0-5]\d)$/;
const DAY_MINUTES = 24 * 60;

export function isClockTime(value: string): boolean {
  return CLOCK.test(value);
}

/** Minutes since midnight of an `HH:MM` clock time. */
export function minutesOf(clock: string): number {
  const match = CLOCK.exec(clock);
  if (!match) throw new Error(`Not an HH:MM clock time: ${clock}`);
  return Number(match[1]) * 60 + Number(match[2]);
}

export function clockOf(minutes: number): string {
  const m = ((minutes % DAY_MINUTES) + DAY_MINUTES) % DAY_MINUTES;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

/** The zone's UTC offset, in minutes, at an instant. */
function offsetAt(ms: number, zone: string): number {
  return tzOffset(zone, new Date(ms));
}

/** The local calendar date (`YYYY-MM-DD`) and minutes since local midnight of an instant. */
export function localClock(instant: Date, zone: string): { date: string; minutes: number } {
  // The instant moved by the zone's offset reads, in UTC, the zone's wall clock.
  const local = new Date(instant.getTime() + offsetAt(instant.getTime(), zone) * MINUTE_MS);
  return {
    date: local.toISOString().slice(0, 10),
    minutes: local.getUTCHours() * 60 + local.getUTCMinutes(),
  };
}

export function localDateOf(instant: Date, zone: string): string {
  return localClock(instant, zone).date;
}

/** The calendar date `days` after `date` (both `YYYY-MM-DD`). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The instant a local wall-clock time names in a zone. A time that a DST change skips (a gap)
 * means the first valid instant after it, the moment of the change; a time that occurs twice (a
 * repeated hour) means its first occurrence.
 */
export function localInstant(date: string, clock: string, zone: string): Date {
  const wall = Date.parse(`${date}T00:00:00Z`) + minutesOf(clock) * MINUTE_MS;
  // Offsets a day either side: before and after any change near this wall-clock time.
  const before = offsetAt(wall - DAY_MS, zone);
  const after = offsetAt(wall + DAY_MS, zone);
  const candidates = [...new Set([before, after])]
    .map((offset) => wall - offset * MINUTE_MS)
    .filter((ms) => offsetAt(ms, zone) * MINUTE_MS === wall - ms)
    .sort((a, b) => a - b);
  if (candidates.length) return new Date(candidates[0]!);
  // In a gap: the change happens between the two readings; find its minute.
  // Clocks go forward in a gap, so the reading with the later offset is the earlier instant.
  let low = Math.min(wall - before * MINUTE_MS, wall - after * MINUTE_MS);
  let high = Math.max(wall - before * MINUTE_MS, wall - after * MINUTE_MS);
  while (high - low > MINUTE_MS) {
    const mid = low + Math.floor((high - low) / 2 / MINUTE_MS) * MINUTE_MS;
    if (offsetAt(mid, zone) === before) low = mid;
    else high = mid;
  }
  return new Date(high);
}

/** `[start, end)` of a local calendar day in a zone (23 or 25 hours across a DST change). */
export function dayWindow(date: string, zone: string): { start: Date; end: Date } {
  return { start: localInstant(date, '00:00', zone), end: localInstant(addDays(date, 1), '00:00', zone) };
}
