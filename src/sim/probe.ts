// Load measurement: audio is stamped with its send time where it enters the system and read where it
// leaves. The server forwards μ-law untouched, so the stamp survives the trip. Both ends run in the
// load generator's process, so one clock serves. The stamp fills the first 18 bytes, which are exactly
// the first 24 base64 characters: a stamped payload is a fresh 24-character head on a fixed tail, and
// reading a stamp decodes 24 characters, whatever the frame's size.
//
// Each stamp byte is one of the quietest μ-law codes (0xF0–0xFF, within a few steps of zero), carrying four
// bits: the line stays as quiet as the silence it stands for. Whole bytes of a float made the frames loud and
// steady from one to the next, which the server's hold detector rightly took for hold music.
const MAGIC0 = 0xf5;
const MAGIC1 = 0xfa;
const QUIET = 0xf0;
const HEAD_BYTES = 18;
const HEAD_CHARS = 24;
const head = new Uint8Array(HEAD_BYTES).fill(0xff);
const time = new Float64Array(1);
const timeBytes = new Uint8Array(time.buffer);
const read = new Float64Array(1);
const readBytes = new Uint8Array(read.buffer);

/** Base64 of `bytes` μ-law bytes whose head carries the stamp `now` and whose rest is silence. */
export function stampedSilence(bytes: number): () => string {
  const tail = Buffer.alloc(Math.max(0, bytes - HEAD_BYTES), 0xff).toString("base64");
  return () => {
    head[0] = MAGIC0;
    head[1] = MAGIC1;
    time[0] = performance.now();
    for (let i = 0; i < 8; i++) {
      head[2 + 2 * i] = QUIET | (timeBytes[i]! >> 4);
      head[3 + 2 * i] = QUIET | (timeBytes[i]! & 0x0f);
    }
    return Buffer.from(head.buffer).toString("base64") + tail;
  };
}

/** The send time stamped into a base64 payload, or null if it carries none. */
export function readStamp(b64: string): number | null {
  if (b64.length < HEAD_CHARS) return null;
  const bytes = Buffer.from(b64.slice(0, HEAD_CHARS), "base64");
  if (bytes[0] !== MAGIC0 || bytes[1] !== MAGIC1) return null;
  for (let i = 0; i < 8; i++) readBytes[i] = ((bytes[2 + 2 * i]! & 0x0f) << 4) | (bytes[3 + 2 * i]! & 0x0f);
  return read[0]!;
}
