import { describe, expect, test } from "bun:test";
import { createLogger } from "../src/log.ts";

describe("structured logger", () => {
  test("JSON lines with level and message; secrets and phone numbers redacted", () => {
    const lines: string[] = [];
    const log = createLogger((l) => lines.push(l)).child({ call_id: "c1" });
    log.warn("calling +15551234567", {
      to: "+15551234567",
      auth_token: "abc",
      nested: { apiKey: "k", list: ["+447700900123"] },
      err: new Error("To +15551234567 invalid"),
    });
    const rec = JSON.parse(lines[0]!);
    expect(rec).toMatchObject({
      level: "warn",
      call_id: "c1",
      auth_token: "[redacted]",
      nested: { apiKey: "[redacted]" },
    });
    expect(lines[0]).not.toContain("5551234567");
    expect(lines[0]).not.toContain("7700900123");
    expect(lines[0]).not.toContain("abc");
    expect(rec.to).toBe("+1********67");
    expect(Date.parse(rec.ts)).toBeGreaterThan(0);
  });
});
