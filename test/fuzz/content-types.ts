// The `content types` fuzz surface (registered in surfaces.ts): random Content-Type values (text/plain,
// forms, multipart, none, odd casing and parameters), with and without bodies, and random Origin and Host
// headers, against the API and its neighbours. Properties: no 5xx; every refusal is the API's error shape;
// nothing under /api/ or /mcp acts on a body not sent as application/json, answers a foreign Origin, or,
// without a token (as here), answers a Host that is not loopback or the public host.
import fc from "fast-check";
import { bump, errorShape, type FuzzEnv, runSurface, type Surface } from "./harness.ts";

const printable = (max: number) => fc.stringMatching(new RegExp(`^[\\x20-\\x7e]{0,${max}}$`));
/** Each letter in random case. */
const anyCase = (text: string) =>
  fc
    .array(fc.boolean(), { minLength: text.length, maxLength: text.length })
    .map((upper) => [...text].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(""));

const contentType = () =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom("application/json", "application/json; charset=utf-8") },
    fc.constant(null),
    fc.constantFrom(
      "application/json",
      "application/json; charset=utf-8",
      'application/json;charset="UTF-8"',
      "application/json; charset=latin1",
      "application/json; charset=utf-8; x=1",
      "application/json;",
      "application/jsonp",
      "application/json, text/plain",
      "application/*",
      "*/*",
      "text/json",
      "text/plain",
      "text/plain;charset=UTF-8",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=----x",
      "",
      " application/json",
    ),
    fc
      .tuple(anyCase("application/json"), fc.constantFrom("", ";", "; ", " ;"), printable(20))
      .map(([type, sep, param]) => type + (sep ? sep + param : "")),
    anyCase("text/plain"),
    printable(40),
  );

const callBody = (url: string) => JSON.stringify({ to: "+15551230001", webhook_url: url });
const body = (url: string) =>
  fc.oneof(
    fc.constant(undefined),
    { weight: 5, arbitrary: fc.constant(callBody(url)) },
    fc.constant(`to=%2B15551230001&webhook_url=${encodeURIComponent(url)}`),
    fc.constant(`------x\r\nContent-Disposition: form-data; name="to"\r\n\r\n+15551230001\r\n------x--\r\n`),
    fc.json(),
    printable(100),
  );

const origin = (own: string) =>
  fc.oneof(
    { weight: 5, arbitrary: fc.constant(null) },
    { weight: 3, arbitrary: fc.constant(own) },
    {
      weight: 2,
      arbitrary: fc.constantFrom("null", "http://localhost:19090", `${own}.evil.example`, own.replace("http", "https")),
    },
    { weight: 1, arbitrary: fc.webUrl().map((u) => new URL(u).origin) },
    { weight: 1, arbitrary: printable(30) },
  );

const host = (port: string) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(null) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(`localhost:${port}`, `127.0.0.2:${port}`, `[::1]:${port}`, "a.localhost", "LocalHost"),
    },
    { weight: 2, arbitrary: fc.domain() },
    { weight: 1, arbitrary: fc.constantFrom("a/b@c", "", "exa mple", "[::1", "localhost:99999", "10.0.0.1") },
    { weight: 1, arbitrary: printable(30) },
  );

const PATHS = [
  "/api/calls",
  "/api/calls/00000000-0000-4000-8000-000000000000/end",
  "/api/events/1/retry",
  "/api/events?limit=1",
  "/mcp",
  "/health",
  "/metrics",
  "/twilio/status",
];

const contentTypeCase = (url: string) =>
  fc.record({
    method: fc.oneof({ weight: 4, arbitrary: fc.constant("POST") }, fc.constantFrom("GET", "PUT")),
    path: fc.oneof({ weight: 3, arbitrary: fc.constant("/api/call") }, fc.constantFrom(...PATHS)),
    contentType: contentType(),
    body: body(url),
    origin: origin(url),
    host: host(new URL(url).port),
  });
type Case = ReturnType<typeof contentTypeCase> extends fc.Arbitrary<infer T> ? T : never;

// ── The oracle, written apart from src/http/guard.ts so that the two check each other ───────────────

/** application/json with at most a charset=utf-8 parameter, as RFC 9110 parses a media type. */
function isJson(type: string | null): boolean {
  if (type === null) return false;
  const [mediaType, ...params] = type.split(";");
  if (mediaType!.trim().toLowerCase() !== "application/json") return false;
  return params.every((p) => {
    const [name, value] = p.split("=").map((s) => s.trim().toLowerCase());
    return name === "charset" && (value === "utf-8" || value === '"utf-8"');
  });
}

function loopbackOrOwn(hostHeader: string, own: URL): boolean {
  if (!URL.canParse(`http://${hostHeader}/`) || /[/?#@\\]/.test(hostHeader)) return false;
  const name = new URL(`http://${hostHeader}/`).hostname;
  return (
    name === "localhost" ||
    name.endsWith(".localhost") ||
    /^127\./.test(name) ||
    name === "[::1]" ||
    name === own.hostname
  );
}

/** Why a 2xx to a control path should not have been, or null. */
function wronglyServed(c: Case, own: URL): string | null {
  const hasBody = c.body !== undefined && c.method !== "GET";
  if (hasBody && !isJson(c.contentType)) return `acted on a body sent as ${JSON.stringify(c.contentType)}`;
  if (c.origin !== null && URL.canParse(c.origin) && new URL(c.origin).origin !== own.origin)
    return `answered Origin ${c.origin}`;
  if (c.origin !== null && !URL.canParse(c.origin)) return `answered Origin ${JSON.stringify(c.origin)}`;
  if (c.host !== null && !loopbackOrOwn(c.host, own)) return `answered Host ${JSON.stringify(c.host)}`;
  return null;
}

async function check(env: FuzzEnv, c: Case, classes: Record<string, number>): Promise<string | null> {
  const headers: Record<string, string> = {};
  if (c.contentType !== null) headers["Content-Type"] = c.contentType;
  if (c.origin !== null) headers.Origin = c.origin;
  if (c.host !== null) headers.Host = c.host;
  const sendsBody = c.body !== undefined && c.method !== "GET";
  const res = await fetch(env.app.url + c.path, { method: c.method, headers, body: sendsBody ? c.body : undefined });
  const text = await res.text();
  bump(classes, String(res.status));
  const where = `${c.method} ${c.path} (${JSON.stringify(headers)}): ${res.status} ${text.slice(0, 160)}`;
  if (res.status >= 500) return where;
  if (res.status >= 300) return errorShape(res.status, text);
  if (/^\/(api|mcp)(\/|\?|$)/.test(c.path)) {
    const wrong = wronglyServed(c, new URL(env.app.url));
    if (wrong) return `${wrong}: ${where}`;
  }
  // A call placed is ended, so that thousands of cases leave no pile of live calls behind.
  const placed = c.path === "/api/call" ? (JSON.parse(text) as { call_id?: string }).call_id : undefined;
  if (placed) await (await fetch(`${env.app.url}/api/calls/${placed}/end`, { method: "POST" })).text();
  return null;
}

export const contentTypes: Surface = {
  name: "content types",
  run: (env, runs, seed) =>
    runSurface(env, "content types", { runs, seed }, contentTypeCase(env.app.url), (c, classes) =>
      check(env, c, classes),
    ),
};
