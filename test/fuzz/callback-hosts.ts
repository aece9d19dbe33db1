// The `callback_url hosts` surface: POST /api/call with a callback_url whose host is a private, loopback or
// otherwise reserved address in any spelling the URL parser accepts (decimal, hex, octal, short forms, percent
// escapes, full-width digits, IPv4-mapped and NAT64 IPv6, names private by convention or resolving privately)
// must be a 400 naming callback_url; a public one must be accepted; nothing may be a 5xx. It runs on a server of
// its own without background work, so an accepted call is never delivered and nothing leaves the machine; names
// resolve through the tests' resolver.
import fc from "fast-check";
import { startTestApp } from "../support/app.ts";
import { testLookup } from "../support/callback-hosts.ts";
import { bump, type FuzzEnv, runSurface, type Surface } from "./harness.ts";

/** [first address, prefix length] of IPv4 blocks no callback may reach. */
const PRIVATE_V4: [number[], number][] = [
  [[0, 0, 0, 0], 8],
  [[10, 0, 0, 0], 8],
  [[100, 64, 0, 0], 10],
  [[127, 0, 0, 0], 8],
  [[169, 254, 0, 0], 16],
  [[172, 16, 0, 0], 12],
  [[192, 0, 0, 0], 24],
  [[192, 0, 2, 0], 24],
  [[192, 168, 0, 0], 16],
  [[198, 18, 0, 0], 15],
  [[198, 51, 100, 0], 24],
  [[203, 0, 113, 0], 24],
  [[224, 0, 0, 0], 4],
  [[240, 0, 0, 0], 4],
];
/** Blocks that are public: any address in them may be a receiver. */
const PUBLIC_V4: [number[], number][] = [
  [[8, 0, 0, 0], 8],
  [[93, 184, 0, 0], 16],
  [[151, 101, 0, 0], 16],
  [[1, 1, 1, 0], 24],
];

const toInt = (q: number[]) => q.reduce((n, b) => n * 256 + b, 0);
const inBlock = ([base, bits]: [number[], number]) =>
  fc.nat({ max: 2 ** (32 - bits) - 1 }).map((offset) => toInt(base) + offset);
const v4In = (blocks: [number[], number][]) => fc.oneof(...blocks.map(inBlock));
const quads = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];

/** One part of an IPv4 address as the URL parser reads it: decimal, 0x hex (any case) or 0 octal, padded or not. */
const part = (value: number) =>
  fc.constantFrom(
    String(value),
    `0x${value.toString(16)}`,
    `0X${value.toString(16).toUpperCase()}`,
    `0${value.toString(8)}`,
    `00${value.toString(8)}`,
    `0x00${value.toString(16)}`,
  );

/** An IPv4 address in 1 to 4 parts (the last one takes the remaining bytes), each part in its own base. */
const v4Spelling = (n: number) =>
  fc.integer({ min: 1, max: 4 }).chain((parts) => {
    const q = quads(n);
    const head = q.slice(0, parts - 1);
    const tail = q.slice(parts - 1).reduce((a, b) => a * 256 + b, 0);
    return fc.tuple(...[...head, tail].map(part)).map((ps) => ps.join("."));
  });

/** Full-width forms, which the URL parser's IDNA step maps back to ASCII. */
const fullWidth = (c: string) =>
  /[0-9a-z]/i.test(c) ? String.fromCharCode(c.charCodeAt(0) - 0x30 + 0xff10) : c === "." ? "\uff0e" : c;

/** The same host as the URL parser also reads it: a trailing dot, percent escapes, full-width characters. */
const disguised = (host: string) =>
  fc.constantFrom(
    host,
    `${host}.`,
    [...host].map((c) => (/[0-9.a-z]/i.test(c) ? `%${c.charCodeAt(0).toString(16)}` : c)).join(""),
    [...host].map(fullWidth).join(""),
  );

const hex = (n: number) => n.toString(16);
const v6Mapped = (n: number) => {
  const [a, b, c, d] = quads(n);
  return fc.constantFrom(
    `[::ffff:${a}.${b}.${c}.${d}]`,
    `[::FFFF:${hex(a! * 256 + b!)}:${hex(c! * 256 + d!)}]`,
    `[0:0:0:0:0:ffff:${a}.${b}.${c}.${d}]`,
    `[64:ff9b::${a}.${b}.${c}.${d}]`,
    `[0064:ff9b:0000:0000:0000:0000:${hex(a! * 256 + b!)}:${hex(c! * 256 + d!)}]`,
    `[::${a}.${b}.${c}.${d}]`,
    `[::ffff:0:${a}.${b}.${c}.${d}]`,
  );
};
const word = () => fc.nat({ max: 0xffff }).map(hex);
const v6In = (prefix: string) =>
  fc.array(word(), { minLength: 1, maxLength: 3 }).map((w) => `[${prefix}${w.join(":")}]`);
const PRIVATE_V6 = fc.oneof(
  fc.constantFrom("[::1]", "[::]", "[0:0:0:0:0:0:0:1]", "[0000::0001]", "[::0]"),
  v6In("fc00::"),
  v6In("fd12:3456::"),
  v6In("fe80::"),
  v6In("ff02::"),
  v6In("2001:db8::"),
  v6In("2001::"),
  v6In("2002:7f00:1::"),
  v6In("100::"),
);
const label = () => fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
const PRIVATE_NAMES = fc.oneof(
  fc.constantFrom(
    "localhost",
    "LOCALHOST",
    "LocalHost.",
    "metadata.google.internal",
    "metadata",
    "private.example.com",
  ),
  fc.constantFrom("mixed.example.com", "mapped.example.com", "unresolved.example.com"),
  fc
    .tuple(label(), fc.constantFrom("localhost", "internal", "local", "lan", "home.arpa", "corp", "test", "invalid"))
    .map(([l, tld]) => `${l}.${tld}`),
  label(),
);
const privateHost = fc.oneof(
  v4In(PRIVATE_V4).chain(v4Spelling).chain(disguised),
  v4In(PRIVATE_V4).chain(v6Mapped),
  fc.constant(0xffffffff).chain(v4Spelling),
  PRIVATE_V6,
  PRIVATE_NAMES.chain(disguised),
);
const publicHost = fc.oneof(
  v4In(PUBLIC_V4).chain(v4Spelling).chain(disguised),
  v4In(PUBLIC_V4).map((n) => `[64:ff9b::${quads(n).join(".")}]`),
  v6In("2606:4700::"),
  fc.constantFrom("public.example.com", "PUBLIC.Example.COM."),
);

const callbackCase = () =>
  fc
    .record({
      private: fc.boolean(),
      scheme: fc.constantFrom("http", "https", "HTTP", "hTTps"),
      port: fc.oneof(
        fc.constant(""),
        fc.integer({ min: 1, max: 65535 }).map((p) => `:${p}`),
      ),
      path: fc.constantFrom("", "/", "/hooks", "/a/b?c=d#e", "/%2e%2e/"),
    })
    .chain((c) => (c.private ? privateHost : publicHost).map((host) => ({ ...c, host })));

export const callbackHosts: Surface = {
  name: "callback_url hosts",
  run: async (env, runs, seed) => {
    const app = await startTestApp({
      noBackground: true,
      publicUrlSelf: true,
      config: {
        limits: { api_requests_per_minute: 1_000_000_000, calls_per_minute: 1_000_000_000 },
        calls: { max_concurrent: 10_000 },
      },
    });
    app.ctx.lookupHost = testLookup();
    const own: FuzzEnv = { ...env, app };
    try {
      return await runSurface(own, "callback_url hosts", { runs, seed }, callbackCase(), async (c, classes) => {
        const callback_url = `${c.scheme}://${c.host}${c.port}${c.path}`;
        const res = await app.api("/api/call", { body: { to: "+15551230001", callback_url } });
        const kind = c.private ? "private" : "public";
        bump(classes, `${kind} ${res.status}`);
        if (res.status >= 500) return `${callback_url}: ${res.status} ${JSON.stringify(res.body)}`;
        const namesIt = res.status === 400 && String(res.body?.error).startsWith("'callback_url'");
        if (c.private && !namesIt)
          return `${callback_url} (private) answered ${res.status} ${JSON.stringify(res.body)}`;
        if (!c.private && res.status !== 200)
          return `${callback_url} (public) answered ${res.status} ${JSON.stringify(res.body)}`;
        return null;
      });
    } finally {
      await app.stop();
    }
  },
};
