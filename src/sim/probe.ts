// Load measurement: audio is stamped with its send time where it enters the system and read where it
// leaves. The server forwards μ-law untouched, so the stamp survives the trip. Both ends run in the
// load generator's process, so one clock serves.
const MAGIC0 = 0x7a;
const MAGIC1 = 0xa7;
export const STAMP_BYTES = 10;

export function stamp(buf: Uint8Array, now = performance.now()): void {
  buf[0] = MAGIC0;
  buf[1] = MAGIC1;
  new DataView(buf.buffer, buf.byteOffset + 2, 8).setFloat64(0, now, true);
}

/** The send time stamped into `buf`, or null if it carries none. */
export function readStamp(buf: Uint8Array): number | null {
  if (buf.length < STAMP_BYTES || buf[0] !== MAGIC0 || buf[1] !== MAGIC1) return null;
  return new DataView(buf.buffer, buf.byteOffset + 2, 8).getFloat64(0, true);
}
