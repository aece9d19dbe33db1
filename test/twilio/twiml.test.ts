import { describe, expect, test } from "bun:test";
import twilio from "twilio";
import { connectStream, dial, reject, sayAndHangup } from "../../src/twilio/twiml.ts";

// The server writes its TwiML itself; the twilio SDK, a dev dependency only, is what it must match byte for byte.
const { VoiceResponse } = twilio.twiml;

const NASTY = [
  "plain",
  "a&b\"c<d>e'f",
  "tab\there\nnew\rline",
  "&amp; already escaped",
  "emoji 😀 and ünïcödé",
  "https://example.com/twilio/after-stream?call_id=c_1&token=x y",
  "",
];

function sdkStream(streamUrl: string, parameters: Record<string, string>, action?: string): string {
  const response = new VoiceResponse();
  const stream = response.connect(action ? { action, method: "POST" } : {}).stream({ url: streamUrl });
  for (const [name, value] of Object.entries(parameters)) stream.parameter({ name, value });
  return response.toString();
}

function sdkSay(text?: string): string {
  const response = new VoiceResponse();
  if (text) response.say(text);
  response.hangup();
  return response.toString();
}

describe("TwiML, as the twilio SDK writes it", () => {
  test("<Connect><Stream> with parameters, with and without an action", () => {
    for (const value of NASTY) {
      const parameters = { callId: "c_1", note: value, [`k${value.length}`]: value };
      for (const action of [undefined, `https://x.example/after?v=${value}`]) {
        const ours = connectStream({ streamUrl: `wss://x.example/media/${value}`, parameters, action });
        expect(ours).toBe(sdkStream(`wss://x.example/media/${value}`, parameters, action));
      }
    }
    expect(connectStream({ streamUrl: "wss://x.example/media", parameters: {} })).toBe(
      sdkStream("wss://x.example/media", {}),
    );
  });

  test("<Say> then <Hangup>, and <Hangup> alone", () => {
    for (const text of [...NASTY, undefined]) expect(sayAndHangup(text)).toBe(sdkSay(text));
  });

  test("<Reject> with each reason", () => {
    for (const reason of ["rejected", "busy"] as const) {
      const response = new VoiceResponse();
      response.reject({ reason });
      expect(reject(reason)).toBe(response.toString());
    }
    expect(reject()).toBe(reject("rejected"));
  });

  test("<Dial> with its attributes", () => {
    for (const action of NASTY) {
      const p = { to: "+15551230001", callerId: "+15550000000", timeoutS: 20, timeLimitS: 3600, action };
      const response = new VoiceResponse();
      response.dial(
        { callerId: p.callerId, timeout: p.timeoutS, timeLimit: p.timeLimitS, action: p.action, method: "POST" },
        p.to,
      );
      expect(dial(p)).toBe(response.toString());
    }
  });

  test("characters XML 1.0 cannot carry are refused, with the SDK's message", () => {
    const bad = ["nul\u0000", "\u0001start", "bell\u0007 mid", "\uFFFE", "lone \uD800 high", "\uDC00 lone low"];
    for (const text of [...bad, "pair \uD83D\uDE00\uDC00 then lone low", "ok \uD83D\uDE00"]) {
      let sdk: unknown = null;
      let ours: unknown = null;
      try {
        sdkSay(text);
      } catch (e) {
        sdk = (e as Error).message;
      }
      try {
        sayAndHangup(text);
      } catch (e) {
        ours = (e as Error).message;
      }
      expect(ours).toEqual(sdk);
      expect(ours === null).toBe(text === "ok \uD83D\uDE00");
    }
  });
});
