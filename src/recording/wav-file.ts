// A stereo 16-bit PCM WAV at 8 kHz written as it grows: a second of frames is gathered in one reused buffer
// and written at once, and the header's sizes are set when the file is closed. Until then they say "as long
// as the file is", which players read as a stream, so a recording can be played while its call goes on.
import { closeSync, existsSync, fstatSync, openSync, writeSync } from "node:fs";

export const SAMPLE_RATE = 8_000;
const CHANNELS = 2;
const BYTES_PER_FRAME = CHANNELS * 2;
export const HEADER_BYTES = 44;
/** What the sizes say while the file is still being written. */
const UNKNOWN_SIZE = 0xffff_ffff;
/** A recording holds the conversation: its owner's only. */
const PRIVATE_FILE = 0o600;

export interface WavFile {
  /** Appends one stereo sample. */
  sample(left: number, right: number): void;
  /** Writes what is gathered, sets the header's sizes and closes the file. */
  close(): void;
}

export function wavHeader(dataBytes: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.write("RIFF", 0, "ascii");
  h.writeUInt32LE(dataBytes === UNKNOWN_SIZE ? UNKNOWN_SIZE : 36 + dataBytes, 4);
  h.write("WAVEfmt ", 8, "ascii");
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(CHANNELS, 22);
  h.writeUInt32LE(SAMPLE_RATE, 24);
  h.writeUInt32LE(SAMPLE_RATE * BYTES_PER_FRAME, 28);
  h.writeUInt16LE(BYTES_PER_FRAME, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36, "ascii");
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

/**
 * Opens `path` for writing; a file already there (the same call's agent coming back after a transfer nobody
 * took) is continued rather than replaced.
 */
export function openWavFile(path: string): WavFile {
  const continued = existsSync(path);
  const fd = openSync(path, continued ? "r+" : "w", PRIVATE_FILE);
  let position = continued ? Math.max(HEADER_BYTES, fstatSync(fd).size) : HEADER_BYTES;
  if (!continued) writeSync(fd, wavHeader(UNKNOWN_SIZE), 0, HEADER_BYTES, 0);
  const buffer = Buffer.alloc(SAMPLE_RATE * BYTES_PER_FRAME);
  let filled = 0;
  const flush = () => {
    if (filled === 0) return;
    writeSync(fd, buffer, 0, filled, position);
    position += filled;
    filled = 0;
  };
  return {
    sample(left, right) {
      buffer.writeInt16LE(left, filled);
      buffer.writeInt16LE(right, filled + 2);
      filled += BYTES_PER_FRAME;
      if (filled === buffer.length) flush();
    },
    close() {
      flush();
      writeSync(fd, wavHeader(position - HEADER_BYTES), 0, HEADER_BYTES, 0);
      closeSync(fd);
    },
  };
}
