// src/wire/ owns reading one field of a JSON frame without parsing it, for the codecs' fast paths.
// It imports nothing.
//
// Reading one string field of a JSON text without parsing it, for the frames that carry audio: their
// keys and values never contain escapes (ids, names of our own, base64), so the first `"key":"` and
// the next quote delimit the value. Callers decline anything unusual and fall back to JSON.parse.

/** The value of the first `"key":"…"` at or after `from`, or null. It shares the memory of `text`: see `detached`. */
export function stringField(text: string, key: string, from = 0): string | null {
  const marker = `"${key}":"`;
  const at = text.indexOf(marker, from);
  if (at < 0) return null;
  const start = at + marker.length;
  const end = text.indexOf('"', start);
  return end < 0 ? null : text.slice(start, end);
}

/** Whether `needle` (an `"event":"…"` or `"type":"…"` pair) stands within the first `window` characters. */
export function startsWithin(text: string, needle: string, window: number): boolean {
  const at = text.indexOf(needle);
  return at >= 0 && at <= window;
}

/**
 * A copy of `value` that holds no reference to the text it was sliced from. The runtime's slices of a
 * long string point into it, so an id kept from one audio message would keep the whole message alive.
 */
export function detached(value: string): string {
  return Buffer.from(value, "latin1").toString("latin1");
}
