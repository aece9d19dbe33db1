import { z } from "zod";

export const DEFAULT_PROMPT = "You are a helpful AI assistant making a phone call.";
export const DEFAULT_INBOUND_PROMPT = "You are a helpful AI assistant answering a phone call. Greet the caller and ask how you can help.";

export const E164 = /^\+[1-9]\d{6,14}$/;

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });
const seconds = (max: number) => z.number().int().min(1).max(max);

export const ConfigSchema = z.strictObject({
  server: z.strictObject({
    host: z.string().min(1).default("0.0.0.0"),
    port: z.number().int().min(0).max(65535).default(8080),
    // The base URL Twilio reaches this server at; webhook signatures are checked against it.
    public_url: httpUrl.optional(),
    api_token: z.string().min(16, "must be at least 16 characters").optional(),
    data_dir: z.string().min(1).default("./data"),
  }).prefault({}),
  twilio: z.strictObject({
    account_sid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, "must be 'AC' followed by 32 hex digits").optional(),
    auth_token: z.string().min(1).optional(),
    phone_number: z.string().regex(E164, "must be an E.164 number such as +15551234567").optional(),
    api_base_url: httpUrl.default("https://api.twilio.com"),
    validate_signatures: z.boolean().default(true),
    request_timeout_ms: z.number().int().min(100).max(60_000).default(10_000),
  }).prefault({}),
  openai: z.strictObject({
    api_key: z.string().min(1).optional(),
    base_url: httpUrl.default("https://api.openai.com/v1"),
    model: z.string().min(1).default("gpt-realtime"),
    voice: z.string().min(1).default("marin"),
  }).prefault({}),
  agent: z.strictObject({
    default_prompt: z.string().min(1).max(32_000).default(DEFAULT_PROMPT),
    inbound_prompt: z.string().min(1).max(32_000).default(DEFAULT_INBOUND_PROMPT),
  }).prefault({}),
  inbound: z.strictObject({
    // Caller ID can be spoofed and every answered call costs money, so answering is opt-in.
    enabled: z.boolean().default(false),
    allow_from: z.array(z.string().regex(E164, "must be an E.164 number")).default([]),
  }).prefault({}),
  calls: z.strictObject({
    ring_timeout_s: seconds(600).default(30),
    max_duration_s: seconds(14_400).default(900),
    max_concurrent: z.number().int().min(1).max(10_000).default(20),
  }).prefault({}),
  limits: z.strictObject({
    // Per client (bearer token or IP) on /api/*; POST /api/call draws from its own, smaller bucket.
    api_requests_per_minute: z.number().int().min(1).default(300),
    calls_per_minute: z.number().int().min(1).default(30),
  }).prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;
