// GET /openapi.json: an OpenAPI 3.1 description of the API, made at the first request (then kept) from the route
// table and from the zod schemas the handlers validate requests with and build their answers from, so nothing in
// it is written beside them. It holds no data, so it is served without a token.
import { CallMetricsSchema } from "../bridge/metrics.ts";
import { CALL_NOT_FOUND, DRAINING } from "../calls/errors.ts";
import { CALL_EVENT_TYPES, type CallEventType, eventSchema } from "../calls/events.ts";
import { CallOptionsSchema } from "../calls/options.ts";
import { CallReportSchema } from "../calls/report.ts";
import { CallRequest, MISSING_TO, MISSING_WEBHOOK } from "../calls/request.ts";
import { AttemptSchema, CallDetailSchema, CallSummarySchema, TurnSchema } from "../calls/view.ts";
import { jsonSchemaParams, z } from "../config/zod.ts";
import { VERSION } from "../version.ts";
import { CallPageSchema, EndedSchema, HealthSchema, MAX_API_BODY, PlacedCallSchema } from "./api.ts";
import { REMOTE_WITHOUT_TOKEN, WRONG_TOKEN } from "./auth.ts";
import {
  DEFAULT_LISTED,
  EventPageSchema,
  MAX_LISTED,
  OUTBOX_STATUSES,
  OutboxEventSchema,
  RetriedSchema,
} from "./events.ts";
import { FOREIGN_ORIGIN, MISDIRECTED, NOT_JSON } from "./guard.ts";
import { CURSOR_ERROR, DEFAULT_PAGE, LIMIT_ERROR, MAX_PAGE } from "./paging.ts";
import { type ErrorBody, rateLimited, STORAGE_UNAVAILABLE, tooLarge } from "./respond.ts";

/** Every error's body (respond.ts), whatever the status code: the original API's shape. */
const ErrorSchema: z.ZodMiniType<ErrorBody> = z.lazy(() => z.object({ success: z.literal(false), error: z.string() }));

/** The answers' schemas, by the name the document gives them under components.schemas. */
const ANSWERS = {
  Error: ErrorSchema,
  PlacedCall: PlacedCallSchema,
  CallPage: CallPageSchema,
  CallSummary: CallSummarySchema,
  CallDetail: CallDetailSchema,
  CallReport: CallReportSchema,
  CallOptions: CallOptionsSchema,
  CallMetrics: CallMetricsSchema,
  Attempt: AttemptSchema,
  Turn: TurnSchema,
  Ended: EndedSchema,
  Health: HealthSchema,
  EventPage: EventPageSchema,
  OutboxEvent: OutboxEventSchema,
  Retried: RetriedSchema,
};
type Named = keyof typeof ANSWERS;

interface Answer {
  description: string;
  /** A JSON answer's schema; without one, `type` says what the body is. */
  schema?: Named;
  type?: string;
  /** Errors the API sends with this status, word for word. */
  examples?: string[];
  headers?: Record<string, { description: string; schema: { type: string } }>;
}

interface Operation {
  summary: string;
  description?: string;
  parameters?: object[];
  /** The body is POST /api/call's request. */
  body?: true;
  answers: Record<number, Answer>;
  /** Answered without a token. */
  open?: true;
}

const refused = (description: string, ...examples: string[]): Answer => ({ description, schema: "Error", examples });
const RETRY_AFTER = {
  "Retry-After": { description: "seconds until a request is allowed again", schema: { type: "integer" } },
};

/** What any request under /api/ may be refused with before its handler runs. */
const GUARDED: Record<number, Answer> = {
  400: refused("the Host header is not a valid host, or the request is invalid"),
  401: refused("the token is missing or wrong", WRONG_TOKEN, REMOTE_WITHOUT_TOKEN),
  403: refused("the request comes from a page on another origin", FOREIGN_ORIGIN),
  421: refused("without a token, a request addressed to a host that is not loopback or the public one", MISDIRECTED),
  429: { ...refused("limits.api_requests_per_minute", rateLimited(12).message), headers: RETRY_AFTER },
  500: refused("a failure the server did not foresee; it is logged", "Internal server error"),
};
const BODY_REFUSED: Record<number, Answer> = {
  413: refused(`a body over ${MAX_API_BODY} bytes`, tooLarge(MAX_API_BODY).message),
  415: refused("a body not sent as application/json", NOT_JSON),
};
const NO_CALL: Record<number, Answer> = { 404: refused("no call has this id", CALL_NOT_FOUND) };

const pathId = (description: string) => ({
  name: "id",
  in: "path",
  required: true,
  description,
  schema: { type: "string" },
});
const callId = pathId("the call's call_id");
const query = (name: string, description: string, schema: object) => ({ name, in: "query", description, schema });

/** Every operation under /api/ and /health, by method and path as the route table names them. */
const OPERATIONS: Record<string, Operation> = {
  "POST /api/call": {
    summary: "Place an outbound call",
    description:
      "The call is dialled through Twilio at once; what happens next arrives as events, and on GET /api/calls/{id}.",
    body: true,
    answers: {
      200: { description: "Twilio accepted the call", schema: "PlacedCall" },
      400: refused(
        "invalid input, or a destination the toll-fraud guard refuses",
        MISSING_TO,
        MISSING_WEBHOOK,
        "'to' +442071234567 is not allowed: calls.allowed_destinations permits +1 only",
      ),
      ...BODY_REFUSED,
      429: {
        ...refused(
          "a rate limit (with Retry-After), calls.max_concurrent or calls.max_waiting",
          rateLimited(12).message,
          "Too many active calls: the limit is 20 (calls.max_concurrent)",
        ),
        headers: RETRY_AFTER,
      },
      502: refused(
        "Twilio refused the call",
        "Unable to create record: The number +14155550100 is unverified. Trial accounts may only make calls to verified numbers.",
      ),
      503: refused(
        "Twilio unreachable or not configured, the server draining for a stop, or the database not writable",
        "Unable to reach Twilio: connection refused",
        DRAINING,
        STORAGE_UNAVAILABLE,
      ),
    },
  },
  "GET /api/calls": {
    summary: "List the active calls, a page at a time",
    parameters: [
      query("limit", "the page size", { type: "integer", minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE }),
      query("cursor", "the next_cursor of the page before", { type: "string" }),
    ],
    answers: {
      200: { description: "one page, oldest first", schema: "CallPage" },
      400: refused("a limit or cursor the server did not make", LIMIT_ERROR, CURSOR_ERROR),
    },
  },
  "GET /api/calls/:id": {
    summary: "One call, active or ended, with its transcript and report",
    parameters: [callId],
    answers: { 200: { description: "the call", schema: "CallDetail" }, ...NO_CALL },
  },
  "POST /api/calls/:id/end": {
    summary: "End a call (idempotent)",
    parameters: [callId],
    answers: {
      200: { description: "ended, or had ended already", schema: "Ended" },
      ...NO_CALL,
      502: refused("Twilio refused to end the call"),
      503: refused("Twilio unreachable: the call stays active; retry", "Unable to reach Twilio: connection refused"),
    },
  },
  "GET /api/calls/:id/transcript": {
    summary: "The transcript as plain text, one line per turn, then the report",
    parameters: [callId],
    answers: { 200: { description: "the transcript", type: "text/plain; charset=utf-8" }, ...NO_CALL },
  },
  "GET /api/calls/:id/recording": {
    summary: "The call's recording: a 16-bit stereo WAV at 8 kHz (left the caller, right the agent)",
    parameters: [callId, { name: "Range", in: "header", description: "one byte range", schema: { type: "string" } }],
    answers: {
      200: { description: "the whole recording", type: "audio/wav" },
      206: { description: "the range asked for (Content-Range)", type: "audio/wav" },
      404: refused("no such call, or no recording of it", CALL_NOT_FOUND, "No recording for this call"),
      416: { description: "a range past the end (Content-Range: bytes */size)" },
    },
  },
  "GET /api/events": {
    summary: "The event outbox, newest first",
    parameters: [
      query("status", "only the events with this status", { type: "string", enum: [...OUTBOX_STATUSES] }),
      query("limit", "how many", { type: "integer", minimum: 1, maximum: MAX_LISTED, default: DEFAULT_LISTED }),
    ],
    answers: { 200: { description: "the events", schema: "EventPage" }, 400: refused("an unknown status or limit") },
  },
  "POST /api/events/:id/retry": {
    summary: "Queue an undelivered event again, due now",
    parameters: [pathId("the event's id, in plain digits")],
    answers: {
      200: { description: "queued again", schema: "Retried" },
      404: refused("no event has this id", "Event not found"),
      409: refused("the event was delivered", "Event already delivered"),
    },
  },
  "GET /api/stream": {
    summary: "Live changes as Server-Sent Events (the console's view)",
    parameters: [
      query("call", "also send this call's whole detail (event: detail) whenever it changes", { type: "string" }),
    ],
    answers: {
      200: {
        description: "event: calls, then event: call (and event: detail) as calls change",
        type: "text/event-stream",
      },
      ...NO_CALL,
    },
  },
  "GET /health": {
    summary: "Health, for load balancers and probes",
    open: true,
    answers: {
      200: { description: "healthy", schema: "Health" },
      503: { description: "draining for a stop, or the database unreachable", schema: "Health" },
    },
  },
};

const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** call.retry_scheduled → CallRetryScheduledEvent */
const eventName = (type: CallEventType) =>
  `${type
    .split(/[._]/)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join("")}Event`;

/** Each registered schema once under components.schemas; a schema used inside another is a $ref to it there. */
function components(registered: [string, z.ZodMiniType][], io: "input" | "output"): Record<string, object> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of registered) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    ...jsonSchemaParams(io),
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Record<string, unknown>> };
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema, $id, ...schema }]) => [id, schema]));
}

function answer({ description, schema, type, examples, headers }: Answer): object {
  const named = (example: string, i: number) => [`e${i + 1}`, { value: { success: false, error: example } }];
  const json = schema && {
    "application/json": {
      schema: schemaRef(schema),
      ...(examples?.length ? { examples: Object.fromEntries(examples.map(named)) } : {}),
    },
  };
  const content = json ?? (type ? { [type]: { schema: { type: "string", format: "binary" } } } : undefined);
  return { description, ...(content ? { content } : {}), ...(headers ? { headers } : {}) };
}

function operation(key: string, op: Operation): object {
  const guarded = op.open ? {} : { ...GUARDED, ...(op.body ? BODY_REFUSED : {}) };
  const answers = { ...guarded, ...op.answers };
  return {
    operationId: key.replace(/[^A-Za-z0-9]+/g, "_").replace(/_$/, ""),
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    ...(op.open ? { security: [] } : {}),
    ...(op.parameters ? { parameters: op.parameters } : {}),
    ...(op.body
      ? { requestBody: { required: true, content: { "application/json": { schema: schemaRef("CallRequest") } } } }
      : {}),
    responses: Object.fromEntries(Object.entries(answers).map(([status, a]) => [status, answer(a)])),
  };
}

/** The routed operations this document covers; one routed but not described here (or the reverse) is a bug. */
function paths(routed: [method: string, path: string][]): Record<string, Record<string, object>> {
  const covered = routed.filter(([, path]) => path.startsWith("/api/") || path === "/health");
  const keys = covered.map(([method, path]) => `${method} ${path}`);
  const missing = keys.filter((k) => !OPERATIONS[k]);
  const stale = Object.keys(OPERATIONS).filter((k) => !keys.includes(k));
  if (missing.length || stale.length)
    throw new Error(`openapi.ts and the route table differ: routed only ${missing}; described only ${stale}`);
  const out: Record<string, Record<string, object>> = {};
  for (const [method, path] of covered) {
    const key = `${method} ${path}`;
    const documented = path.replace(/:(\w+)/g, "{$1}");
    out[documented] = { ...out[documented], [method.toLowerCase()]: operation(key, OPERATIONS[key]!) };
  }
  return out;
}

const SIGNATURE_HEADERS = [
  ["webhook-id", "one per event, the same on every retry: deduplicate on it"],
  ["webhook-timestamp", "seconds since the epoch when this delivery was signed"],
  ["webhook-signature", 'v1,<base64 HMAC-SHA256 of "id.timestamp.body"> with the whsec_ secret'],
].map(([name, description]) => ({ name, in: "header", required: true, description, schema: { type: "string" } }));

/** The events we POST to receivers, signed the Standard Webhooks way. */
function webhooks(): Record<string, object> {
  const delivery = (type: CallEventType) => ({
    post: {
      operationId: eventName(type),
      summary: `${type}, posted to events.url and the call's callback_url`,
      parameters: SIGNATURE_HEADERS,
      requestBody: { required: true, content: { "application/json": { schema: schemaRef(eventName(type)) } } },
      responses: {
        "2XX": { description: "delivered" },
        default: {
          description:
            "a network error, timeout, 408, 429 or 5xx is retried with backoff for up to 24 h (Retry-After honoured); any other 4xx is dropped",
        },
      },
    },
  });
  return Object.fromEntries(CALL_EVENT_TYPES.map((type) => [type, delivery(type)]));
}

export function openApiDocument(routed: [method: string, path: string][]): object {
  const answers: [string, z.ZodMiniType][] = [
    ...Object.entries(ANSWERS),
    ...CALL_EVENT_TYPES.map((type): [string, z.ZodMiniType] => [eventName(type), eventSchema(type)]),
  ];
  return {
    openapi: "3.1.0",
    info: {
      title: "agenticai",
      version: VERSION,
      description:
        "Make and take real phone calls: Twilio for the line, a realtime speech model for the agent. Errors are always {success: false, error}.",
    },
    security: [{ bearer: [] }],
    paths: paths(routed),
    webhooks: webhooks(),
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "AGENTICAI_API_TOKEN; while it is unset, only clients on the server's own machine are answered",
        },
      },
      schemas: { ...components([["CallRequest", CallRequest]], "input"), ...components(answers, "output") },
    },
  };
}

/** GET /openapi.json: the document is made at the first request, from the route table as it is then, and kept. */
export function openApiEndpoint(routed: () => [method: string, path: string][]): () => Response {
  let body: string | null = null;
  return () => {
    body ??= JSON.stringify(openApiDocument(routed()));
    return new Response(body, { headers: { "Content-Type": "application/json" } });
  };
}
