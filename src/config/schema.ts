// src/config/ owns config.yaml, the environment overrides and their validation (zod, through zod.ts).
// It imports nothing else of the server: every other folder may read it.
import { callWindowSchema } from "./window.ts";
import { z } from "./zod.ts";

export const DEFAULT_PROMPT = "You are a helpful AI assistant making a phone call.";
export const DEFAULT_INBOUND_PROMPT =
  "You are a helpful AI assistant answering a phone call. Greet the caller and ask how you can help.";

export const E164 = /^\+[1-9]\d{6,14}$/;

/** A key prefix S3 and every S3-compatible store take as it is, in a URL path and in a signature. */
const S3_PREFIX = /^(?!\/)[0-9A-Za-z!_.*'()/-]{0,512}$/;

/** An allowed_destinations entry: a prefix of E.164 numbers. */
export const DESTINATION_PREFIX = /^\+\d{1,15}$/;

/** hangup: end the call at once; leave_message: speak a message after the beep, then hang up; continue: ignore. */
export const VOICEMAIL_POLICIES = ["hangup", "leave_message", "continue"] as const;

const httpUrl = () => z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.int().check(z.minimum(min), z.maximum(max));
const text = (min: number, max = Infinity) => z.string().check(z.minLength(min), z.maxLength(max));
const matching = (pattern: RegExp, message: string) => z.string().check(z.regex(pattern, message));
const or = <T extends z.ZodMiniType>(schema: T, value: z.output<T>) => z._default(schema, value as never);
/** scheme://host[:port] and nothing after: what a browser sends as Origin. */
function isOrigin(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return /^https?:$/.test(url.protocol) && url.pathname === "/" && !url.search && !url.hash && !url.username;
}
const origin = () =>
  z.string().check(z.refine(isOrigin, "must be an origin such as https://console.example.com (no path)"));
const section = <T extends z.core.$ZodLooseShape>(shape: T) => z.prefault(z.strictObject(shape), {} as never);

/** A well-formed BCP 47 tag (`es`, `es-MX`, `de-DE`), as the platform's locale parser reads them. */
export function isLanguageTag(tag: string): boolean {
  try {
    return Intl.getCanonicalLocales(tag).length === 1;
  } catch {
    return false;
  }
}
const languageTag = () =>
  z.string().check(z.refine(isLanguageTag, "must be a BCP 47 language tag such as es, es-MX or de-DE"));
const e164 = () => matching(E164, "must be an E.164 number such as +15551234567");

/** What a number of ours answers (inbound) and places calls (outbound, `from` it) with, unless a request says. */
const lineSettings = () =>
  z.strictObject({
    voice: z.optional(text(1)),
    language: z.optional(languageTag()),
    prompt: z.optional(text(1, 32_000)),
    // How the agent introduces itself on this line; wired to the agent by the caller-identity feature.
    caller_identity: z.optional(text(1, 2_000)),
  });

/** Per 1M tokens, in USD. Audio prices left out are the text ones. */
const modelPrice = () =>
  z.strictObject({
    input: z.number().check(z.minimum(0)),
    cached_input: z.number().check(z.minimum(0)),
    output: z.number().check(z.minimum(0)),
    audio_input: z.optional(z.number().check(z.minimum(0))),
    cached_audio_input: z.optional(z.number().check(z.minimum(0))),
    audio_output: z.optional(z.number().check(z.minimum(0))),
  });
export type ModelPrice = z.infer<ReturnType<typeof modelPrice>>;

/**
 * OpenAI's list prices for the default models, per 1M tokens in USD, as read on 2026-12-06, and Google's for its
 * Live native-audio model (Gemini 2.5 Flash Native Audio's, which the 3.1 preview is listed at until it has its own;
 * the Live API bills no discount for cached input). A config's pricing.models adds to these (and overrides a model
 * it names); prices change, so check them.
 */
export const LIST_PRICES: Record<string, ModelPrice> = {
  "gpt-realtime": {
    input: 4,
    cached_input: 0.4,
    output: 16,
    audio_input: 32,
    cached_audio_input: 0.4,
    audio_output: 64,
  },
  "gpt-5-mini": { input: 0.25, cached_input: 0.025, output: 2 },
  "gemini-3.1-flash-live-preview": {
    input: 0.5,
    cached_input: 0.5,
    output: 2,
    audio_input: 3,
    cached_audio_input: 3,
    audio_output: 12,
  },
};

/** calls.timezone_required: a default window must name its zone too. */
const windowHasZone = (calls: { timezone_required?: boolean; call_window?: { timezone?: string } }) =>
  !calls.timezone_required || !calls.call_window || calls.call_window.timezone !== undefined;

const SECTIONS = {
  server: () =>
    section({
      host: or(text(1), "0.0.0.0"),
      port: or(int(0, 65535), 8080),
      // The base URL Twilio reaches this server at; webhook signatures are checked against it.
      public_url: z.optional(httpUrl()),
      api_token: z.optional(z.string().check(z.minLength(16, "must be at least 16 characters"))),
      data_dir: or(text(1), "./data"),
      // Pages on these origins may send requests to /api/* besides the server's own (as reached and as
      // public_url); a request with any other Origin header is refused.
      allowed_origins: z.optional(z.array(origin())),
    }),
  database: () =>
    section({
      // Unset: the embedded SQLite file in server.data_dir. A PostgreSQL URL: every instance given the same
      // one shares calls, limits, background work and secrets (several instances behind a load balancer).
      url: z.optional(matching(/^postgres(ql)?:\/\/\S+$/, "must be a postgres:// (or postgresql://) URL")),
    }),
  twilio: () =>
    section({
      account_sid: z.optional(matching(/^AC[0-9a-fA-F]{32}$/, "must be 'AC' followed by 32 hex digits")),
      auth_token: z.optional(text(1)),
      phone_number: z.optional(e164()),
      // The numbers a request's `from` may name, besides phone_number and those under `numbers`.
      phone_numbers: z.optional(z.array(e164())),
      // Per-number defaults, keyed by the E.164 number: an inbound call to it, and an outbound call from it.
      numbers: z.optional(z.record(e164(), lineSettings())),
      api_base_url: or(httpUrl(), "https://api.twilio.com"),
      validate_signatures: or(z.boolean(), true),
      request_timeout_ms: or(int(100, 60_000), 10_000),
    }),
  openai: () =>
    section({
      api_key: z.optional(text(1)),
      base_url: or(httpUrl(), "https://api.openai.com/v1"),
      // Sent as OpenAI-Organization / OpenAI-Project on every request to OpenAI, as OpenAI's own SDKs send them.
      organization: z.optional(text(1)),
      project: z.optional(text(1)),
      model: or(text(1), "gpt-realtime"),
      voice: or(text(1), "marin"),
      transcription_model: or(text(1), "gpt-4o-mini-transcribe"),
      vad: section({
        type: or(z.enum(["server_vad", "semantic_vad"]), "server_vad"),
        threshold: or(z.number().check(z.minimum(0), z.maximum(1)), 0.5),
        silence_ms: or(int(100, 5_000), 500),
        prefix_padding_ms: or(int(0, 2_000), 300),
        eagerness: or(z.enum(["low", "medium", "high", "auto"]), "auto"),
      }),
    }),
  gemini: () =>
    section({
      api_key: z.optional(text(1)),
      // An origin: the Live API's path (/ws/google.ai.generativelanguage.<version>…) is added to it.
      base_url: or(origin(), "https://generativelanguage.googleapis.com"),
      model: or(text(1), "gemini-3.1-flash-live-preview"),
      voice: or(text(1), "Kore"),
      api_version: or(matching(/^v\d+(alpha|beta)?$/, "must be an API version such as v1beta or v1"), "v1beta"),
    }),
  agent: () =>
    section({
      // The voice model calls speak to unless a request says: openai (Realtime) or google (Gemini Live).
      provider: or(z.enum(["openai", "google"]), "openai"),
      default_prompt: or(text(1, 32_000), DEFAULT_PROMPT),
      inbound_prompt: or(text(1, 32_000), DEFAULT_INBOUND_PROMPT),
      // Prepended to every call's prompt: house rules that apply whatever the caller of the API asks.
      preamble: or(text(0, 32_000), ""),
      // How the agent opens the conversation; an empty string means it waits for the other side.
      outbound_greeting: or(
        text(0, 2_000),
        "The call has just been answered. Greet the person and say why you are calling, following your instructions.",
      ),
      inbound_greeting: or(text(0, 2_000), "Greet the caller and ask how you can help."),
      // Who the agent is on a call ("Ava, calling for Dr. Lee's office"): what it says when asked who is
      // calling, and what it tells a call screener. A request's caller_identity overrides it.
      caller_identity: z.optional(text(1, 200)),
      // The language calls are held in unless a request or the number says (BCP 47); unset, the prompt's.
      language: z.optional(languageTag()),
    }),
  audio: () =>
    section({
      // pcmu: Twilio's μ-law goes to the model untouched. pcm: 24 kHz linear PCM for models that want it.
      format: or(z.enum(["pcmu", "pcm"]), "pcmu"),
      // Audio waiting for a backed-up socket beyond this is dropped, oldest first, and counted.
      max_buffered_ms: or(int(200, 60_000), 5_000),
    }),
  inbound: () =>
    section({
      // Caller ID can be spoofed and every answered call costs money, so answering is opt-in.
      enabled: or(z.boolean(), false),
      allow_from: or(z.array(matching(E164, "must be an E.164 number")), []),
    }),
  calls: () =>
    z.prefault(
      z
        .strictObject({
          ring_timeout_s: or(int(1, 600), 30),
          max_duration_s: or(int(1, 14_400), 900),
          max_concurrent: or(int(1, 10_000), 20),
          // Seconds since the last speech of either side before the agent checks in once, and before it says
          // goodbye and hangs up (end_reason silence); 0 turns either off. A request's `silence` overrides both.
          silence_reprompt_s: or(z.number().check(z.minimum(0), z.maximum(3_600)), 10),
          silence_hangup_s: or(z.number().check(z.minimum(0), z.maximum(14_400)), 30),
          // How long the agent waits, silent, for the person after answering a call screener; a request's
          // screening: {wait_s} overrides it, and screening: false turns screener handling off.
          screening_wait_s: or(int(5, 600), 45),
          // The longest hold the agent waits through before hanging up (hold_timeout); a request's hold: {max_s}
          // overrides it, and hold: false turns hold handling off.
          hold_max_s: or(int(10, 14_400), 1_800),
          // What an outbound call does when Twilio's answering machine detection hears voicemail.
          voicemail: or(z.enum(VOICEMAIL_POLICIES), "hangup"),
          // Where transfer_call hands a call to a person (E.164); a request's transfer_to overrides it.
          transfer_to: z.optional(matching(E164, "must be an E.164 number such as +15551234567")),
          // How long the transfer target may ring before the caller is told nobody answered.
          transfer_ring_s: or(int(5, 120), 20),
          // How long a transferred call may go on with the person (max_duration_s is the agent's part).
          transfer_max_duration_s: or(int(60, 14_400), 3_600),
          // E.164 prefixes this server may dial or transfer to. Unset: the country of twilio.phone_number.
          allowed_destinations: z.optional(
            z.array(matching(DESTINATION_PREFIX, "must be '+' followed by 1 to 15 digits, such as +1 or +4420")),
          ),
          // The shortest retry.delay_s a request may ask for: each attempt is a call Twilio bills.
          retry_min_delay_s: or(z.number().check(z.minimum(0), z.maximum(86_400)), 30),
          // Calls waiting for their next attempt at most; past it a request with retries is refused (429) and an
          // attempt that ends is not tried again.
          max_waiting: or(int(1, 100_000), 200),
          // How many times one call's media stream may drop and be reopened (on any instance sharing the database)
          // before the call is hung up; 0 hangs up at the first drop.
          max_resumes: or(int(0, 20), 3),
          // A calling window for every call that has none of its own (a request may opt out with null); unset, calls
          // are dialled whenever they are asked for.
          call_window: z.optional(callWindowSchema(() => "")),
          // true: a window without a timezone is refused, instead of being read in the server's own zone; unset: false.
          timezone_required: z.optional(z.boolean()),
        })
        .check(
          z.refine(windowHasZone, {
            message: "must be set while calls.timezone_required is true",
            path: ["call_window", "timezone"],
          }),
        ),
      {} as never,
    ),
  recording: () =>
    z.prefault(
      z
        .strictObject({
          // Record every call (a request's `record` decides for its call). Recording needs the other side's
          // consent in many places: see the README.
          enabled: or(z.boolean(), false),
          // Recordings older than this are deleted; 0 keeps them.
          retention_days: or(int(0, 3_650), 30),
          // local: in the data dir of the instance that recorded the call, served by it alone. s3: in a bucket
          // of an S3-compatible store, served by every instance (each WAV goes up when its call's stream ends).
          storage: or(z.enum(["local", "s3"]), "local"),
          s3: section({
            bucket: z.optional(text(1, 255)),
            // Unset: AWS's own endpoint for the region. Set for MinIO, R2, Spaces and other S3-compatible stores.
            endpoint: z.optional(httpUrl()),
            region: z.optional(text(1, 64)),
            access_key_id: z.optional(text(1)),
            secret_access_key: z.optional(text(1)),
            // Keys are <prefix><call id>.wav.
            prefix: or(
              matching(S3_PREFIX, "must be S3-safe characters (letters, digits and !-_.*'()/), no leading /"),
              "recordings/",
            ),
          }),
        })
        .check(
          z.refine((r) => r.storage !== "s3" || r.s3.bucket !== undefined, {
            path: ["s3", "bucket"],
            error: "required when recording.storage is s3 (S3_BUCKET)",
          }),
        ),
      {} as never,
    ),
  retention: () =>
    section({
      // Ended calls are deleted this many days after they ended, with their transcript, history, attempts,
      // events and recording; 0 keeps them.
      calls_days: or(int(0, 36_500), 90),
    }),
  shutdown: () =>
    section({
      // On SIGTERM/SIGINT calls may go on this long; those still up then hear a goodbye and are hung up.
      drain_s: or(int(0, 3_600), 30),
      // With another live instance on the database, a stop hands the calls over instead of draining them: /health
      // answers 503 for this long (so the load balancer stops sending work here), then the streams are closed and
      // every call resumes on another instance.
      handover_delay_s: or(int(0, 300), 3),
    }),
  report: () =>
    section({
      // The post-call report: a small model reads the transcript once the call has ended.
      model: or(text(1), "gpt-5-mini"),
      timeout_ms: or(int(1_000, 120_000), 20_000),
    }),
  events: () =>
    section({
      // Signed event webhooks (Standard Webhooks): every event of every call goes to this receiver.
      url: z.optional(httpUrl()),
      // whsec_<base64>; when unset one is generated at first start and kept in the data dir.
      secret: z.optional(
        matching(/^whsec_[A-Za-z0-9+/]{22,}={0,2}$/, "must be 'whsec_' followed by base64 (24+ bytes)"),
      ),
      // Also send call.transcript, one event per finished turn.
      transcript: or(z.boolean(), false),
      // Delivered events are deleted this many days after delivery; 0 keeps them.
      keep_days: or(int(0, 3_650), 7),
      // How long one delivery to events.url or a call's callback_url may take, answer included.
      timeout_s: or(int(1, 30), 10),
      // Let a call's callback_url be a loopback, private or otherwise reserved address (internal receivers).
      allow_private_networks: or(z.boolean(), false),
    }),
  integrations: () =>
    section({
      openclaw: z.optional(
        z.strictObject({
          gateway_url: httpUrl(),
          // Posts each ended call to the gateway's hooks (notify); without it nothing is posted.
          hooks_token: z.optional(text(1)),
          // Lets a call's agent ask the owner's assistant (consult) through the gateway's chat completions.
          gateway_token: z.optional(text(1)),
          consult_timeout_s: or(z.number().check(z.minimum(1), z.maximum(120)), 20),
          agent_id: or(text(1), "main"),
          deliver_channel: z.optional(text(1)),
          deliver_to: z.optional(text(1)),
        }),
      ),
    }),
  consult: () =>
    section({
      // How many questions one call's agent may ask the owner's assistant (consult_assistant); past it the agent
      // is told to go on without asking.
      max_per_call: or(int(1, 20), 3),
    }),
  limits: () =>
    section({
      // Per client address on every /api/* request; POST /api/call also draws from calls_per_minute, charged
      // only for requests that reach Twilio.
      api_requests_per_minute: or(int(1), 300),
      calls_per_minute: or(int(1), 30),
    }),
  pricing: () =>
    section({
      // What a minute of a call costs at Twilio, until Twilio's own price for the call is in (US outbound list price).
      telephony_per_min: or(z.number().check(z.minimum(0), z.maximum(100)), 0.014),
      // Per model, per 1M tokens in USD; these add to (and override) the shipped list prices.
      models: or(z.record(text(1), modelPrice()), LIST_PRICES),
    }),
  metrics: () =>
    section({
      // Opens GET /metrics to a Prometheus server holding only this; unset, /metrics is guarded like /api/*.
      token: z.optional(z.string().check(z.minLength(16, "must be at least 16 characters"))),
    }),
};

/** The config's top-level keys, in the order the schema checks them. */
export type SectionName = keyof typeof SECTIONS;
export const SECTION_NAMES = Object.keys(SECTIONS) as SectionName[];

type Sections = { [K in SectionName]: ReturnType<(typeof SECTIONS)[K]> };
const built: Partial<Sections> = {};

/**
 * A section's schema, built on its first use: the few hundred zod objects of every section cost a start several
 * milliseconds, and most configs set a few sections (the loader takes the rest from CONFIG_DEFAULTS).
 */
export function sectionSchema<K extends SectionName>(name: K): Sections[K] {
  built[name] ??= SECTIONS[name]() as never;
  return built[name] as Sections[K];
}

/** The schema of a config that sets just these sections, checked in the whole schema's order. */
export function sectionsSchema(names: readonly SectionName[]) {
  const shape: Partial<Sections> = {};
  for (const name of SECTION_NAMES) if (names.includes(name)) shape[name] = sectionSchema(name) as never;
  return z.strictObject(shape as Sections);
}

/** The whole config's schema, built on first use. */
export const ConfigSchema = z.lazy(() => sectionsSchema(SECTION_NAMES));

export type Config = z.infer<typeof ConfigSchema>;
