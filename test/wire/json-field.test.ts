import { heapStats } from "bun:jsc";
import { describe, expect, test } from "bun:test";
import { detached, startsWithin, stringField } from "../../src/wire/json-field.ts";

describe("reading one field of a JSON text", () => {
  test("finds the first value of a key, from a position, whatever the key order", () => {
    const text = '{"b":"2","type":"x","a":"1","nested":{"a":"3"}}';
    expect(stringField(text, "a")).toBe("1");
    expect(stringField(text, "a", text.indexOf("nested"))).toBe("3");
    expect(stringField(text, "missing")).toBeNull();
    expect(stringField('{"a":"unterminated', "a")).toBeNull();
    expect(startsWithin(text, '"type":"x"', 16)).toBe(true);
    expect(startsWithin(text, '"type":"x"', 4)).toBe(false);
  });

  test("a detached value keeps nothing of the message it came from alive", () => {
    const messages = (n: number) =>
      Array.from(
        { length: n },
        (_, i) => `{"item_id":"item_${String(i).padStart(24, "0")}","delta":"${"A".repeat(100_000 + i)}"}`,
      );
    const extraAfterGc = () => {
      Bun.gc(true);
      return heapStats().extraMemorySize;
    };
    const base = extraAfterGc();
    const shared = messages(100).map((m) => stringField(m, "item_id")!);
    const whileShared = extraAfterGc() - base;
    const copies = shared.map(detached);
    shared.length = 0;
    const whileDetached = extraAfterGc() - base;
    expect(copies[7]).toBe(`item_${"7".padStart(24, "0")}`);
    // A hundred 100 KB messages stay alive through their slices, and go once only copies remain.
    expect(whileShared).toBeGreaterThan(5_000_000);
    expect(whileDetached).toBeLessThan(1_000_000);
  });
});
