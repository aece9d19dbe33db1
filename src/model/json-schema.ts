// The caller's report_schema: which JSON Schemas we accept, their OpenAI strict-mode form, and checking the
// model's facts against the original. zod's classic API (for fromJSONSchema) loads only when a report is checked.
type Json = Record<string, unknown>;

const ROOT = "report_schema";
const MAX_DEPTH = 10;
const MAX_PROPERTIES = 100;
const TYPES = new Set(["object", "array", "string", "number", "integer", "boolean", "null"]);
// Keywords whose meaning strict mode cannot express; dropping them silently would ask the model for something else.
const REFUSED = [
  "$ref",
  "$defs",
  "definitions",
  "$dynamicRef",
  "patternProperties",
  "propertyNames",
  "allOf",
  "oneOf",
  "not",
  "if",
  "then",
  "else",
  "dependentSchemas",
  "dependentRequired",
  "dependencies",
  "unevaluatedProperties",
  "unevaluatedItems",
  "prefixItems",
  "additionalItems",
  "contains",
];
// What OpenAI's strict mode accepts beside the structure (properties, required, items, anyOf), by keyword.
const KEPT = [
  "type",
  "description",
  "title",
  "enum",
  "const",
  "pattern",
  "format",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minItems",
  "maxItems",
];
/** Longer patterns are not what a report field needs, and cost more to compile than a request should. */
const MAX_PATTERN_LENGTH = 1_000;
const FORMATS = new Set(["date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"]);

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const isScalar = (v: unknown) => v === null || ["string", "number", "boolean"].includes(typeof v);
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** A JSON path step: `.name`, `["odd name"]` or `[3]`. */
export function childPath(path: string, key: PropertyKey): string {
  if (typeof key === "number") return `${path}[${key}]`;
  const name = String(key);
  return IDENTIFIER.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`;
}

/** Why `schema` cannot be a report_schema (worded for the API's 400), or null when it can. */
export function reportSchemaProblem(schema: unknown): string | null {
  if (!isObject(schema)) return `'${ROOT}' must be a JSON object`;
  if (schema.type !== "object") return `'${ROOT}' must be a JSON Schema with "type": "object"`;
  if (!isObject(schema.properties)) return `'${ROOT}.properties' must be an object`;
  return nodeProblem(schema, ROOT, 1, { properties: 0 });
}

function nodeProblem(node: unknown, path: string, depth: number, seen: { properties: number }): string | null {
  if (!isObject(node)) return `'${path}' must be a JSON Schema object`;
  if (depth > MAX_DEPTH) return `'${path}': nesting deeper than ${MAX_DEPTH} levels is not supported`;
  const refused = REFUSED.find((key) => Object.hasOwn(node, key));
  if (refused) return `'${path}': ${refused} is not supported`;
  if (node.pattern !== undefined) {
    const problem = patternProblem(node.pattern, `${path}.pattern`);
    if (problem) return problem;
  }
  if (node.additionalProperties !== undefined && node.additionalProperties !== false)
    return `'${path}': additionalProperties other than false is not supported`;
  if (node.anyOf !== undefined) {
    if (!Array.isArray(node.anyOf) || node.anyOf.length === 0) return `'${path}.anyOf' must be a non-empty array`;
    if (["type", "enum", "const", "properties", "items"].some((key) => Object.hasOwn(node, key)))
      return `'${path}': anyOf beside type, enum, const, properties or items is not supported`;
    for (const [i, branch] of node.anyOf.entries()) {
      const problem = nodeProblem(branch, childPath(`${path}.anyOf`, i), depth + 1, seen);
      if (problem) return problem;
    }
    return null;
  }
  if (node.enum !== undefined && (!Array.isArray(node.enum) || node.enum.length === 0 || !node.enum.every(isScalar)))
    return `'${path}.enum' must be a non-empty array of strings, numbers, booleans or null`;
  if (node.const !== undefined && !isScalar(node.const))
    return `'${path}.const' must be a string, number, boolean or null`;
  if (node.type === undefined)
    return node.enum !== undefined || node.const !== undefined ? null : `'${path}' needs a type, enum, const or anyOf`;
  return typeProblem(node, path, depth, seen);
}

/**
 * A pattern is compiled when the request comes, with the `u` flag JSON Schema's patterns are read with, so a
 * broken one is the caller's 400 rather than a report that can never validate. Compiling says nothing of how
 * long matching takes: facts are matched off the main thread (facts-check.ts).
 */
function patternProblem(pattern: unknown, path: string): string | null {
  if (typeof pattern !== "string") return `'${path}' must be a string`;
  if (pattern.length > MAX_PATTERN_LENGTH) return `'${path}' must be at most ${MAX_PATTERN_LENGTH} characters`;
  try {
    new RegExp(pattern, "u");
    return null;
  } catch (err) {
    return `'${path}' is not a valid regular expression: ${(err as Error).message}`;
  }
}

function typeProblem(node: Json, path: string, depth: number, seen: { properties: number }): string | null {
  const types = typeof node.type === "string" ? [node.type] : node.type;
  if (!Array.isArray(types) || types.length === 0 || !types.every((t) => TYPES.has(t)))
    return `'${path}.type' must be one of ${[...TYPES].join(", ")}, or a list of them`;
  if (types.includes("array")) {
    const problem = nodeProblem(node.items, `${path}.items`, depth + 1, seen);
    if (problem) return problem;
  }
  if (!types.includes("object")) return null;
  const properties = node.properties;
  if (!isObject(properties)) return `'${path}.properties' must be an object`;
  const names = Object.keys(properties);
  seen.properties += names.length;
  if (seen.properties > MAX_PROPERTIES) return `'${ROOT}': more than ${MAX_PROPERTIES} properties in all`;
  if (node.required !== undefined) {
    if (!Array.isArray(node.required)) return `'${path}.required' must be an array of property names`;
    const stray = node.required.find((name) => typeof name !== "string" || !Object.hasOwn(properties, name));
    if (stray !== undefined) return `'${path}.required' names ${JSON.stringify(stray)}, which is not a property`;
  }
  for (const name of names) {
    const problem = nodeProblem(properties[name], childPath(`${path}.properties`, name), depth + 1, seen);
    if (problem) return problem;
  }
  return null;
}

/**
 * The OpenAI strict-mode form of a schema `reportSchemaProblem` accepts: every object closed and requiring all
 * of its properties, the ones the original left optional made nullable, keywords strict mode rejects dropped.
 */
export function strictSchema(schema: Json): Json {
  return strictNode(schema, false);
}

function strictNode(node: Json, nullable: boolean): Json {
  const out: Json = {};
  for (const key of KEPT) {
    const value = node[key];
    if (value !== undefined) out[key] = Array.isArray(value) ? [...value] : value;
  }
  if (typeof out.format !== "string" || !FORMATS.has(out.format)) delete out.format;
  if (out.type === undefined && node.anyOf === undefined) {
    const inferred = valueTypes(Array.isArray(node.enum) ? node.enum : [node.const]);
    if (inferred.length > 0) out.type = inferred.length === 1 ? inferred[0] : inferred;
  }
  const types = Array.isArray(node.type) ? node.type : [node.type];
  if (isObject(node.properties) || types.includes("object")) {
    const properties = isObject(node.properties) ? node.properties : {};
    const required = new Set(Array.isArray(node.required) ? node.required : []);
    // fromEntries, not assignment, so a property named "__proto__" stays a property
    out.properties = Object.fromEntries(
      Object.entries(properties).map(([name, sub]) => [name, strictNode(sub as Json, !required.has(name))]),
    );
    out.required = Object.keys(properties);
    out.additionalProperties = false;
  }
  if (isObject(node.items)) out.items = strictNode(node.items, false);
  if (Array.isArray(node.anyOf)) out.anyOf = node.anyOf.map((branch: Json) => strictNode(branch, false));
  return nullable ? withNull(out) : out;
}

// JSON Schema lets enum and const stand without a type; OpenAI's strict mode wants one on every schema.
function valueTypes(values: unknown[]): string[] {
  const types = values.map((v) => (v === null ? "null" : Number.isInteger(v) ? "integer" : typeof v));
  const unique = [...new Set(types)].filter((t) => TYPES.has(t));
  // an integer among fractional numbers is a number, and JSON Schema's "number" already admits integers
  return unique.includes("number") ? unique.filter((t) => t !== "integer") : unique;
}

const allowsNull = (s: Json) =>
  s.type === "null" ||
  s.const === null ||
  (Array.isArray(s.type) && s.type.includes("null")) ||
  (Array.isArray(s.enum) && s.enum.includes(null));

// Strict mode has no optional properties, so "may be left out" becomes "may be null".
function withNull(schema: Json): Json {
  if (Array.isArray(schema.anyOf))
    return schema.anyOf.some(allowsNull) ? schema : { ...schema, anyOf: [...schema.anyOf, { type: "null" }] };
  const { const: constant, ...out } = schema;
  if (constant !== undefined) out.enum = [constant];
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  if (typeof out.type === "string" && out.type !== "null") out.type = [out.type, "null"];
  else if (Array.isArray(out.type) && !out.type.includes("null")) out.type = [...out.type, "null"];
  return out;
}

/**
 * `value` without the nulls strict mode made the model write for properties the original schema left optional,
 * so that it can be checked against the original. Returns a copy; `value` is not changed.
 */
export function dropOptionalNulls(schema: Json, value: unknown): unknown {
  if (Array.isArray(value))
    return isObject(schema.items) ? value.map((v) => dropOptionalNulls(schema.items as Json, v)) : value;
  if (!isObject(value)) return value;
  if (Array.isArray(schema.anyOf)) {
    // the branch the value was meant for: the first object branch that has all of its keys
    const keys = Object.keys(value);
    const branch = schema.anyOf.find(
      (b: unknown) =>
        isObject(b) && isObject(b.properties) && keys.every((k) => Object.hasOwn(b.properties as Json, k)),
    );
    return branch ? dropOptionalNulls(branch as Json, value) : value;
  }
  if (!isObject(schema.properties)) return value;
  const properties = schema.properties;
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const kept = Object.entries(value).filter(
    ([name, v]) => !(v === null && !required.has(name) && Object.hasOwn(properties, name)),
  );
  return Object.fromEntries(
    kept.map(([name, v]) => [name, isObject(properties[name]) ? dropOptionalNulls(properties[name] as Json, v) : v]),
  );
}

/**
 * The first way `facts` breaks the caller's ORIGINAL schema (path and problem), or null when they fit. It runs
 * the schema's patterns, so the server calls it only on the worker thread of facts-check.ts.
 */
export async function factsProblem(schema: Json, facts: unknown): Promise<string | null> {
  const { fromJSONSchema, registry } = await import("zod");
  let validator: ReturnType<typeof fromJSONSchema>;
  try {
    // a registry of its own: the global one would keep every report's metadata, and refuse a repeated $id
    validator = fromJSONSchema(schema as Parameters<typeof fromJSONSchema>[0], { registry: registry() });
  } catch (err) {
    return `'${ROOT}' cannot be checked: ${(err as Error).message}`;
  }
  const result = validator.safeParse(facts);
  if (result.success) return null;
  const issue = result.error.issues[0]!;
  return `'${issue.path.reduce<string>((path, key) => childPath(path, key), "facts")}': ${issue.message}`;
}
