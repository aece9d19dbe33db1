// The hold-music and beep meter on real sound: the simulator's recorded speech, its hold music and its beep,
// fed as Twilio's base64 payloads, 20 ms a frame.
import { describe, expect, test } from "bun:test";
import { createMusicMeter, meanSquare, meterFrame } from "../../src/gatekeepers/music.ts";
import { ULAW_DECODE } from "../../src/media/ulaw.ts";
import { holdMusic } from "../../src/sim/hold-music.ts";

const AUDIO = `${import.meta.dir}/../../src/sim/audio`;
const load = async (name: string) => new Uint8Array(await Bun.file(`${AUDIO}/${name}.ulaw`).arrayBuffer());
const payloads = (ulaw: Uint8Array) => {
  const out: string[] = [];
  for (let i = 0; i + 160 <= ulaw.length; i += 160) out.push(Buffer.from(ulaw.subarray(i, i + 160)).toString("base64"));
  return out;
};

describe("the meter", () => {
  test("reads the payload's samples in place: the same mean square as decoding it", () => {
    const bytes = holdMusic(20).subarray(0, 160);
    const decoded = [...bytes].reduce((n, b) => n + ULAW_DECODE[b]! ** 2, 0) / 160;
    expect(meanSquare(Buffer.from(bytes).toString("base64"))).toBeCloseTo(decoded, 6);
    // Twilio's frames are 160 bytes; a payload of any length, padded or not, reads the bytes it holds.
    expect(meanSquare(Buffer.from(bytes.subarray(0, 7)).toString("base64"))).toBeCloseTo(
      [...bytes.subarray(0, 7)].reduce((n, b) => n + ULAW_DECODE[b]! ** 2, 0) / 7,
      6,
    );
  });

  test("speech is never music, however long", async () => {
    const names = ["agent-greeting", "voicemail", "caller-move", "caller-yes", "caller-bye", "agent-offer"];
    const meter = createMusicMeter();
    let longest = 0;
    for (let round = 0; round < 3; round++)
      for (const name of names)
        for (const p of payloads(await load(name))) {
          meterFrame(meter, p);
          longest = Math.max(longest, meter.musicMs);
        }
    expect(longest).toBe(0);
  });

  test("hold music is music within three seconds, and stays music", () => {
    const meter = createMusicMeter();
    const frames = payloads(holdMusic(10_000));
    let first = -1;
    for (const [i, p] of frames.entries()) {
      meterFrame(meter, p);
      if (first < 0 && meter.musicMs > 0) first = i;
    }
    expect(first * 20).toBeLessThan(3000);
    expect(meter.musicMs).toBe((frames.length - first) * 20);
  });

  test("a beep followed by quiet counts as one tone", async () => {
    const meter = createMusicMeter();
    const silence = Buffer.alloc(160, 0xff).toString("base64");
    for (let i = 0; i < 10; i++) meterFrame(meter, silence);
    for (const p of payloads(await load("beep"))) meterFrame(meter, p);
    for (let i = 0; i < 10; i++) meterFrame(meter, silence);
    expect(meter.tones).toBe(1);
  });
});
