import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  DTMF_DIGITS,
  DTMF_GAP_MS,
  DTMF_PAUSE_MS,
  DTMF_TONE_MS,
  dtmfDurationMs,
  dtmfUlaw,
} from "../../src/media/dtmf.ts";
import { ULAW_ENCODE } from "../../src/media/ulaw.ts";
import { decodeDtmf, ulawToLinear } from "../support/goertzel.ts";

const KEYS = "123A456B789C*0#D";
const FRAME_BYTES = 160;
const SAMPLES_PER_MS = 8;
const FULL_SCALE = 32768;
const AUDIO_DIR = `${import.meta.dir}/../../src/sim/audio`;

const digitsOf = (ulaw: Uint8Array) => decodeDtmf(ulaw).map((d) => d.digit);

function sine(hz: number, ms: number, amplitude: number): Uint8Array {
  const out = new Uint8Array(ms * SAMPLES_PER_MS);
  for (let i = 0; i < out.length; i++)
    out[i] = ULAW_ENCODE[Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / 8000)) & 0xffff]!;
  return out;
}

async function fixture(name: string): Promise<Uint8Array> {
  return new Uint8Array(await Bun.file(`${AUDIO_DIR}/${name}`).arrayBuffer());
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

describe("DTMF_DIGITS", () => {
  test("accepts keys, pauses and lower case", () => {
    for (const ok of [KEYS, "1w2#", "a", "W", "abcd", "0"]) expect(DTMF_DIGITS.test(ok)).toBe(true);
  });

  test('rejects "x", "1 2", "" and other characters', () => {
    for (const bad of ["x", "1 2", "", "1-2", "E", "+1", "1\n"]) expect(DTMF_DIGITS.test(bad)).toBe(false);
  });
});

describe("dtmfUlaw", () => {
  test("every one of the 16 keys round-trips through the decoder", () => {
    const found = decodeDtmf(dtmfUlaw(KEYS));
    expect(found.map((d) => d.digit).join("")).toBe(KEYS);
    for (const [i, d] of found.entries()) {
      expect(d.startMs).toBe(i * (DTMF_TONE_MS + DTMF_GAP_MS));
      expect(d.endMs - d.startMs).toBe(DTMF_TONE_MS);
    }
  });

  test('"1w2#": the pause separates 1 and 2 by at least 500 ms; tones last about 100 ms', () => {
    const found = decodeDtmf(dtmfUlaw("1w2#"));
    expect(found.map((d) => d.digit)).toEqual(["1", "2", "#"]);
    expect(found[1]!.startMs - found[0]!.endMs).toBeGreaterThanOrEqual(DTMF_PAUSE_MS);
    for (const d of found) expect(Math.abs(d.endMs - d.startMs - DTMF_TONE_MS)).toBeLessThanOrEqual(10);
  });

  test("a repeated key decodes as two presses", () => {
    expect(digitsOf(dtmfUlaw("11"))).toEqual(["1", "1"]);
    expect(digitsOf(dtmfUlaw("0000"))).toEqual(["0", "0", "0", "0"]);
  });

  test('lower-case "a" and "W" are accepted', () => {
    expect(digitsOf(dtmfUlaw("a"))).toEqual(["A"]);
    expect(dtmfUlaw("W")).toEqual(dtmfUlaw("w"));
    expect(dtmfUlaw("1W2")).toEqual(dtmfUlaw("1w2"));
    expect(dtmfDurationMs("W")).toBe(DTMF_PAUSE_MS);
  });

  test("a character outside DTMF_DIGITS throws rather than playing silence", () => {
    expect(() => dtmfUlaw("1x")).toThrow(RangeError);
    expect(() => dtmfDurationMs(" ")).toThrow(RangeError);
  });

  test("output is whole 20 ms frames, as long as dtmfDurationMs says, silence around the tones", () => {
    for (const digits of ["", "1", "w", "1w2#", KEYS, "ww9"]) {
      const out = dtmfUlaw(digits);
      expect(out.length % FRAME_BYTES).toBe(0);
      expect(out.length).toBe(dtmfDurationMs(digits) * SAMPLES_PER_MS);
    }
    expect(dtmfDurationMs("1w2#")).toBe(3 * (DTMF_TONE_MS + DTMF_GAP_MS) + DTMF_PAUSE_MS);
    const one = dtmfUlaw("5");
    expect(one.subarray(DTMF_TONE_MS * SAMPLES_PER_MS).every((b) => b === 0xff)).toBe(true);
  });

  test("any key string decodes to its keys, pauses dropped", () => {
    const key = fc.constantFrom(..."0123456789*#ABCDabcdwW");
    fc.assert(
      fc.property(fc.array(key, { minLength: 1, maxLength: 8 }), (keys) => {
        const expected = keys.filter((k) => k.toLowerCase() !== "w").map((k) => k.toUpperCase());
        expect(digitsOf(dtmfUlaw(keys.join("")))).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });

  test("each tone is 0.25–0.35 of full scale (protocols.md §4.4), so the pair never clips", () => {
    for (const key of KEYS) {
      const tone = Array.from(dtmfUlaw(key).subarray(0, DTMF_TONE_MS * SAMPLES_PER_MS), ulawToLinear);
      // Two sines of amplitude A together have mean square A²; their peak approaches 2A.
      const perTone = Math.sqrt(tone.reduce((s, v) => s + v * v, 0) / tone.length) / FULL_SCALE;
      const peak = Math.max(...tone.map(Math.abs)) / FULL_SCALE;
      expect(perTone).toBeGreaterThanOrEqual(0.25);
      expect(perTone).toBeLessThanOrEqual(0.35);
      expect(peak).toBeGreaterThanOrEqual(2 * 0.25);
      expect(peak).toBeLessThanOrEqual(2 * 0.35);
    }
  });
});

describe("decodeDtmf", () => {
  test("its own μ-law decoder gives the G.711 end points", () => {
    expect([0xff, 0xfe, 0x7e, 0x80, 0x00].map(ulawToLinear)).toEqual([0, 8, -8, 32124, -32124]);
  });

  test("hears no keys in the simulator's speech and beep fixtures", async () => {
    const names = [...new Bun.Glob("*.ulaw").scanSync(AUDIO_DIR)];
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect({ name, found: decodeDtmf(await fixture(name)) }).toEqual({ name, found: [] });
  });

  test("hears no keys in single tones: the simulator's 440 Hz, and one DTMF row or column alone", () => {
    for (const hz of [440, 697, 941, 1209, 1633]) expect(decodeDtmf(sine(hz, 1000, 8000))).toEqual([]);
  });

  test("keys between recorded speech still decode exactly", async () => {
    const speech = await fixture("caller-move.ulaw");
    const digits = "159#0*";
    const found = decodeDtmf(concat(speech, dtmfUlaw(digits), speech));
    expect(found.map((d) => d.digit).join("")).toBe(digits);
    const toneStartMs = speech.length / SAMPLES_PER_MS;
    expect(Math.abs(found[0]!.startMs - toneStartMs)).toBeLessThanOrEqual(10);
  });

  test("keys right against speech, no silence between, still decode", async () => {
    const speech = await fixture("agent-bye.ulaw");
    const keys = dtmfUlaw("7");
    const toneOnly = keys.subarray(0, DTMF_TONE_MS * SAMPLES_PER_MS);
    expect(digitsOf(concat(speech, toneOnly, speech))).toEqual(["7"]);
  });

  test("a tone shorter than 40 ms is not a key; one of 40 ms is", () => {
    const tone = dtmfUlaw("8").subarray(0, DTMF_TONE_MS * SAMPLES_PER_MS);
    const silence = new Uint8Array(400).fill(0xff);
    // An odd offset keeps the tone off the decoder's 10 ms grid.
    const at = (ms: number) => concat(silence.subarray(0, 37), tone.subarray(0, ms * SAMPLES_PER_MS), silence);
    expect(digitsOf(at(20))).toEqual([]);
    expect(digitsOf(at(40))).toEqual(["8"]);
  });
});
