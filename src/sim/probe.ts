// Load measurement: audio is stamped with its send time where it enters the system and read where it
// leaves. The server forwards μ-law untouched, so the stamp survives the trip. Both ends run in the
// load generator's process, so one clock serves. The stamp fills the first 12 bytes, which are exactly
// the first 16 base64 characters: a stamped payload is a fresh 16-character head on a fixed tail, and
// reading a stamp decodes 16 characters, whatever the frame's size.
const MAGIC0 = 0x7a;
const MAGIC1 = 0xa7;
const HEAD_BYTES = 12;
const HEAD_CHARS = 16;
const head = new Uint8Array(HEAD_BYTES).fill(0xff);
const view = new DataView(head.buffer);

/** Base64 of `bytes` μ-law bytes whose head carries the stamp `now` and whose rest is silence. */
export function stampedSilence(bytes: number): () => string {
  const tail = Buffer.alloc(Math.max(0, bytes - HEAD_BYTES), 0xff).toString("base64");
  return () => {
    head[0] = MAGIC0;
    head[1] = MAGIC1;
    view.setFloat64(2, performance.now(), true);
    return Buffer.from(head.buffer).toString("base64") + tail;
  };
}

/** The send time stamped into a base64 payload, or null if it carries none. */
export function readStamp(b64: string): number | null {
  if (b64.length < HEAD_CHARS) return null;
  const bytes = Buffer.from(b64.slice(0, HEAD_CHARS), "base64");
  if (bytes[0] !== MAGIC0 || bytes[1] !== MAGIC1) return null;
  return bytes.readDoubleLE(2);
}
