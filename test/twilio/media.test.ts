import { describe, expect, test } from "bun:test";
import { audioDelta, isTranscriptDelta } from "../../src/model/realtime.ts";
import {
  ControlMessage,
  clearMessage,
  markMessage,
  markName,
  mediaMessage,
  mediaPayload,
  mediaTimestamp,
  readTwilioMessage,
  type TwilioHandlers,
} from "../../src/twilio/media.ts";

const SID = `MZ${"0123456789abcdef".repeat(2)}`;

describe("Twilio media stream messages", () => {
  test("media payload fast path matches a full parse, and declines anything unusual", () => {
    const frame = `{"event":"media","sequenceNumber":"2","streamSid":"${SID}","media":{"track":"inbound","chunk":"1","timestamp":"20","payload":"/////37+fn5+"}}`;
    expect(mediaPayload(frame)).toBe("/////37+fn5+");
    expect(mediaPayload(`{"sequenceNumber":"2","event":"media","media":{"payload":"AA=="}}`)).toBe("AA==");
    // Far from the start the event may be a value inside some other field: leave it to the parser.
    expect(mediaPayload(`{"streamSid":"${SID}","event":"media","media":{"payload":"AA=="}}`)).toBeNull();
    expect(mediaPayload('{"event":"mark","mark":{"name":"x"}}')).toBeNull();
    expect(mediaPayload('{"event":"media","media":{}}')).toBeNull();
  });

  test("mark echoes take the fast path too; odd names are declined", () => {
    expect(markName(`{"event":"mark","sequenceNumber":"41","streamSid":"${SID}","mark":{"name":"g0.17"}}`)).toBe(
      "g0.17",
    );
    expect(markName(`{"event":"mark","mark":{"name":"a\\"b"}}`)).toBeNull();
    expect(markName(`{"event":"media","media":{"payload":"AA=="}}`)).toBeNull();
  });

  test("outbound messages are exactly Twilio's three shapes", () => {
    expect(JSON.parse(mediaMessage(SID, "AAEC"))).toEqual({
      event: "media",
      streamSid: SID,
      media: { payload: "AAEC" },
    });
    expect(JSON.parse(markMessage(SID, "g0.1"))).toEqual({ event: "mark", streamSid: SID, mark: { name: "g0.1" } });
    expect(JSON.parse(clearMessage(SID))).toEqual({ event: "clear", streamSid: SID });
  });

  test("control messages are validated", () => {
    expect(ControlMessage.safeParse({ event: "dtmf", dtmf: { track: "inbound_track", digit: "5" } }).success).toBe(
      true,
    );
    expect(ControlMessage.safeParse({ event: "dtmf", dtmf: { digit: "55" } }).success).toBe(false);
    expect(ControlMessage.safeParse({ event: "start", streamSid: "nope", start: {} }).success).toBe(false);
    expect(ControlMessage.safeParse({ event: "bogus" }).success).toBe(false);
  });
});

describe("model audio delta fast path", () => {
  test("extracts ids and audio without parsing, declines other events, and spots transcript deltas", () => {
    const text = JSON.stringify({
      type: "response.output_audio.delta",
      event_id: "e1",
      response_id: "resp_1",
      item_id: "item_1",
      output_index: 0,
      content_index: 0,
      delta: "AAEC",
    });
    expect(audioDelta(text)).toEqual({ responseId: "resp_1", itemId: "item_1", delta: "AAEC" });
    expect(
      audioDelta(JSON.stringify({ type: "response.output_audio.done", response_id: "r", item_id: "i" })),
    ).toBeNull();
    expect(
      audioDelta(
        JSON.stringify({
          event_id: "event_1",
          type: "response.output_audio.delta",
          response_id: "r",
          item_id: "i",
          delta: "AA",
        }),
      ),
    ).toEqual({ responseId: "r", itemId: "i", delta: "AA" });
    expect(audioDelta(JSON.stringify({ type: "response.output_audio.delta", delta: "AA" }))).toBeNull();
    expect(
      isTranscriptDelta(
        JSON.stringify({
          type: "response.output_audio_transcript.delta",
          event_id: "e",
          response_id: "r",
          item_id: "i",
          delta: "Hel",
        }),
      ),
    ).toBe(true);
    expect(
      isTranscriptDelta(
        JSON.stringify({
          type: "response.output_audio_transcript.done",
          response_id: "r",
          item_id: "i",
          transcript: "Hello",
        }),
      ),
    ).toBe(false);
    expect(isTranscriptDelta(text)).toBe(false);
  });
});

describe("media timestamps", () => {
  test("read as numbers; anything but digits is no timestamp", () => {
    expect(mediaTimestamp('{"event":"media","media":{"chunk":"41","timestamp":"820","payload":"AA=="}}')).toBe(820);
    expect(mediaTimestamp('{"event":"media","media":{"timestamp":"0","payload":"AA=="}}')).toBe(0);
    expect(mediaTimestamp('{"event":"media","media":{"timestamp":"","payload":"AA=="}}')).toBeNull();
    expect(mediaTimestamp('{"event":"media","media":{"timestamp":"12a","payload":"AA=="}}')).toBeNull();
    expect(mediaTimestamp('{"event":"media","media":{"payload":"AA=="}}')).toBeNull();
  });
});

describe("reading Twilio's messages", () => {
  function reader() {
    const got: unknown[][] = [];
    const on: TwilioHandlers = {
      media: (payload, timestamp) => got.push(["media", payload, timestamp]),
      mark: (name) => got.push(["mark", name]),
      start: (start) => got.push(["start", start.start.callSid]),
      dtmf: (digit) => got.push(["dtmf", digit]),
      stop: () => got.push(["stop"]),
      invalid: (event) => got.push(["invalid", event]),
    };
    return { got, read: (message: unknown) => readTwilioMessage(JSON.stringify(message), on) };
  }

  test("every message reaches its handler, on the fast path or through the full parse", () => {
    const { got, read } = reader();
    read({ event: "media", streamSid: SID, media: { timestamp: "40", payload: "AA==" } });
    read({ streamSid: SID, sequenceNumber: "9", chunk: "x".repeat(40), event: "media", media: { payload: "AQ==" } });
    read({ event: "mark", streamSid: SID, mark: { name: "g0.1" } });
    read({ event: "dtmf", streamSid: SID, dtmf: { track: "inbound_track", digit: "#" } });
    read({ event: "start", streamSid: SID, start: { streamSid: SID, accountSid: "AC1", callSid: "CA1" } });
    read({ event: "stop", streamSid: SID });
    read({ event: "connected", protocol: "Call", version: "1.0.0" });
    expect(got).toEqual([
      ["media", "AA==", 40],
      ["media", "AQ==", null],
      ["mark", "g0.1"],
      ["dtmf", "#"],
      ["start", "CA1"],
      ["stop"],
    ]);
  });

  test("what Twilio would not send is named as invalid; text that is not JSON is dropped", () => {
    const { got, read } = reader();
    read({ event: "start", streamSid: "nope", start: {} });
    read({ event: "bogus" });
    readTwilioMessage("{not json", { ...({} as TwilioHandlers), invalid: () => got.push(["unexpected"]) });
    expect(got).toEqual([
      ["invalid", "start"],
      ["invalid", "bogus"],
    ]);
  });
});
