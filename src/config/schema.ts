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
    transcription_model: z.string().min(1).default("gpt-4o-mini-transcribe"),
    vad: z.strictObject({
      type: z.enum(["server_vad", "semantic_vad"]).default("server_vad"),
      threshold: z.number().min(0).max(1).default(0.5),
      silence_ms: z.number().int().min(100).max(5_000).default(500),
      prefix_padding_ms: z.number().int().min(0).max(2_000).default(300),
      eagerness: z.enum(["low", "medium", "high", "auto"]).default("auto"),
    }).prefault({}),
  }).prefault({}),
  agent: z.strictObject({
    default_prompt: z.string().min(1).max(32_000).default(DEFAULT_PROMPT),
    inbound_prompt: z.string().min(1).max(32_000).default(DEFAULT_INBOUND_PROMPT),
    // Prepended to every call's prompt: house rules that apply whatever the caller of the API asks.
    preamble: z.string().max(32_000).default(""),
    // How the agent opens the conversation; an empty string means it waits for the other side.
    outbound_greeting: z.string().max(2_000).default("The call has just been answered. Greet the person and say why you are calling, following your instructions."),
    inbound_greeting: z.string().max(2_000).default("Greet the caller and ask how you can help."),
  }).prefault({}),
  audio: z.strictObject({
    // pcmu: Twilio's μ-law goes to the model untouched. pcm: 24 kHz linear PCM for models that want it.
    format: z.enum(["pcmu", "pcm"]).default("pcmu"),
    // Audio waiting for a backed-up socket beyond this is dropped, oldest first, and counted.
    max_buffered_ms: z.number().int().min(200).max(60_000).default(5_000),
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
