import { describe, expect, test } from "bun:test";
import {
  audioSent,
  createPlayback,
  forgetPending,
  heardMs,
  interrupt,
  isPlaying,
  markPlayed,
} from "../../src/bridge/playback.ts";

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
    const cut = interrupt(p, 240, "r1")!;
    expect(cut).toEqual({ itemId: "i1", responseId: "r1", audioEndMs: 240 });
    expect(p.discarded.has("r1")).toBe(true);
    expect(isPlaying(p)).toBe(false);
    expect(markPlayed(p, second, 241)).toBe(false);
    expect(interrupt(p, 300, "r1")).toBeNull();
  });

  test("a reply that has finished streaming is cut where heard but not remembered as discarded", () => {
    const p = createPlayback();
    audioSent(p, "r1", "i1", 1600, 0);
    // No response is streaming: r1's deltas have all arrived, so none can follow the cut.
    expect(interrupt(p, 100, null)).toEqual({ itemId: "i1", responseId: "r1", audioEndMs: 100 });
    expect(p.discarded.size).toBe(0);
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
    expect(interrupt(p, 150, null)).toBeNull();
  });

  test("a long reply sent far ahead of playback keeps every pending mark", () => {
    const p = createPlayback();
    // 1000 chunks of 20 ms queued at once: more marks than the arrays first hold.
    const names = Array.from({ length: 1000 }, () => audioSent(p, "r1", "i1", 160, 0));
    expect(markPlayed(p, names[499]!, 10_000)).toBe(true);
    expect(heardMs(p, 10_000)).toBe(10_000);
    expect(heardMs(p, 10_100)).toBe(10_100);
    expect(markPlayed(p, names[999]!, 20_000)).toBe(true);
    expect(isPlaying(p)).toBe(false);
    expect(heardMs(p, 30_000)).toBe(20_000);
  });

  test("echoes already applied, unknown numbers and malformed names are refused", () => {
    const p = createPlayback();
    const a = audioSent(p, "r1", "i1", 800, 0);
    const b = audioSent(p, "r1", "i1", 800, 0);
    expect(markPlayed(p, b, 200)).toBe(true);
    // In-order playback: the echo of b says a has played as well.
    expect(markPlayed(p, a, 201)).toBe(false);
    for (const name of ["g0.3", "g0.", "g.1", "x0.1", "g0.1x", "g1.2", "", "g0.99999999999999999"])
      expect(markPlayed(p, name, 202)).toBe(false);
  });

  test("forgetting pending marks ends playback: nothing is left to interrupt", () => {
    const p = createPlayback();
    const a = audioSent(p, "r1", "i1", 800, 0);
    audioSent(p, "r1", "i1", 800, 0);
    markPlayed(p, a, 100);
    forgetPending(p);
    expect(isPlaying(p)).toBe(false);
    expect(interrupt(p, 150, null)).toBeNull();
  });
});
