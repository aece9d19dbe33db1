// TwiML, written here rather than by the twilio SDK's builder: the few verbs the server answers with are a few
// lines of XML, and the SDK costs a process ~34 MB of memory and a long stall of the event loop to load
// (bench/RESULTS.md). The output is byte for byte what the SDK writes (test/twilio/twiml.test.ts checks it against
// the SDK): the same escaping, and the same refusal of characters XML 1.0 cannot carry.

type Attributes = Record<string, string | number>;

const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/**
 * Where the first character XML 1.0 cannot carry stands (a control character, U+FFFE/U+FFFF, a lone surrogate), or
 * -1: the index the SDK's builder reports, which for a lone low surrogate is that of the character before it.
 */
function illegalAt(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0xfffe || c === 0xffff) return i;
    const high = c >= 0xd800 && c <= 0xdbff;
    const lowNext = isLowSurrogate(s.charCodeAt(i + 1));
    if ((high && !lowNext) || (!high && lowNext) || (i === 0 && isLowSurrogate(c))) return i;
  }
  return -1;
}

/** The SDK's builder refuses such characters rather than write a document Twilio cannot parse; so does this one. */
function legal(escaped: string): string {
  const at = illegalAt(escaped);
  if (at >= 0) throw new Error(`Invalid character in string: ${escaped} at index ${at}`);
  return escaped;
}

const text = (value: string) =>
  legal(value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\r/g, "&#xD;"));

const attribute = (value: string | number) =>
  legal(
    String(value)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/"/g, "&quot;")
      .replace(/\t/g, "&#x9;")
      .replace(/\n/g, "&#xA;")
      .replace(/\r/g, "&#xD;"),
  );

/** One element: self-closing when it holds nothing, as the SDK writes it. */
function element(name: string, attributes: Attributes = {}, inner = ""): string {
  let open = `<${name}`;
  for (const [key, value] of Object.entries(attributes)) open += ` ${key}="${attribute(value)}"`;
  return inner === "" ? `${open}/>` : `${open}>${inner}</${name}>`;
}

const response = (verbs: string) => `<?xml version="1.0" encoding="UTF-8"?>${element("Response", {}, verbs)}`;

export interface StreamTwiml {
  streamUrl: string;
  parameters: Record<string, string>;
  /** Requested by Twilio when the stream ends; the TwiML it answers is what the call does next. Without, it ends. */
  action?: string;
}

/** `<Connect><Stream>`: bidirectional media. Correlation goes in `<Parameter>`s since Twilio drops query strings. */
export function connectStream({ streamUrl, parameters, action }: StreamTwiml): string {
  let params = "";
  for (const [name, value] of Object.entries(parameters)) params += element("Parameter", { name, value });
  const stream = element("Stream", { url: streamUrl }, params);
  return response(element("Connect", action ? { action, method: "POST" } : {}, stream));
}

export function reject(reason: "rejected" | "busy" = "rejected"): string {
  return response(element("Reject", { reason }));
}

export function sayAndHangup(say?: string): string {
  return response((say ? element("Say", {}, text(say)) : "") + element("Hangup"));
}

export interface DialTwiml {
  to: string;
  /** Must be a Twilio number or a verified caller ID of the account. */
  callerId: string;
  timeoutS: number;
  /** How long the dialled leg may last once answered. */
  timeLimitS: number;
  /** Told how the dialled leg ended; its TwiML answer decides what the caller hears next. */
  action: string;
}

/** `<Dial>`: hands the call to another number; on a live call it replaces (and so ends) the media stream. */
export function dial({ to, callerId, timeoutS, timeLimitS, action }: DialTwiml): string {
  const attributes = { callerId, timeout: timeoutS, timeLimit: timeLimitS, action, method: "POST" };
  return response(element("Dial", attributes, text(to)));
}
