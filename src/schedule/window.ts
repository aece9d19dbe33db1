// src/schedule/ owns calendar arithmetic: whether a calling window is open at an instant, when it next opens, and
// instants written in a zone's local time. Time zones come from the platform's Intl database (no dependency).
// It imports only config's window type: the call service and the retry worker ask it, it knows no call.
import { type CallWindowSpec, WEEKDAYS } from "../config/window.ts";

/** A window as a call keeps it: its zone settled when the call was placed. */
export type CallWindow = CallWindowSpec & { timezone: string };

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** How far ahead an opening is looked for: a week, and a week more for a day whose opening a DST change removed. */
const SEARCH_DAYS = 15;

/** A local date and time of day, as a zone's wall clock shows an instant. */
interface Wall {
  year: number;
  month: number;
  day: number;
  /** 0 = Sunday, as WEEKDAYS. */
  weekday: number;
  /** Minutes since local midnight. */
  minutes: number;
  second: number;
}

/** A zone's wall clock: one formatter, made per question (no cache kept between calls). */
function zoneClock(timezone: string) {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: timezone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
  const read = (t: number): Wall => {
    const part: Record<string, number> = {};
    for (const p of format.formatToParts(t)) if (p.type !== "literal") part[p.type] = Number(p.value);
    const year = part.year!;
    const month = part.month!;
    const day = part.day!;
    return {
      year,
      month,
      day,
      weekday: new Date(Date.UTC(year, month - 1, day)).getUTCDay(),
      minutes: part.hour! * 60 + part.minute!,
      second: part.second!,
    };
  };
  /** The wall time as if it were UTC: ordered like the instants, except across a fall-back hour. */
  const wallKey = (w: Wall) => Date.UTC(w.year, w.month - 1, w.day, 0, w.minutes, w.second);
  /** Local time minus UTC at `t`, in ms. */
  const offset = (t: number) => wallKey(read(t)) - Math.floor(t / 1000) * 1000;
  return { read, wallKey, offset };
}
type Clock = ReturnType<typeof zoneClock>;

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const dayAllowed = (w: CallWindowSpec, weekday: number) => !w.days || w.days.includes(WEEKDAYS[weekday]!);

/** Whether the window is open at this wall time: from start (inclusive) to end (exclusive), past midnight if end < start. */
function openAt(w: CallWindowSpec, wall: Wall): boolean {
  const start = minutesOf(w.start);
  const end = minutesOf(w.end);
  if (start < end) return dayAllowed(w, wall.weekday) && wall.minutes >= start && wall.minutes < end;
  // Past midnight: the evening part belongs to its own day, the early hours to the day before.
  if (wall.minutes >= start) return dayAllowed(w, wall.weekday);
  return wall.minutes < end && dayAllowed(w, (wall.weekday + 6) % 7);
}

export function isOpen(w: CallWindow, t: number): boolean {
  return openAt(w, zoneClock(w.timezone).read(t));
}

/**
 * The instants at which the local clock shows `minutes` on the date `date` (its y/m/d as a UTC midnight): one
 * normally, two in an hour that repeats (fall back), and, for a time a spring-forward skips, the moment the
 * clock jumps past it.
 */
function instantsAt(clock: Clock, date: number, minutes: number): number[] {
  const naive = date + minutes * MINUTE_MS;
  const offsets = [...new Set([clock.offset(naive - DAY_MS / 2), clock.offset(naive + DAY_MS / 2)])];
  const found = offsets.map((o) => naive - o).filter((t) => clock.wallKey(clock.read(t)) === naive);
  if (found.length > 0) return [...new Set(found)].sort((a, b) => a - b);
  // Skipped: the first minute whose wall time is past it lies between the two candidate instants.
  let [lo, hi] = offsets.map((o) => naive - o).sort((a, b) => a - b) as [number, number];
  while (hi - lo > MINUTE_MS) {
    const mid = lo + Math.floor((hi - lo) / 2 / MINUTE_MS) * MINUTE_MS;
    if (clock.wallKey(clock.read(mid)) >= naive) hi = mid;
    else lo = mid;
  }
  return [hi];
}

/** The first instant at or after `from` at which the window is open; null if it opens on none of the next days. */
export function nextOpening(w: CallWindow, from: number): number | null {
  const clock = zoneClock(w.timezone);
  const wall = clock.read(from);
  if (openAt(w, wall)) return from;
  const today = Date.UTC(wall.year, wall.month - 1, wall.day);
  const start = minutesOf(w.start);
  for (let k = 0; k <= SEARCH_DAYS; k++) {
    const date = today + k * DAY_MS;
    if (!dayAllowed(w, new Date(date).getUTCDay())) continue;
    for (const t of instantsAt(clock, date, start)) if (t >= from && openAt(w, clock.read(t))) return t;
  }
  return null;
}

/** The instant as RFC 3339 in the zone's local time, with its offset: `2026-12-07T09:00:00-05:00`. */
export function zonedIso(t: number, timezone: string): string {
  const clock = zoneClock(timezone);
  const wall = clock.read(t);
  const offsetMin = Math.round(clock.offset(t) / MINUTE_MS);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const sign = offsetMin < 0 ? "-" : "+";
  const abs = Math.abs(offsetMin);
  const time = `${pad(Math.floor(wall.minutes / 60))}:${pad(wall.minutes % 60)}:${pad(wall.second)}`;
  return `${pad(wall.year, 4)}-${pad(wall.month)}-${pad(wall.day)}T${time}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
