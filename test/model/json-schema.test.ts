import { describe, expect, test } from "bun:test";
import { dropOptionalNulls, factsProblem, reportSchemaProblem, strictSchema } from "../../src/model/json-schema.ts";
import { strictProblem } from "../support/chat-completions.ts";

const booking = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "Booking",
  type: "object",
  properties: {
    confirmed: { type: "boolean", description: "Whether the table is booked" },
    when: { type: "string", format: "date-time", default: "now" },
    party_size: { type: "integer", minimum: 1 },
    seating: { enum: ["inside", "terrace"] },
    contact: {
      type: "object",
      properties: { name: { type: "string", minLength: 1 }, phone: { type: "string" } },
      required: ["name"],
    },
    dishes: {
      type: "array",
      items: { type: "object", properties: { dish: { type: "string" }, vegan: { type: "boolean" } } },
    },
    deposit: { anyOf: [{ type: "number" }, { type: "string" }] },
    currency: { const: "EUR" },
  },
  required: ["confirmed", "dishes"],
};

describe("strictSchema", () => {
  test("closes every object, requires every property, and makes the optional ones nullable", () => {
    const s = strictSchema(booking) as any;
    expect(strictProblem(s)).toBeNull();
    expect(s.additionalProperties).toBe(false);
    expect(s.required).toEqual(Object.keys(booking.properties));
    expect(s.title).toBe("Booking");
    expect(s.properties.confirmed).toEqual({ type: "boolean", description: "Whether the table is booked" });
    expect(s.properties.when).toEqual({ type: ["string", "null"], format: "date-time" });
    expect(s.properties.party_size).toEqual({ type: ["integer", "null"], minimum: 1 });
    expect(s.properties.seating).toEqual({ type: ["string", "null"], enum: ["inside", "terrace", null] });
    expect(s.properties.deposit).toEqual({ anyOf: [{ type: "number" }, { type: "string" }, { type: "null" }] });
    expect(s.properties.currency).toEqual({ type: ["string", "null"], enum: ["EUR", null] });
    expect(s.properties.contact).toEqual({
      type: ["object", "null"],
      properties: { name: { type: "string" }, phone: { type: ["string", "null"] } },
      required: ["name", "phone"],
      additionalProperties: false,
    });
    expect(s.properties.dishes).toEqual({
      type: "array",
      items: {
        type: "object",
        properties: { dish: { type: ["string", "null"] }, vegan: { type: ["boolean", "null"] } },
        required: ["dish", "vegan"],
        additionalProperties: false,
      },
    });
  });

  test("drops what strict mode rejects: default, $schema, minLength, unsupported formats", () => {
    const s = strictSchema({
      type: "object",
      properties: { site: { type: "string", format: "uri", minLength: 3, default: "x", examples: ["a"] } },
      required: ["site"],
    }) as any;
    expect(s.$schema).toBeUndefined();
    expect(s.properties.site).toEqual({ type: "string" });
  });

  test("keeps a required const and leaves a type that already allows null alone", () => {
    const s = strictSchema({
      type: "object",
      properties: { kind: { const: "booking" }, note: { type: ["string", "null"] }, size: { enum: [1, 2.5, "big"] } },
      required: ["kind", "size"],
    }) as any;
    expect(s.properties.kind).toEqual({ type: "string", const: "booking" });
    expect(s.properties.size).toEqual({ type: ["number", "string"], enum: [1, 2.5, "big"] });
    expect(s.properties.note).toEqual({ type: ["string", "null"] });
  });

  test("does not change its input", () => {
    const copy = structuredClone(booking);
    strictSchema(booking);
    expect(booking).toEqual(copy);
  });

  test("keeps a property named __proto__ as a property", () => {
    const schema = JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"}},"required":[]}');
    const s = strictSchema(schema) as any;
    expect(Object.keys(s.properties)).toEqual(["__proto__"]);
    expect(s.required).toEqual(["__proto__"]);
  });
});

describe("reportSchemaProblem", () => {
  const withProperty = (schema: unknown) => ({ type: "object", properties: { when: schema } });

  test("accepts what the strict converter handles", () => {
    expect(reportSchemaProblem(booking)).toBeNull();
    expect(reportSchemaProblem({ type: "object", properties: {} })).toBeNull();
    expect(reportSchemaProblem(withProperty({ type: ["string", "null"] }))).toBeNull();
    expect(
      reportSchemaProblem(withProperty({ type: "object", properties: {}, additionalProperties: false })),
    ).toBeNull();
  });

  test.each([
    [null, "'report_schema' must be a JSON object"],
    [[], "'report_schema' must be a JSON object"],
    ["{}", "'report_schema' must be a JSON object"],
    [{ type: "array", items: {} }, '\'report_schema\' must be a JSON Schema with "type": "object"'],
    [{ type: "object" }, "'report_schema.properties' must be an object"],
    [{ type: "object", properties: [] }, "'report_schema.properties' must be an object"],
  ])("refuses a top level that is not an object schema: %j", (schema, message) => {
    expect(reportSchemaProblem(schema)).toBe(message);
  });

  test.each([
    [{ $ref: "#/$defs/when" }, "'report_schema.properties.when': $ref is not supported"],
    [
      { type: "object", properties: {}, patternProperties: {} },
      "'report_schema.properties.when': patternProperties is not supported",
    ],
    [{ allOf: [{ type: "string" }] }, "'report_schema.properties.when': allOf is not supported"],
    [{ oneOf: [{ type: "string" }] }, "'report_schema.properties.when': oneOf is not supported"],
    [{ not: { type: "string" } }, "'report_schema.properties.when': not is not supported"],
    [
      { type: "object", properties: {}, additionalProperties: true },
      "'report_schema.properties.when': additionalProperties other than false is not supported",
    ],
    [
      { type: "object", properties: {}, additionalProperties: { type: "string" } },
      "'report_schema.properties.when': additionalProperties other than false is not supported",
    ],
    [{ type: "object" }, "'report_schema.properties.when.properties' must be an object"],
    [{ type: "array" }, "'report_schema.properties.when.items' must be a JSON Schema object"],
    [{ type: "array", items: { $ref: "#" } }, "'report_schema.properties.when.items': $ref is not supported"],
    [
      { anyOf: [{ type: "string" }, { type: "date" }] },
      "'report_schema.properties.when.anyOf[1].type' must be one of object, array, string, number, integer, boolean, null, or a list of them",
    ],
    [{ anyOf: [] }, "'report_schema.properties.when.anyOf' must be a non-empty array"],
    [{ description: "no type" }, "'report_schema.properties.when' needs a type, enum, const or anyOf"],
    [
      { enum: [] },
      "'report_schema.properties.when.enum' must be a non-empty array of strings, numbers, booleans or null",
    ],
    [
      { enum: [{ a: 1 }] },
      "'report_schema.properties.when.enum' must be a non-empty array of strings, numbers, booleans or null",
    ],
    [true, "'report_schema.properties.when' must be a JSON Schema object"],
  ])("refuses %j, naming where", (schema, message) => {
    expect(reportSchemaProblem(withProperty(schema))).toBe(message);
  });

  test.each([
    ["(", "'report_schema.properties.when.pattern' is not a valid regular expression: "],
    ["\\@", "'report_schema.properties.when.pattern' is not a valid regular expression: "],
    [7, "'report_schema.properties.when.pattern' must be a string"],
    ["a".repeat(1001), "'report_schema.properties.when.pattern' must be at most 1000 characters"],
  ])("compiles patterns with the u flag when the request comes: %j", (pattern, message) => {
    expect(reportSchemaProblem(withProperty({ type: "string", pattern }))).toStartWith(message);
  });

  test("accepts a pattern that compiles with the u flag, however it would backtrack", () => {
    expect(reportSchemaProblem(withProperty({ type: "string", pattern: "^(?:[^g]*[^g]*)+@" }))).toBeNull();
    expect(reportSchemaProblem(withProperty({ type: "string", pattern: "^\\p{Lu}{3}$" }))).toBeNull();
  });

  test("names odd property names with brackets, and checks required", () => {
    expect(reportSchemaProblem({ type: "object", properties: { "first name": { $ref: "#" } } })).toBe(
      "'report_schema.properties[\"first name\"]': $ref is not supported",
    );
    expect(reportSchemaProblem({ type: "object", properties: { a: { type: "string" } }, required: ["b"] })).toBe(
      "'report_schema.required' names \"b\", which is not a property",
    );
  });

  test("refuses nesting deeper than 10 levels", () => {
    let schema: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 9; i++) schema = { type: "object", properties: { x: schema } };
    expect(reportSchemaProblem(schema)).toBeNull();
    expect(reportSchemaProblem({ type: "object", properties: { x: schema } })).toBe(
      `'report_schema${".properties.x".repeat(10)}': nesting deeper than 10 levels is not supported`,
    );
  });

  test("refuses more than 100 properties in all", () => {
    const props = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, { type: "string" }]));
    expect(reportSchemaProblem({ type: "object", properties: props(100) })).toBeNull();
    const nested = { type: "object", properties: { ...props(60), more: { type: "object", properties: props(40) } } };
    expect(reportSchemaProblem(nested)).toBe("'report_schema': more than 100 properties in all");
  });
});

describe("factsProblem", () => {
  test("null when the facts fit the original schema", async () => {
    const facts = { confirmed: true, dishes: [{ dish: "soup" }], when: "2025-06-06T19:00:00Z", currency: "EUR" };
    expect(await factsProblem(booking, facts)).toBeNull();
  });

  test("the first problem with its path when they do not", async () => {
    expect(await factsProblem(booking, { dishes: [] })).toBe(
      "'facts.confirmed': Invalid input: expected boolean, received undefined",
    );
    expect(await factsProblem(booking, { confirmed: true, dishes: [{ dish: 3 }] })).toBe(
      "'facts.dishes[0].dish': Invalid input: expected string, received number",
    );
    expect(await factsProblem(booking, { confirmed: true, dishes: [], party_size: 0 })).toMatch(
      /^'facts\.party_size': /,
    );
    expect(await factsProblem(booking, { confirmed: true, dishes: [], seating: "roof" })).toMatch(
      /^'facts\.seating': /,
    );
  });

  test("a repeated $id is no problem (each check has its own registry)", async () => {
    const schema = { $id: "booking", type: "object", properties: { a: { type: "string" } } };
    expect(await factsProblem(schema, { a: "x" })).toBeNull();
    expect(await factsProblem(schema, { a: 1 })).toMatch(/^'facts\.a': /);
  });
});

describe("dropOptionalNulls", () => {
  test("drops nulls for optional properties only, at every level, and changes nothing in place", () => {
    const facts = {
      confirmed: null,
      when: null,
      contact: { name: null, phone: null },
      dishes: [{ dish: "soup", vegan: null }],
    };
    const copy = structuredClone(facts);
    expect(dropOptionalNulls(booking, facts)).toEqual({
      confirmed: null,
      contact: { name: null },
      dishes: [{ dish: "soup" }],
    });
    expect(facts).toEqual(copy);
  });
});
