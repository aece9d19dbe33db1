import { describe, expect, test } from "bun:test";
import { computeSignature, formParams, urlVariants, validateSignature } from "../../src/twilio/signature.ts";

const URL1 = "https://mycompany.com/myapp.php?foo=1&bar=2";
const params = (caller: string) => ({
  CallSid: "CA1234567890ABCDE",
  Caller: caller,
  Digits: "1234",
  From: caller,
  To: "+18005551212",
});

describe("X-Twilio-Signature (Twilio's published test vectors, token 12345)", () => {
  test("Twilio's security-docs example", () => {
    expect(computeSignature("12345", URL1, params("+12349013030"))).toBe("0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  });
  test("twilio-node spec vectors", () => {
    expect(computeSignature("12345", URL1, params("+14158675309"))).toBe("RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    expect(computeSignature("12345", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", params("+14158675309"))).toBe(
      "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
    );
  });
  test("WebSocket upgrade: wss URL, no params", () => {
    expect(computeSignature("12345", "wss://example.com/media")).toBe("7PR3qMkpDyEJtMrVOY/LDyNq8J8=");
  });
  test("validation tolerates the default port being added or left out, and nothing else", () => {
    const sig = computeSignature("12345", "https://example.com:443/twilio/voice", { A: "1" });
    expect(validateSignature("12345", sig, "https://example.com/twilio/voice", { A: "1" })).toBe(true);
    const noPort = computeSignature("12345", "https://example.com/twilio/voice", { A: "1" });
    expect(validateSignature("12345", noPort, "https://example.com:443/twilio/voice", { A: "1" })).toBe(true);
    expect(validateSignature("12345", noPort, "https://example.com/twilio/voice", { A: "2" })).toBe(false);
    expect(validateSignature("12345", noPort, "http://example.com/twilio/voice", { A: "1" })).toBe(false);
    expect(validateSignature("wrong", noPort, "https://example.com/twilio/voice", { A: "1" })).toBe(false);
    expect(validateSignature("12345", null, "https://example.com/twilio/voice", { A: "1" })).toBe(false);
  });
  test("URL variants keep non-default ports", () => {
    expect(urlVariants("http://127.0.0.1:8080/x")).toEqual(["http://127.0.0.1:8080/x"]);
  });
  test("repeated form keys are signed sorted and de-duplicated", () => {
    const p = formParams("E=b&E=a&E=b&Z=1");
    expect(p).toEqual({ E: ["b", "a", "b"], Z: "1" });
    expect(computeSignature("t", "https://x/y", p)).toBe(
      computeSignature("t", "https://x/y", { E: ["a", "b"], Z: "1" }),
    );
  });
});
