// The server remembers the config it checked last (src/config/remembered.ts): a restart with the same config and
// environment takes the result from the data dir. What it takes must be exactly what the check makes, the record must
// hold no value the config sets, and anything else than the same config must be checked again.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import { CHECKED_CONFIG_FILE, fill, loadCheckedConfig, outline } from "../../src/config/remembered.ts";
import { readConfigTree } from "../../src/config/tree.ts";

const root = mkdtempSync(join(tmpdir(), "agenticai-remembered-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A config file and an environment whose data dir is `dataDir` (made unless `make` is false). */
function setup(yaml: string, env: Record<string, string> = {}, make = true) {
  const dir = join(root, String(n++));
  mkdirSync(dir);
  const dataDir = join(dir, "data");
  if (make) mkdirSync(dataDir);
  const path = join(dir, "config.yaml");
  writeFileSync(path, yaml);
  const options = { path, env: { AGENTICAI_DATA_DIR: dataDir, ...env } };
  return { options, record: join(dataDir, CHECKED_CONFIG_FILE) };
}

const SECRETS = {
  TWILIO_ACCOUNT_SID: `AC${"a1".repeat(16)}`,
  TWILIO_AUTH_TOKEN: "tok-9f8e7d6c5b4a39281706f5e4d3c2b1a0",
  OPENAI_API_KEY: "sk-test-0123456789abcdefghijklmnop",
  AGENTICAI_API_TOKEN: "api-token-0123456789abcdef",
};
const CONFIGS = [
  "",
  readFileSync(join(import.meta.dir, "../../config.yaml"), "utf8"),
  "server: {port: 9000, allowed_origins: [https://console.example.com]}\ncalls: {max_concurrent: 3}",
  "calls: {call_window: {start: '09:00', end: '17:00', timezone: Europe/Berlin, days: [mon, tue]}}",
  "twilio:\n  numbers:\n    '+15550100001': {voice: cedar, language: es-MX}\npricing: {models: {m: {input: 1, cached_input: 0.5, output: 2}}}",
  "recording: {enabled: true, storage: s3, s3: {bucket: b, prefix: calls/}}\nagent: {language: de-DE}",
];

test("the outline of a checked config gives it back exactly, key order included, and holds no value the config sets", () => {
  for (const yaml of CONFIGS) {
    const { options } = setup(yaml, SECRETS);
    const tree = readConfigTree(options);
    const checked = loadConfig(options);
    const shape = outline(checked, tree);
    expect(JSON.stringify(fill(shape, tree))).toBe(JSON.stringify(checked));
    const text = JSON.stringify(shape);
    for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
  }
});

test("a key named __proto__ in the config stays a key of the outline and of the config filled from it", () => {
  const tree = JSON.parse('{"cost":{"models":{"__proto__":{"per_minute":1},"m":{"per_minute":2}}}}');
  const checked = JSON.parse(
    '{"cost":{"models":{"__proto__":{"per_minute":1,"currency":"USD"},"m":{"per_minute":2}}}}',
  );
  const filled = fill(JSON.parse(JSON.stringify(outline(checked, tree))), tree) as typeof checked;
  expect(JSON.stringify(filled)).toBe(JSON.stringify(checked));
  expect(Object.getPrototypeOf(filled.cost.models)).toBe(Object.prototype);
});

test("the first start checks and keeps the result; a restart with the same config takes it, as the check made it", async () => {
  for (const yaml of CONFIGS) {
    const { options, record } = setup(yaml, SECRETS);
    const checked = loadConfig(options);
    expect(await loadCheckedConfig(options)).toEqual(checked);
    expect(existsSync(record)).toBe(true);
    const kept = readFileSync(record, "utf8");
    for (const secret of Object.values(SECRETS)) expect(kept).not.toContain(secret);
    const again = await loadCheckedConfig(options);
    expect(JSON.stringify(again)).toBe(JSON.stringify(checked));
    expect(readFileSync(record, "utf8")).toBe(kept);
  }
});

test("a restart takes the result from the record, not from a check", async () => {
  const { options, record } = setup("");
  await loadCheckedConfig(options);
  // The record is the data dir's, as trusted as the database beside it: what it says of a default is what a restart
  // gets, which shows the restart read it rather than checking again.
  const kept = JSON.parse(readFileSync(record, "utf8"));
  kept.outline.openai.voice = "cedar";
  writeFileSync(record, JSON.stringify(kept));
  expect((await loadCheckedConfig(options)).openai.voice).toBe("cedar");
  expect(loadConfig(options).openai.voice).toBe("marin");
});

test("a record is used only for the same config: another environment, another file or another record is checked", async () => {
  const { options, record } = setup("calls: {max_concurrent: 3}", { PORT: "9000" });
  await loadCheckedConfig(options);
  const first = readFileSync(record, "utf8");

  // Another port: checked, and the record now speaks for the new config.
  const moved = { ...options, env: { ...options.env, PORT: "9001" } };
  expect((await loadCheckedConfig(moved)).server.port).toBe(9001);
  expect(readFileSync(record, "utf8")).not.toBe(first);

  // A value the schema refuses is refused, word for word, whatever the record says.
  const refused = { ...options, env: { ...options.env, PORT: "70000" } };
  const message = (() => {
    try {
      loadConfig(refused);
    } catch (e) {
      return (e as ConfigError).message;
    }
  })();
  expect(message).toContain("server.port");
  await expect(loadCheckedConfig(refused)).rejects.toThrow(new ConfigError(message!));

  // A record cut short, or another config's, is no record.
  for (const broken of [
    first.slice(0, 40),
    JSON.stringify({ key: "0".repeat(64), outline: { server: { port: 1 } } }),
  ]) {
    writeFileSync(record, broken);
    expect(await loadCheckedConfig(options)).toEqual(loadConfig(options));
  }
});

test("a data dir not made yet keeps no record: the config is checked, and the store makes the dir", async () => {
  const { options, record } = setup("", {}, false);
  expect(await loadCheckedConfig(options)).toEqual(loadConfig(options));
  expect(existsSync(record)).toBe(false);
  expect(existsSync(join(record, ".."))).toBe(false);
});

test("the server reads a config file as the check does: missing, empty, a directory, a BOM, bytes not UTF-8", async () => {
  const outcome = async (load: () => unknown) => {
    try {
      return { config: await load() };
    } catch (e) {
      return { error: (e as Error).message };
    }
  };
  const cases: [string, (path: string) => void][] = [
    ["missing", () => {}],
    ["empty", (path) => writeFileSync(path, "")],
    ["a directory", (path) => mkdirSync(path)],
    ["a BOM", (path) => writeFileSync(path, "\uFEFFcalls: {max_concurrent: 3}\n")],
    ["not UTF-8", (path) => writeFileSync(path, Buffer.from([0x61, 0x3a, 0x20, 0xff, 0x0a]))],
  ];
  for (const [, make] of cases) {
    const { options } = setup("");
    rmSync(options.path);
    make(options.path);
    const checked = await outcome(() => loadConfig(options));
    expect(await outcome(() => loadCheckedConfig(options))).toEqual(checked);
  }
});
