// Paging GET /api/calls: `limit` and an opaque `cursor`, the (created_at, id) of the last call of the page
// before, base64url-encoded. A cursor names a place in the order rather than an offset, so calls created
// while a client pages come after it and no call is skipped or listed twice.
import type { PageKey, StoredStatus } from "../store/store.ts";
import { HttpError, wholeNumber } from "./respond.ts";

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 200;

export const LIMIT_ERROR = `'limit' must be a whole number from 1 to ${MAX_PAGE}`;
export const CURSOR_ERROR = "Invalid 'cursor': pass the next_cursor of the previous page as it is";

/** Plain decimal digits only (wholeNumber): `1e1`, `0x10`, `+5` or `5.0` are refused rather than read as numbers. */
export function pageLimit(raw: string | null): number {
  if (raw === null) return DEFAULT_PAGE;
  const limit = wholeNumber(raw, 1, MAX_PAGE);
  if (limit === null) throw new HttpError(400, LIMIT_ERROR);
  return limit;
}

/** The statuses a call not ended may have: what `?status=` may narrow the list to. */
const ACTIVE_STATUSES: readonly StoredStatus[] = ["scheduled", "queued", "initiated", "ringing", "in-progress"];
const STATUS_ERROR = `'status' must be one of: ${ACTIVE_STATUSES.join(", ")}`;

export function pageStatus(raw: string | null): StoredStatus | null {
  if (raw === null) return null;
  const status = ACTIVE_STATUSES.find((s) => s === raw);
  if (!status) throw new HttpError(400, STATUS_ERROR);
  return status;
}

export function encodeCursor(key: PageKey): string {
  return Buffer.from(`${key.created_at}.${key.id}`).toString("base64url");
}

/**
 * Only what encodeCursor makes: Buffer's base64url decoder skips characters it does not know, so the key is
 * encoded again and compared.
 */
export function decodeCursor(raw: string | null): PageKey | null {
  if (raw === null) return null;
  const text = /^[A-Za-z0-9_-]{1,200}$/.test(raw) ? Buffer.from(raw, "base64url").toString() : "";
  const match = /^([0-9]{1,15})\.([A-Za-z0-9-]{1,64})$/.exec(text);
  const key = match ? { created_at: Number(match[1]), id: match[2]! } : null;
  if (!key || encodeCursor(key) !== raw) throw new HttpError(400, CURSOR_ERROR);
  return key;
}
