// Reads the TwiML verbs a carrier acts on. A regex reader is enough for the documents our server
// writes (twilio's VoiceResponse): flat verbs, double-quoted attributes, XML-escaped values.
export type Verb =
  | { verb: "Stream"; url: string; parameters: Record<string, string> }
  | { verb: "Say"; text: string }
  | { verb: "Hangup" }
  | { verb: "Reject"; reason: string }
  | { verb: "Pause"; seconds: number };

const unescapeXml = (s: string) =>
  s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" })[e]!);

const attr = (tag: string, name: string) => {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? unescapeXml(m[1]!) : undefined;
};

export function parseTwiml(xml: string): Verb[] {
  const verbs: Verb[] = [];
  const re =
    /<Stream\b[^>]*>(?:[\s\S]*?<\/Stream>)?|<Say\b[^>]*>([\s\S]*?)<\/Say>|<Hangup\s*\/>|<Reject\b[^>]*\/>|<Pause\b[^>]*\/>/g;
  for (const m of xml.matchAll(re)) {
    const tag = m[0];
    if (tag.startsWith("<Stream")) {
      const parameters: Record<string, string> = {};
      for (const p of tag.matchAll(/<Parameter\b[^>]*\/>/g)) {
        const name = attr(p[0], "name");
        if (name !== undefined) parameters[name] = attr(p[0], "value") ?? "";
      }
      verbs.push({ verb: "Stream", url: attr(tag, "url") ?? "", parameters });
    } else if (tag.startsWith("<Say")) verbs.push({ verb: "Say", text: unescapeXml(m[1] ?? "") });
    else if (tag.startsWith("<Hangup")) verbs.push({ verb: "Hangup" });
    else if (tag.startsWith("<Reject")) verbs.push({ verb: "Reject", reason: attr(tag, "reason") ?? "rejected" });
    else verbs.push({ verb: "Pause", seconds: Number(attr(tag, "length") ?? 1) });
  }
  return verbs;
}
