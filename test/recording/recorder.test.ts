import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ULAW_DECODE, ULAW_ENCODE } from "../../src/media/ulaw.ts";
import { createRecorder } from "../../src/recording/recorder.ts";
import { openWavFile } from "../../src/recording/wav-file.ts";
import { tempDir } from "../support/app.ts";

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FRAME = 160;
/** A μ-law frame of one constant sample, so each sample says which frame it came from. */
const frame = (level: number, n = FRAME) => Buffer.alloc(n, ULAW_ENCODE[level & 0xffff]!).toString("base64");
const level = (v: number) => ULAW_DECODE[ULAW_ENCODE[v & 0xffff]!]!;

function readWav(path: string) {
  const b = readFileSync(path);
  const samples = (b.length - 44) / 4;
  const left: number[] = [];
  const right: number[] = [];
  for (let i = 0; i < samples; i++) {
    left.push(b.readInt16LE(44 + i * 4));
    right.push(b.readInt16LE(46 + i * 4));
  }
  return {
    riff: b.readUInt32LE(4),
    data: b.readUInt32LE(40),
    channels: b.readUInt16LE(22),
    rate: b.readUInt32LE(24),
    left,
    right,
  };
}

describe("recorder", () => {
  test("the caller's frames are the clock; agent audio plays in order from when it was sent", () => {
    const path = join(dir, "a.wav");
    const rec = createRecorder(openWavFile(path), (e) => {
      throw e;
    });
    rec.callerFrame(frame(1000));
    // 300 ms of agent audio sent at once, faster than real time, as the model's replies come.
    rec.agentAudio(frame(2000, 2400));
    for (let i = 0; i < 4; i++) rec.callerFrame(frame(3000));
    rec.close();
    const wav = readWav(path);
    expect([wav.channels, wav.rate, wav.data, wav.riff]).toEqual([2, 8000, 5 * FRAME * 4, 36 + 5 * FRAME * 4]);
    expect(wav.left.slice(0, FRAME).every((s) => s === level(1000))).toBe(true);
    expect(wav.right.slice(0, FRAME).every((s) => s === level(0))).toBe(true);
    expect(wav.right.slice(FRAME).every((s) => s === level(2000))).toBe(true);
    expect(wav.left.slice(FRAME).every((s) => s === level(3000))).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  test("a clear drops the agent audio not yet heard; a caller gap is silence on the caller's side", () => {
    const path = join(dir, "b.wav");
    const rec = createRecorder(openWavFile(path), () => {});
    rec.agentAudio(frame(2000, 800));
    rec.callerFrame(frame(1000));
    rec.cleared();
    rec.callerGap(40);
    rec.callerFrame(frame(1000));
    rec.close();
    const wav = readWav(path);
    expect(wav.left.length).toBe(4 * FRAME);
    expect(wav.right.slice(0, FRAME).every((s) => s === level(2000))).toBe(true);
    expect(wav.right.slice(FRAME).every((s) => s === level(0))).toBe(true);
    expect(wav.left.slice(FRAME, 3 * FRAME).every((s) => s === level(0))).toBe(true);
  });

  test("the same call's next bridge continues its recording rather than replacing it", () => {
    const path = join(dir, "c.wav");
    for (const v of [1000, 3000]) {
      const rec = createRecorder(openWavFile(path), () => {});
      rec.callerFrame(frame(v));
      rec.close();
    }
    const wav = readWav(path);
    expect(wav.data).toBe(2 * FRAME * 4);
    expect([wav.left[0], wav.left[FRAME]]).toEqual([level(1000), level(3000)]);
  });

  test("a recording that cannot be written stops and says so once; the call goes on", () => {
    const errors: unknown[] = [];
    const rec = createRecorder(
      {
        sample: () => {
          throw new Error("ENOSPC");
        },
        close: () => {},
      },
      (e) => errors.push(e),
    );
    rec.callerFrame(frame(1000));
    rec.callerFrame(frame(1000));
    rec.close();
    expect(errors).toHaveLength(1);
  });

  test("a recording that stops is closed once with what it holds, so shared storage still gets that much", () => {
    let written = 0;
    let closed = 0;
    const rec = createRecorder(
      {
        sample: () => {
          if (++written > FRAME) throw new Error("ENOSPC");
        },
        close: () => {
          closed++;
        },
      },
      () => {},
    );
    rec.callerFrame(frame(1000));
    rec.callerFrame(frame(1000));
    rec.callerFrame(frame(1000));
    rec.close();
    expect(closed).toBe(1);
  });
});
