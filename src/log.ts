// Structured JSON-lines logger. Secrets and phone numbers never reach the output: keys that name a
// secret are masked whole, and anything shaped like an E.164 number keeps only its last two digits, as
// does the password of a URL (a database URL in a driver's error message).

export type Level = "info" | "warn" | "error";
export type Fields = Record<string, unknown>;

export interface Logger {
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

/** Lower-case words that mark a key as naming a secret, in any case (`authorization` is within `auth`). */
const SECRET_WORDS = ["auth", "token", "secret", "password", "signature", "api_key", "apikey"];
// Each pattern runs only on text that holds the one character every match needs: a regular expression costs ~0.1 ms
// the first time it runs, and the first log line ("listening") is on a cold start's way to its first /health.
const PHONE = /\+\d{5,15}/g;
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi;

function isSecretKey(key: string): boolean {
  const lower = key.toLowerCase();
  for (const word of SECRET_WORDS) if (lower.includes(word)) return true;
  return false;
}

export function redactPhone(text: string): string {
  const kept = text.includes("@") ? text.replace(URL_PASSWORD, "$1[redacted]@") : text;
  return kept.includes("+") ? kept.replace(PHONE, (n) => n.slice(0, 2) + "*".repeat(n.length - 4) + n.slice(-2)) : kept;
}

function redact(value: unknown, key: string, depth: number): unknown {
  if (value !== undefined && value !== null && value !== "" && isSecretKey(key)) return "[redacted]";
  if (typeof value === "string") return redactPhone(value);
  if (value instanceof Error) return redactPhone(value.message);
  if (value === null || typeof value !== "object" || depth > 4) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, key, depth + 1));
  const out: Fields = {};
  for (const [k, v] of Object.entries(value)) out[k] = redact(v, k, depth + 1);
  return out;
}

export type Sink = (line: string) => void;

const MS_PER_DAY = 86_400_000;
const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/**
 * `Date.prototype.toISOString` of a time in ms, without a Date: the first Date a process makes sets up its time
 * zone cache (~1 ms, and the first log line is on a cold start's way to listening). Days to a civil date as in
 * Howard Hinnant's `civil_from_days`, valid for every year a log line can carry (1970–9999).
 */
export function isoTime(ms: number): string {
  const days = Math.floor(ms / MS_PER_DAY);
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const inDay = ms - days * MS_PER_DAY;
  const time = `${two(Math.floor(inDay / 3_600_000))}:${two(Math.floor(inDay / 60_000) % 60)}:${two(Math.floor(inDay / 1000) % 60)}`;
  return `${year}-${two(month)}-${two(day)}T${time}.${String(inDay % 1000).padStart(3, "0")}Z`;
}

// Bun's own sink on fd 1: the first touch of process.stdout builds Node's stream classes, a visible
// share of every cold start. Like process.stdout, it queues what a full pipe cannot take yet.
const stdout = Bun.stdout.writer();

/** One line to stdout. Logs and command output share it, so their lines keep their order. */
export const writeLine: Sink = (line) => {
  stdout.write(`${line}\n`);
  stdout.flush();
};

export function createLogger(sink: Sink = writeLine, base: Fields = {}): Logger {
  const write = (level: Level, msg: string, fields?: Fields) => {
    const record = redact({ ...base, ...fields }, "", 0) as Fields;
    sink(JSON.stringify({ ts: isoTime(Date.now()), level, msg: redactPhone(msg), ...record }));
  };
  return {
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    child: (fields) => createLogger(sink, { ...base, ...fields }),
  };
}
