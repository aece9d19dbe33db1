// Twilio Media Streams, bidirectional (<Connect><Stream>): the messages on the WebSocket, typed once here.
import { z } from "../config/zod.ts";
import { startsWithin, stringField } from "../wire/json-field.ts";

const streamSid = () => z.string().check(z.regex(/^MZ[0-9a-fA-F]{32}$/));

// Built on first use (z.lazy), like every schema that waits for a request: not at start-up.
export const StartMessage = z.lazy(() =>
  z.object({
    event: z.literal("start"),
    sequenceNumber: z.optional(z.string()),
    streamSid: streamSid(),
    start: z.object({
      streamSid: streamSid(),
      accountSid: z.string(),
      callSid: z.string(),
      tracks: z._default(z.array(z.string()), ["inbound"]),
      customParameters: z._default(z.record(z.string(), z.string()), {}),
      mediaFormat: z.optional(z.object({ encoding: z.string(), sampleRate: z.number(), channels: z.number() })),
    }),
  }),
);
export type StartMessage = z.infer<typeof StartMessage>;

/** Every inbound message, as a full parse reads it; `media` and `mark` usually take the fast paths below. */
export const ControlMessage = z.lazy(() =>
  z.discriminatedUnion("event", [
    z.object({ event: z.literal("connected") }),
    StartMessage,
    z.object({ event: z.literal("dtmf"), dtmf: z.object({ digit: z.string().check(z.regex(/^[0-9*#A-D]$/)) }) }),
    z.object({ event: z.literal("mark"), mark: z.object({ name: z.string() }) }),
    z.object({ event: z.literal("stop") }),
    z.object({
      event: z.literal("media"),
      media: z.object({ payload: z.string(), timestamp: z.optional(z.string()) }),
    }),
  ]),
);
export type ControlMessage = z.infer<typeof ControlMessage>;

/**
 * One handler per inbound message. The two that come every few milliseconds, `media` and `mark`, get
 * their fields as plain values, so a frame costs no object; `connected` carries nothing to act on.
 */
export interface TwilioHandlers {
  media(payload: string, timestampMs: number | null): void;
  mark(name: string): void;
  start(message: StartMessage): void;
  dtmf(digit: string): void;
  stop(): void;
  /** JSON that is not a message Twilio sends, named by its `event` if it has one. */
  invalid?(event: unknown): void;
}

/** Reads one text frame from Twilio and hands it to its handler. Malformed or unknown messages are dropped. */
export function readTwilioMessage(text: string, on: TwilioHandlers): void {
  const payload = mediaPayload(text);
  if (payload !== null) {
    on.media(payload, mediaTimestamp(text));
    return;
  }
  const mark = markName(text);
  if (mark !== null) on.mark(mark);
  else parseAndDispatch(text, on);
}

// Kept apart from the fast paths above: in one function with the parse and its try/catch, the
// engine's optimizer served the per-frame path markedly slower (bench/frame.ts measures it).
function parseAndDispatch(text: string, on: TwilioHandlers): void {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return;
  }
  const parsed = ControlMessage.safeParse(raw);
  if (parsed.success) dispatch(parsed.data, on);
  else on.invalid?.((raw as { event?: unknown } | null)?.event);
}

function dispatch(message: ControlMessage, on: TwilioHandlers): void {
  switch (message.event) {
    case "media":
      on.media(message.media.payload, message.media.timestamp === undefined ? null : Number(message.media.timestamp));
      break;
    case "mark":
      on.mark(message.mark.name);
      break;
    case "start":
      on.start(message);
      break;
    case "dtmf":
      on.dtmf(message.dtmf.digit);
      break;
    case "stop":
      on.stop();
      break;
  }
}

const MEDIA_EVENT = '"event":"media"';
const MARK_EVENT = '"event":"mark"';
/** Twilio writes `event` first; allow a little room for other key orders before giving up. */
const EVENT_WINDOW = 48;

/**
 * The base64 payload of a `media` message without parsing the JSON (base64 never contains a quote
 * or an escape). Anything else returns null and takes the full parser.
 */
export function mediaPayload(text: string): string | null {
  return startsWithin(text, MEDIA_EVENT, EVENT_WINDOW) ? stringField(text, "payload") : null;
}

const TIMESTAMP_KEY = '"timestamp":"';
const ZERO = 48;

/**
 * A media frame's `timestamp` (ms since the stream started, sent as a string of digits), or null.
 * Read digit by digit where it stands, since it is needed for every frame and a substring is not.
 */
export function mediaTimestamp(text: string): number | null {
  const at = text.indexOf(TIMESTAMP_KEY);
  if (at < 0) return null;
  let ms = 0;
  let i = at + TIMESTAMP_KEY.length;
  for (let c = text.charCodeAt(i) - ZERO; c >= 0 && c <= 9; c = text.charCodeAt(++i) - ZERO) ms = ms * 10 + c;
  return text.charCodeAt(i) === 34 && i > at + TIMESTAMP_KEY.length ? ms : null;
}

/**
 * The name of an echoed `mark`, the other frequent message, on the same fast path. Names are ours
 * (letters, digits, dots), so a name with a quote or backslash is not one of ours and is declined.
 */
export function markName(text: string): string | null {
  if (!startsWithin(text, MARK_EVENT, EVENT_WINDOW)) return null;
  const name = stringField(text, "name");
  return name !== null && !name.includes("\\") ? name : null;
}

// Outbound messages (media, mark, clear) are built as strings: streamSid was validated at `start`, payloads are base64 and
// mark names are our own, so nothing here needs escaping and no object is built per frame.
export const mediaMessage = (streamSid: string, payload: string) =>
  `{"event":"media","streamSid":"${streamSid}","media":{"payload":"${payload}"}}`;
export const markMessage = (streamSid: string, name: string) =>
  `{"event":"mark","streamSid":"${streamSid}","mark":{"name":"${name}"}}`;
export const clearMessage = (streamSid: string) => `{"event":"clear","streamSid":"${streamSid}"}`;
