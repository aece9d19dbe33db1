// What every handler answers with: JSON bodies, the API's error shape, and reading a request's body within a limit.
// Loaded before the server listens, so it imports no schema (openapi.ts describes the error body).

/** Every error's body, whatever the status code: the original API's shape. */
export interface ErrorBody {
  success: false;
  error: string;
}

export function json(body: unknown, status = 200, headers?: Record<string, string>): Response {
  return Response.json(body, { status, headers });
}

/** Every error keeps the original API's body shape, `{success:false, error}`, whatever the status code. */
export function failure(status: number, error: string, headers?: Record<string, string>): Response {
  const body: ErrorBody = { success: false, error };
  return json(body, status, headers);
}

export function xml(body: string): Response {
  return new Response(body, { headers: { "Content-Type": "text/xml; charset=utf-8" } });
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

/** SQLite could not write: a state of the machine, not a bug, and one a client may retry later. */
const STORAGE_CODES = new Set(["SQLITE_FULL", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN"]);
export const storageUnavailable = (e: unknown) =>
  typeof (e as { code?: unknown })?.code === "string" &&
  STORAGE_CODES.has((e as { code: string }).code.split("_").slice(0, 2).join("_"));
export const STORAGE_UNAVAILABLE = "Storage unavailable: the database cannot be written (disk full or read-only)";

export function rateLimited(waitS: number): HttpError {
  return new HttpError(429, `Rate limit exceeded: retry in ${waitS} s`, { "Retry-After": String(waitS) });
}

/**
 * A whole number written as plain decimal digits, within [min, max]; null for anything else. Number() would
 * also read "1.0", "1e0", "0x1", "+1" and " 1", so one value would have many spellings in a path or query.
 */
export function wholeNumber(text: string, min: number, max: number): number | null {
  if (!/^[0-9]+$/.test(text)) return null;
  const n = Number(text);
  return n >= min && n <= max ? n : null;
}

export const tooLarge = (limit: number) => new HttpError(413, `Request body too large: the limit is ${limit} bytes`);

/**
 * Reads a body up to `limit` bytes. Content-Length is checked first so a large upload is refused unread;
 * a body without one (chunked) is read as it arrives and dropped the moment it passes the limit.
 */
export async function readBody(req: Request, limit: number): Promise<string> {
  if (Number(req.headers.get("content-length") ?? 0) > limit) throw tooLarge(limit);
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      // Nothing more will be read; the client's error is the 413, not how the rest of its upload ends.
      reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/**
 * Whether JSON text nests `[`/`{` deeper than `max`, found by one linear pass over the raw text so that a
 * hostile body costs no more than its length: JSON.parse and any walk of the result are recursive.
 * Brackets inside strings do not count; invalid JSON is left for JSON.parse to word.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") {
      if (++depth > max) return true;
    } else if (c === "}" || c === "]") depth--;
  }
  return false;
}
