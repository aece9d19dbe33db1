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

  test("a URL's password is masked wherever it appears, the rest of the URL kept", () => {
    const lines: string[] = [];
    createLogger((l) => lines.push(l)).error("database unreachable", {
      error: new Error("connect failed: postgres://agenticai:s3cr3t-pw@db.internal:5432/calls"),
      target: "postgresql://u:p%40ss@10.0.0.1/x and https://example.com/path",
    });
    const rec = JSON.parse(lines[0]!);
    expect(lines[0]).not.toContain("s3cr3t");
    expect(rec.error).toBe("connect failed: postgres://agenticai:[redacted]@db.internal:5432/calls");
    expect(rec.target).toBe("postgresql://u:[redacted]@10.0.0.1/x and https://example.com/path");
  });

  test("every key that names a secret is masked, in any case; other keys keep their values", () => {
    const lines: string[] = [];
    const secretKeys = [
      "Authorization",
      "api_key",
      "APIKEY",
      "x-twilio-signature",
      "stream_token",
      "password",
      "secret",
    ];
    const plainKeys = ["url", "data_dir", "instance_id", "api_version", "key"];
    const fields = Object.fromEntries([...secretKeys, ...plainKeys].map((k) => [k, `value of ${k}`]));
    createLogger((l) => lines.push(l)).info("fields", fields);
    const rec = JSON.parse(lines[0]!);
    for (const k of secretKeys) expect(rec[k]).toBe("[redacted]");
    for (const k of plainKeys) expect(rec[k]).toBe(`value of ${k}`);
  });

  test("text with no phone number and no URL password is written as it is", () => {
    const lines: string[] = [];
    createLogger((l) => lines.push(l)).info("a + b @ c", { note: "1+1 and a@b, +12 34, https://x.example/@me" });
    expect(JSON.parse(lines[0]!)).toMatchObject({
      msg: "a + b @ c",
      note: "1+1 and a@b, +12 34, https://x.example/@me",
    });
  });
});
