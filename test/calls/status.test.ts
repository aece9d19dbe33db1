import { describe, expect, test } from "bun:test";
import { judge } from "../../src/calls/status.ts";

describe("judge: applying Twilio status reports", () => {
  test("forward moves apply, with or without a sequence number", () => {
    expect(judge({ status: "queued", last_sequence: -1 }, "initiated", 0)).toBe("apply");
    expect(judge({ status: "ringing", last_sequence: 1 }, "in-progress", undefined)).toBe("apply");
    expect(judge({ status: "ringing", last_sequence: 1 }, "busy", 2)).toBe("apply");
  });
  test("older sequence numbers and backward moves are out of order", () => {
    expect(judge({ status: "ringing", last_sequence: 1 }, "initiated", 0)).toBe("out_of_order");
    expect(judge({ status: "in-progress", last_sequence: -1 }, "ringing", undefined)).toBe("out_of_order");
  });
  test("repeats are duplicates", () => {
    expect(judge({ status: "ringing", last_sequence: 1 }, "ringing", 1)).toBe("duplicate");
    expect(judge({ status: "completed", last_sequence: 3 }, "completed", 4)).toBe("duplicate");
  });
  test("nothing leaves a terminal status", () => {
    for (const s of ["completed", "busy", "failed", "no-answer", "canceled"]) {
      expect(judge({ status: s, last_sequence: 2 }, "in-progress", 9)).toBe(
        s === "in-progress" ? "duplicate" : "after_terminal",
      );
    }
  });
});
