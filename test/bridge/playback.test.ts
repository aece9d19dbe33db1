import { describe, expect, test } from "bun:test";
import { audioSent, createPlayback, heardMs, interrupt, isPlaying, markPlayed } from "../../src/bridge/playback.ts";

describe("playback tracking from echoed marks", () => {
  test("heard audio follows echoes and extrapolates while audio is still queued", () => {
    const p = createPlayback();
    const m1 = audioSent(p, "r1", "i1", 800, 0); // 100 ms
    const m2 = audioSent(p, "r1", "i1", 800, 1);
    audioSent(p, "r1", "i1", 800, 2);
    expect(heardMs(p, 50)).toBe(50);
    expect(markPlayed(p, m1, 100)).toBe(true);
    expect(heardMs(p, 130)).toBe(130);
    expect(markPlayed(p, m2, 200)).toBe(true);
    expect(heardMs(p, 260)).toBe(260);
    // Never more than was sent.
    expect(heardMs(p, 10_000)).toBe(300);
  });

  test("barge-in cuts at what was heard, bumps the generation and ignores echoes of the cleared marks", () => {
    const p = createPlayback();
    const first = audioSent(p, "r1", "i1", 1600, 0);
    const second = audioSent(p, "r1", "i1", 1600, 0);
    markPlayed(p, first, 200);
    const cut = interrupt(p, 240)!;
    expect(cut).toEqual({ itemId: "i1", responseId: "r1", audioEndMs: 240 });
    expect(p.discarded.has("r1")).toBe(true);
    expect(isPlaying(p)).toBe(false);
    expect(markPlayed(p, second, 241)).toBe(false);
    expect(interrupt(p, 300)).toBeNull();
  });

  test("a new item queued behind an older one starts being heard when the older one has played", () => {
    const p = createPlayback();
    const a = audioSent(p, "r1", "i1", 800, 0);
    const b = audioSent(p, "r2", "i2", 800, 10);
    expect(heardMs(p, 50)).toBe(0);
    markPlayed(p, a, 100);
    expect(heardMs(p, 150)).toBe(50);
    markPlayed(p, b, 200);
    expect(isPlaying(p)).toBe(false);
    expect(heardMs(p, 500)).toBe(100);
  });

  test("nothing to interrupt when all audio has played", () => {
    const p = createPlayback();
    markPlayed(p, audioSent(p, "r1", "i1", 800, 0), 100);
    expect(interrupt(p, 150)).toBeNull();
  });
});
