// GET /openapi.json against `agenticai server --simulate`: the document passes an OpenAPI validator that is not
// ours, and every answer of a simulated call's whole API session (and every event it sends) validates, with a JSON
// Schema validator that is not ours either, against the schema the document gives for its path and status.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { CALL_EVENT_TYPES } from "../src/calls/events.ts";
import { MISSING_TO, MISSING_WEBHOOK } from "../src/calls/request.ts";
import { openApiDocument } from "../src/http/openapi.ts";
import { type ServerProcess, spawnSimulated } from "./support/process.ts";
import { type Receiver, startReceiver } from "./support/receiver.ts";
import { until } from "./support/until.ts";

/** Polls the server a few times a second: each poll is a request against its rate limit. */
const poll = <T>(fn: () => Promise<T>, what: string, timeoutMs: number) => until(fn, what, timeoutMs, 100);

const TOKEN = "openapi-test-token-0123456789abcdef";
const DOC_ID = "https://agenticai.test/openapi.json";

const children = new Set<ServerProcess>();
let server: ServerProcess;
let receiver: Receiver;
let doc: any;
let ajv: Ajv2020;

beforeAll(async () => {
  receiver = startReceiver();
  server = await spawnSimulated(children, {
    AGENTICAI_API_TOKEN: TOKEN,
    AGENTICAI_EVENTS_URL: `${receiver.url}/events`,
  });
  // No token: the document holds no data.
  const res = await fetch(`${server.url}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toStartWith("application/json");
  doc = await res.json();
  // The whole document is one JSON Schema resource, so the components' own "#/components/…" references resolve.
  ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  ajv.addSchema({ ...doc, $id: DOC_ID });
}, 20_000);

afterAll(async () => {
  for (const c of children) {
    c.proc.kill("SIGKILL");
    await c.proc.exited;
  }
  await receiver.stop();
});

/** Checks a body against a `#/components/schemas/…` reference, and says why it does not match. */
function matches(ref: string, body: unknown, where: string): void {
  const validate = ajv.getSchema(`${DOC_ID}${ref}`) ?? ajv.compile({ $ref: `${DOC_ID}${ref}` });
  const ok = validate(body);
  if (!ok)
    throw new Error(`${where} does not match ${ref}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`);
}

const template = (path: string) =>
  path
    .split("?")[0]!
    .replace(/^\/api\/calls\/[^/]+/, "/api/calls/{id}")
    .replace(/^\/api\/events\/[^/]+\/retry$/, "/api/events/{id}/retry");

/** A request of the session: its status must be documented for the operation, and its JSON body match that status's schema. */
async function call(method: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}`, ...init.headers };
  if (init.body !== undefined) headers["Content-Type"] ??= "application/json";
  const res = await fetch(server.url + path, {
    method,
    headers,
    body: typeof init.body === "string" ? init.body : init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const where = `${method} ${path} → ${res.status}`;
  const operation = doc.paths[template(path)]?.[method.toLowerCase()];
  expect(operation, `${method} ${template(path)} is described`).toBeDefined();
  const answer = operation.responses[String(res.status)];
  expect(answer, `${where} is documented`).toBeDefined();
  const type = res.headers.get("content-type") ?? "";
  if (answer.content?.["application/json"]) {
    expect(type).toStartWith("application/json");
    const body = await res.json();
    matches(answer.content["application/json"].schema.$ref, body, where);
    return { status: res.status, body: body as Record<string, any> };
  }
  expect(Object.keys(answer.content ?? {}).some((t) => type.startsWith(t.split(";")[0]!))).toBe(
    answer.content !== undefined,
  );
  return { status: res.status, body: { text: await res.text() } as Record<string, any> };
}

describe("the document", () => {
  test("is valid OpenAPI 3.1 to an independent validator", async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe("3.1.0");
  });

  test("is made once and served as made, without a token", async () => {
    const [a, b] = await Promise.all([1, 2].map(async () => (await fetch(`${server.url}/openapi.json`)).text()));
    expect(a).toBe(b!);
    expect(JSON.parse(a!)).toEqual(doc);
  });

  test("the bearer scheme guards every /api/ operation; /health is open", () => {
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.security).toEqual([{ bearer: [] }]);
    expect(doc.paths["/health"].get.security).toEqual([]);
    for (const [path, operations] of Object.entries<Record<string, any>>(doc.paths)) {
      if (!path.startsWith("/api/")) continue;
      for (const op of Object.values(operations)) {
        expect(op.security).toBeUndefined();
        expect(op.responses["401"].content["application/json"].schema.$ref).toBe("#/components/schemas/Error");
      }
    }
  });

  test("the seed's errors are the examples of POST /api/call's refusals", () => {
    const examples = (status: number) =>
      Object.values<{ value: { error: string } }>(
        doc.paths["/api/call"].post.responses[status].content["application/json"].examples,
      ).map((e) => e.value.error);
    expect(examples(400)).toContain(MISSING_TO);
    expect(examples(400)).toContain(MISSING_WEBHOOK);
    expect(examples(502)[0]).toStartWith("Unable to create record: ");
    expect(doc.paths["/api/calls/{id}"].get.responses["404"].content["application/json"].examples.e1.value).toEqual({
      success: false,
      error: "Call not found",
    });
  });

  test("nullable fields are typed with null", () => {
    const detail = doc.components.schemas.CallDetail.properties;
    expect(detail.ended_at.anyOf ?? detail.ended_at.type).toContainEqual(expect.objectContaining({ type: "null" }));
    expect(detail.duration_s.type).toEqual(["number", "null"]);
    expect(detail.report.anyOf).toEqual([{ $ref: "#/components/schemas/CallReport" }, { type: "null" }]);
  });

  test("the events are webhooks with the Standard Webhooks headers", () => {
    expect(Object.keys(doc.webhooks).sort()).toEqual([...CALL_EVENT_TYPES].sort());
    for (const type of CALL_EVENT_TYPES) {
      const post = doc.webhooks[type].post;
      expect(post.parameters.map((p: { name: string }) => p.name)).toEqual([
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
      ]);
      const schema = doc.components.schemas[post.requestBody.content["application/json"].schema.$ref.split("/").pop()];
      expect(schema.properties.type.const).toBe(type);
    }
  });

  test("a route described but not routed, or routed but not described, is an error, not a silent gap", () => {
    const routed = Object.entries<object>(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m): [string, string] => [m.toUpperCase(), path.replace(/\{(\w+)\}/g, ":$1")]),
    );
    expect(() => openApiDocument(routed)).not.toThrow();
    expect(() => openApiDocument([...routed, ["GET", "/api/calls/:id/cost"]])).toThrow(
      "routed only GET /api/calls/:id/cost",
    );
    expect(() => openApiDocument(routed.filter(([, p]) => p !== "/api/stream"))).toThrow(
      "described only GET /api/stream",
    );
  });
});

describe("a simulated call's whole API session matches the document", () => {
  test("every answer, and every event delivered, validates against its documented schema", async () => {
    expect((await call("GET", "/health")).status).toBe(200);
    expect((await call("POST", "/api/call", { body: {} })).body.error).toBe(MISSING_TO);
    expect(
      (await call("POST", "/api/call", { body: { to: "+15550100004" }, headers: { Authorization: "Bearer x" } }))
        .status,
    ).toBe(401);
    expect((await call("POST", "/api/call", { body: "to=1", headers: { "Content-Type": "text/plain" } })).status).toBe(
      415,
    );
    expect((await call("POST", "/api/call", { body: { to: "+15005550001" } })).status).toBe(502);

    const placed = await call("POST", "/api/call", {
      body: { to: "+15550100004", metadata: { crm: 7 }, record: true },
    });
    const id = placed.body.call_id as string;
    await call("GET", "/api/calls");
    const ended = await poll(
      async () => {
        const detail = (await call("GET", `/api/calls/${id}`)).body;
        return detail.report ? detail : null;
      },
      "the first call's report",
      20_000,
    );
    expect(ended.metrics).not.toBeNull();
    expect(ended.options).not.toBeNull();
    expect((await call("GET", `/api/calls/${id}/transcript`)).body.text).toContain("Agent: ");
    expect((await call("GET", `/api/calls/${id}/recording`)).status).toBe(200);

    const second = (await call("POST", "/api/call", { body: { to: "+15550100006" } })).body.call_id as string;
    await poll(
      async () => (await call("GET", `/api/calls/${second}`)).body.status === "in-progress",
      "an answer",
      10_000,
    );
    await call("GET", "/api/calls?limit=1");
    expect((await call("POST", `/api/calls/${second}/end`)).body.success).toBe(true);
    expect((await call("POST", `/api/calls/${second}/end`)).status).toBe(200);
    expect((await call("GET", `/api/calls/${second}/recording`)).status).toBe(404);
    expect((await call("GET", "/api/calls/no-such-call")).status).toBe(404);
    expect((await call("GET", "/api/calls?limit=0")).status).toBe(400);
    expect((await call("GET", "/api/calls?cursor=nope")).status).toBe(400);

    const events = await poll(
      async () => {
        const page = (await call("GET", "/api/events?status=delivered")).body;
        return page.events.some((e: { type: string }) => e.type === "call.ended") ? page.events : null;
      },
      "call.ended to be delivered",
      20_000,
    );
    expect((await call("POST", `/api/events/${events[0].id}/retry`)).status).toBe(409);
    expect((await call("POST", "/api/events/999999/retry")).status).toBe(404);
    expect((await call("GET", "/api/events?status=nope")).status).toBe(400);

    // Every event the receiver got is its webhook's body, with the signature headers.
    expect(receiver.requests.length).toBeGreaterThanOrEqual(6);
    for (const req of receiver.requests) {
      const webhook = doc.webhooks[req.json.type]?.post;
      expect(webhook, `${req.json.type} is described`).toBeDefined();
      matches(webhook.requestBody.content["application/json"].schema.$ref, req.json, `event ${req.json.type}`);
      for (const header of webhook.parameters) expect(req.headers[header.name]).toBeString();
    }
    const types = new Set(receiver.requests.map((r) => r.json.type));
    for (const type of ["call.initiated", "call.ringing", "call.answered", "call.ended"]) expect(types).toContain(type);
  }, 60_000);

  test("the live stream is documented as an event stream", async () => {
    const controller = new AbortController();
    const res = await fetch(`${server.url}/api/stream`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(Object.keys(doc.paths["/api/stream"].get.responses["200"].content)).toEqual(["text/event-stream"]);
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    controller.abort();
  });
});
