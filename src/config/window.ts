// A calling window as config.yaml and a request write it: {start, end, timezone?, days?}. Checked once, here,
// for both: a request's errors name the request's field, the config's are put after the key by the loader.
import { z } from "./zod.ts";

/** In the order Date#getUTCDay counts them, so a day's index is its number. */
export const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Wall-clock times: "HH:MM", 24-hour. */
export const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

export interface CallWindowSpec {
  start: string;
  end: string;
  /** An IANA time zone; left out, the server's own (resolved when a call is placed). */
  timezone?: string;
  /** The days the window opens on (a window past midnight runs into the next day); left out, every day. */
  days?: Weekday[];
}

/** The zone as the platform's time-zone database names it (`america/new_york` → `America/New_York`), or null. */
export function canonicalZone(zone: string): string | null {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** The zone this process reads local time in (TZ), which a window without a timezone uses. */
export const serverZone = (): string => new Intl.DateTimeFormat().resolvedOptions().timeZone;

/**
 * The window's schema. `label(field)` names a field for a message: a request's `'call_window.start' `, the
 * config's nothing (the loader puts the key before the message).
 */
export function callWindowSchema(label: (field?: string) => string) {
  const time = (field: string) =>
    z
      .string({ error: `${label(field)}must be a time of day such as 09:00 (HH:MM, 24-hour)` })
      .check(z.regex(HHMM, `${label(field)}must be a time of day such as 09:00 (HH:MM, 24-hour)`));
  const zone = `${label("timezone")}must be an IANA time zone such as America/New_York`;
  const unknownZone = `${label("timezone")}is not a time zone this server knows: use an IANA name such as Europe/Berlin`;
  return z
    .strictObject(
      {
        start: time("start"),
        end: time("end"),
        timezone: z.optional(
          z.string({ error: zone }).check(z.refine((tz) => canonicalZone(tz) !== null, unknownZone)),
        ),
        days: z.optional(
          z
            .array(z.enum(WEEKDAYS, { error: `${label("days")}may list: ${WEEKDAYS.join(", ")}` }), {
              error: `${label("days")}must be a list of days such as ["mon", "tue"]`,
            })
            .check(
              z.minLength(1, `${label("days")}lists no day, so the window never opens: leave it out for every day`),
            ),
        ),
      },
      {
        error: `${label()}must be an object such as {"start": "09:00", "end": "17:00", "timezone": "America/New_York"}`,
      },
    )
    .check(
      z.refine(
        (w) => w.start !== w.end,
        `${label()}never opens: start and end are the same time (the end is exclusive; end before start runs past midnight)`,
      ),
    );
}
