// The loader checks only the sections a config sets and takes the others from defaults worked out at build time
// (src/config/defaults.ts, a Bun macro). Whatever a config says, the result and the errors must be the whole
// schema's.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configDefaults } from "../../src/config/defaults.ts";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import { ConfigSchema, SECTION_NAMES } from "../../src/config/schema.ts";

const dir = mkdtempSync(join(tmpdir(), "agenticai-sections-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fromYaml(yaml: string): unknown {
  const path = join(dir, "config.yaml");
  writeFileSync(path, yaml);
  try {
    return loadConfig({ path, env: {} });
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
}

function fromSchema(tree: unknown): unknown {
  const parsed = ConfigSchema.safeParse(tree);
  return parsed.success ? parsed.data : "differs: see the loader's message";
}

test("the built-in defaults are what the schema makes of an empty config, section by section", () => {
  const whole = ConfigSchema.parse({});
  expect(configDefaults()).toEqual(whole);
  expect(Object.keys(whole)).toEqual(SECTION_NAMES);
});

test("a config that sets some sections loads as the whole schema reads it, in the schema's key order", () => {
  const trees = [
    {},
    { server: { port: 9000 } },
    { twilio: { account_sid: `AC${"0".repeat(32)}`, auth_token: "t", phone_number: "+15550100000" } },
    { calls: { max_concurrent: 5, call_window: { start: "09:00", end: "17:00", timezone: "Europe/Berlin" } } },
    { recording: { enabled: true, storage: "s3", s3: { bucket: "b" } }, pricing: { telephony_per_min: 0.02 } },
    { metrics: {}, server: {}, agent: { language: "es-MX" } },
  ];
  for (const tree of trees) {
    const loaded = fromYaml(JSON.stringify(tree));
    expect(loaded).toEqual(fromSchema(tree));
    expect(Object.keys(loaded as object)).toEqual(SECTION_NAMES);
  }
});

test("each load is a copy: changing one config leaves the defaults of the next alone", () => {
  const first = fromYaml("") as { server: { public_url?: string }; inbound: { allow_from: string[] } };
  first.server.public_url = "http://changed";
  first.inbound.allow_from.push("+15550100000");
  expect(fromYaml("")).toEqual(ConfigSchema.parse({}));
});

test("errors are the whole schema's: in a set section, across sections in order, and for an unknown key", () => {
  expect(fromYaml("calls: {max_concurrent: 0}\nserver: {port: -1}")).toBe(
    "config: server.port: Too small: expected number to be >=0; calls.max_concurrent: Too small: expected number to be >=1",
  );
  expect(fromYaml("recording: {storage: s3}")).toBe(
    "config: recording.s3.bucket: required when recording.storage is s3 (S3_BUCKET)",
  );
  expect(fromYaml("server: {port: 1}\nsevrer: {port: 2}")).toBe("config: sevrer: unknown key");
});
