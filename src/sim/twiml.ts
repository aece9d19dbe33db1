// Reads the TwiML verbs a carrier acts on. A regex reader is enough for the documents our server
// writes (twilio's VoiceResponse): flat verbs, double-quoted attributes, XML-escaped values.
export type Verb =
  | { verb: "Stream"; url: string; parameters: Record<string, string>; action?: string }
  | { verb: "Say"; text: string }
  | { verb: "Hangup" }
  | { verb: "Reject"; reason: string }
  | { verb: "Pause"; seconds: number }
  | { verb: "Dial"; number: string; callerId?: string; timeout: number; action?: string; method: string };

/** Twilio rings a dialled number this long (s) when `<Dial>` gives no timeout. */
const DIAL_TIMEOUT_S = 30;

const unescapeXml = (s: string) =>
  s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" })[e]!);

const attr = (tag: string, name: string) => {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? unescapeXml(m[1]!) : undefined;
};

/** `<Stream>`, with the `action` of the `<Connect>` around it: requested when the stream ends. */
function stream(tag: string): Verb {
  const parameters: Record<string, string> = {};
  for (const p of tag.matchAll(/<Parameter\b[^>]*\/>/g)) {
    const name = attr(p[0], "name");
    if (name !== undefined) parameters[name] = attr(p[0], "value") ?? "";
  }
  const connect = /^<Connect\b[^>]*>/.exec(tag)?.[0];
  const streamTag = /<Stream\b[^>]*>/.exec(tag)![0];
  const action = connect ? attr(connect, "action") : undefined;
  return { verb: "Stream", url: attr(streamTag, "url") ?? "", parameters, ...(action !== undefined && { action }) };
}

/** `<Dial …>+1555…</Dial>`, or the number in a `<Number>` noun. */
function dial(tag: string, body: string): Verb {
  const open = /^<Dial\b[^>]*>/.exec(tag)![0];
  const number = /<Number\b[^>]*>([\s\S]*?)<\/Number>/.exec(body)?.[1] ?? body;
  const timeout = Number(attr(open, "timeout") ?? DIAL_TIMEOUT_S);
  return {
    verb: "Dial",
    number: unescapeXml(number.trim()),
    callerId: attr(open, "callerId"),
    timeout: Number.isFinite(timeout) && timeout > 0 ? timeout : DIAL_TIMEOUT_S,
    action: attr(open, "action"),
    method: attr(open, "method") ?? "POST",
  };
}

export function parseTwiml(xml: string): Verb[] {
  const verbs: Verb[] = [];
  const re =
    /(?:<Connect\b[^>]*>\s*)?<Stream\b[^>]*>(?:[\s\S]*?<\/Stream>)?|<Say\b[^>]*>([\s\S]*?)<\/Say>|<Dial\b[^>]*>([\s\S]*?)<\/Dial>|<Hangup\s*\/>|<Reject\b[^>]*\/>|<Pause\b[^>]*\/>/g;
  for (const m of xml.matchAll(re)) {
    const tag = m[0];
    if (tag.startsWith("<Stream") || tag.startsWith("<Connect")) verbs.push(stream(tag));
    else if (tag.startsWith("<Say")) verbs.push({ verb: "Say", text: unescapeXml(m[1] ?? "") });
    else if (tag.startsWith("<Dial")) verbs.push(dial(tag, m[2] ?? ""));
    else if (tag.startsWith("<Hangup")) verbs.push({ verb: "Hangup" });
    else if (tag.startsWith("<Reject")) verbs.push({ verb: "Reject", reason: attr(tag, "reason") ?? "rejected" });
    else verbs.push({ verb: "Pause", seconds: Number(attr(tag, "length") ?? 1) });
  }
  return verbs;
}
