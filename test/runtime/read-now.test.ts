// The start's own reader of small files: the same text as Bun.file().text(), or a clear "read it the usual way".
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readText, readTextNow } from "../../src/runtime/read-now.ts";
import { tempDir } from "../support/temp.ts";

describe("readTextNow", () => {
  const dir = tempDir("agenticai-read-now-");

  test("a file's text is decoded as Bun.file().text() decodes it: BOM dropped, bytes not UTF-8 replaced", async () => {
    const path = join(dir, "mixed.yaml");
    const bytes = [[0xef, 0xbb, 0xbf], Buffer.from("agent:\n  name: Zoë ☎\n"), [0xff, 0xfe, 0x41, 0xc3]];
    writeFileSync(path, Buffer.concat(bytes.map((b) => Buffer.from(b))));
    const text = readTextNow(path);
    expect(text).toBe(await Bun.file(path).text());
    expect(text).toStartWith("agent:");
  });

  test("null when there is no such file or directory on the way", () => {
    expect(readTextNow(join(dir, "absent.yaml"))).toBeNull();
    expect(readTextNow(join(dir, "absent", "config.yaml"))).toBeNull();
  });

  test("an empty file, which cannot be mapped, is read as empty", async () => {
    const empty = join(dir, "empty.yaml");
    writeFileSync(empty, "");
    expect(readTextNow(empty)).toBe(await Bun.file(empty).text());
  });

  test("undefined for what it cannot map, for the caller's usual reader: a directory, no permission", () => {
    const folder = join(dir, "folder");
    mkdirSync(folder);
    expect(readTextNow(folder)).toBeUndefined();
    if (process.getuid?.() !== 0) {
      const locked = join(dir, "locked.yaml");
      writeFileSync(locked, "a: 1\n");
      chmodSync(locked, 0);
      expect(readTextNow(locked)).toBeUndefined();
    }
  });

  test("readText reads what readTextNow cannot the usual way: an empty file is empty, a directory an error", async () => {
    const empty = join(dir, "blank.env");
    writeFileSync(empty, "");
    expect(await readText(empty)).toBe("");
    expect(await readText(join(dir, "absent.env"))).toBeNull();
    const folder = join(dir, "a-folder");
    mkdirSync(folder);
    await expect(readText(folder)).rejects.toThrow();
  });
});
