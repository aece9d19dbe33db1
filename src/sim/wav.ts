import { ULAW_DECODE } from "../media/ulaw.ts";

/** A 16-bit PCM stereo WAV at 8 kHz from two μ-law tracks (left, right); the shorter is padded with silence. */
export function stereoWav(left: Uint8Array, right: Uint8Array): Uint8Array {
  const frames = Math.max(left.length, right.length);
  const dataBytes = frames * 4;
  const out = Buffer.alloc(44 + dataBytes);
  out.write("RIFF", 0, "ascii");
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write("WAVE", 8, "ascii");
  out.write("fmt ", 12, "ascii");
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(2, 22); // channels
  out.writeUInt32LE(8000, 24);
  out.writeUInt32LE(8000 * 4, 28); // byte rate
  out.writeUInt16LE(4, 32); // block align
  out.writeUInt16LE(16, 34);
  out.write("data", 36, "ascii");
  out.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < frames; i++) {
    out.writeInt16LE(ULAW_DECODE[left[i] ?? 0xff]!, 44 + i * 4);
    out.writeInt16LE(ULAW_DECODE[right[i] ?? 0xff]!, 46 + i * 4);
  }
  return out;
}
