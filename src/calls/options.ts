// A call's in-call policies: silence, voicemail, transfer, consulting the owner, retries. A request may
// set each; what it leaves out comes from config.yaml. They are resolved once, when the call is created,
// and stored with it, so a call keeps the policies it started with across a restart or a config change.
import type { LineDefaults } from "../config/numbers.ts";
import { type Config, E164, VOICEMAIL_POLICIES } from "../config/schema.ts";
import { type CallWindowSpec, serverZone, WEEKDAYS } from "../config/window.ts";
import { z } from "../config/zod.ts";
import { PROVIDERS, type Provider, providerDefaults } from "../model/protocol.ts";
import { providerVoiceProblem } from "../model/voices.ts";
import type { CallWindow } from "../schedule/window.ts";
import { blankAsMissing } from "./fields.ts";

export const RETRY_ON = ["busy", "no_answer", "failed"] as const;
export type RetryOn = (typeof RETRY_ON)[number];
export const MAX_ATTEMPTS = 5;
export const MAX_VOICEMAIL_MESSAGE_CHARS = 1_000;
export const MAX_IDENTITY_CHARS = 200;
const DEFAULT_RETRY_DELAY_S = 300;

const seconds = (field: string, max: number) =>
  z.optional(
    z
      .number({ error: `'${field}' must be a number of seconds` })
      .check(z.minimum(0, `'${field}' must be 0 (off) or more`), z.maximum(max, `'${field}' must be at most ${max}`)),
  );

/** The request's fields, for POST /api/call's schema (built on first use there, like every request schema). */
export const callOptionsFields = () => ({
  silence: blankAsMissing(
    z.optional(
      z
        .strictObject(
          { reprompt_s: seconds("silence.reprompt_s", 3_600), hangup_s: seconds("silence.hangup_s", 14_400) },
          { error: `'silence' must be an object such as {"reprompt_s": 10, "hangup_s": 30}` },
        )
        .check(
          z.describe("seconds of quiet before the agent checks in, and before it says goodbye and hangs up; 0 = off"),
        ),
    ),
  ),
  voicemail: blankAsMissing(
    z.optional(
      z
        .enum(VOICEMAIL_POLICIES, { error: `'voicemail' must be one of: ${VOICEMAIL_POLICIES.join(", ")}` })
        .check(z.describe("when an answering machine picks up: hang up, leave a message after the beep, or go on")),
    ),
  ),
  voicemail_message: blankAsMissing(
    z.optional(
      z
        .string({ error: "'voicemail_message' must be a string" })
        .check(
          z.trim(),
          z.minLength(1, "'voicemail_message' must not be empty"),
          z.maxLength(
            MAX_VOICEMAIL_MESSAGE_CHARS,
            `'voicemail_message' must be at most ${MAX_VOICEMAIL_MESSAGE_CHARS} characters`,
          ),
          z.describe("the message leave_message speaks word for word; without it the agent makes one from the prompt"),
        ),
    ),
  ),
  transfer_to: blankAsMissing(
    z.optional(
      z
        .string({ error: "'transfer_to' must be a string" })
        .check(
          z.trim(),
          z.regex(E164, "Invalid 'transfer_to' phone number: use E.164 format, such as +15551234567"),
          z.describe("an E.164 number the agent may hand the call to when the other side asks for a person"),
        ),
    ),
  ),
  consult: z._default(
    z
      .boolean({ error: "'consult' must be true or false" })
      .check(z.describe("true: the agent may ask the owner's assistant mid-call what only the owner knows")),
    false,
  ),
  record: blankAsMissing(
    z.optional(z.boolean({ error: "'record' must be true or false" }).check(z.describe("true: record the call"))),
  ),
  retry: blankAsMissing(
    z.optional(
      retrySchema().check(
        z.describe("dial again an attempt that ends busy, unanswered or failed, under the same call"),
      ),
    ),
  ),
  caller_identity: blankAsMissing(
    z.optional(
      z
        .string({ error: "'caller_identity' must be a string" })
        .check(
          z.trim(),
          z.minLength(1, "'caller_identity' must not be empty"),
          z.maxLength(MAX_IDENTITY_CHARS, `'caller_identity' must be at most ${MAX_IDENTITY_CHARS} characters`),
          z.describe("who the agent is on this call: what it says when asked who is calling, and to a call screener"),
        ),
    ),
  ),
  screening: blankAsMissing(
    z.optional(
      gatekeeperSchema("screening", "wait_s", 5, 600).check(
        z.describe("how long the agent waits, silent, for the person after answering a call screener; false: off"),
      ),
    ),
  ),
  hold: blankAsMissing(
    z.optional(
      gatekeeperSchema("hold", "max_s", 10, 14_400).check(
        z.describe("the longest hold the agent waits through, silent; false: holds are not looked for"),
      ),
    ),
  ),
});

/** `{<key>: seconds}` to wait through a gatekeeper, or false to not look for it at all. */
function gatekeeperSchema(field: string, key: string, min: number, max: number) {
  const example = `{"${key}": ${field === "hold" ? 1800 : 45}}`;
  return z.union(
    [
      z.literal(false),
      z.strictObject(
        {
          [key]: z.optional(
            z
              .number({ error: `'${field}.${key}' must be a number of seconds` })
              .check(
                z.minimum(min, `'${field}.${key}' must be at least ${min}`),
                z.maximum(max, `'${field}.${key}' must be at most ${max}`),
              ),
          ),
        },
        { error: `'${field}' must be false or an object such as ${example}` },
      ),
    ],
    {
      // An object that is wrong inside gets what is wrong with it, not the union's general message.
      error: (issue) => {
        const inner = (issue as { errors?: { message?: string }[][] }).errors?.[1]?.[0]?.message;
        const isObject = typeof issue.input === "object" && issue.input !== null;
        return isObject && inner ? inner : `'${field}' must be false or an object such as ${example}`;
      },
    },
  );
}
type CallOptionsRequest = z.infer<z.ZodMiniObject<ReturnType<typeof callOptionsFields>>>;

function retrySchema() {
  return z.strictObject(
    {
      max_attempts: z
        .int({ error: "'retry.max_attempts' must be a whole number" })
        .check(
          z.minimum(1, "'retry.max_attempts' must be at least 1"),
          z.maximum(MAX_ATTEMPTS, `'retry.max_attempts' must be at most ${MAX_ATTEMPTS}`),
        ),
      // Left out, it is resolved with the config (resolveOptions): never under calls.retry_min_delay_s.
      delay_s: z.optional(
        z
          .number({ error: "'retry.delay_s' must be a number of seconds" })
          .check(
            z.minimum(0, "'retry.delay_s' must not be negative"),
            z.maximum(86_400, "'retry.delay_s' must be at most 86400"),
          ),
      ),
      on: z._default(
        z
          .array(z.enum(RETRY_ON, { error: `'retry.on' may list: ${RETRY_ON.join(", ")}` }))
          .check(z.minLength(1, "'retry.on' must list at least one of: busy, no_answer, failed")),
        [...RETRY_ON],
      ),
    },
    { error: `'retry' must be an object such as {"max_attempts": 3, "delay_s": 300}` },
  );
}

/** The call's policies as resolved when it was created and stored with it: what GET /api/calls/{id} shows as `options`. */
export const CallOptionsSchema = z.lazy(() =>
  z.object({
    silence: z.object({ reprompt_s: z.number(), hangup_s: z.number() }),
    voicemail: z.enum(VOICEMAIL_POLICIES),
    voicemail_message: z.nullable(z.string()),
    transfer_to: z.nullable(z.string()),
    consult: z.boolean(),
    retry: z.object({ max_attempts: z.int(), delay_s: z.number(), on: z.array(z.enum(RETRY_ON)) }),
    // Absent in calls stored before recordings existed (not recorded).
    record: z.optional(z.boolean().check(z.describe("whether the call is recorded"))),
    // The gatekeepers' settings; absent in calls stored before they existed (none looked for).
    caller_identity: z.optional(z.nullable(z.string().check(z.describe("who the agent says it is")))),
    screening: z.optional(z.union([z.literal(false), z.object({ wait_s: z.number() })])),
    hold: z.optional(z.union([z.literal(false), z.object({ max_s: z.number() })])),
    // Absent in calls stored before a second provider existed (OpenAI's configured model).
    provider: z
      .enum(PROVIDERS)
      .check(z.describe("the voice model's provider: openai (Realtime) or google (Gemini Live)")),
    model: z.string().check(z.describe("the voice model the call speaks to")),
    voice: z.string().check(z.describe("the model's voice")),
    language: z.nullable(z.string().check(z.describe("the language the agent speaks (BCP 47); null: the prompt's"))),
    call_window: z.nullable(
      z.object({
        start: z.string(),
        end: z.string(),
        timezone: z.string(),
        days: z.optional(z.array(z.enum(WEEKDAYS))),
      }),
    ),
  }),
);
export type CallOptions = z.output<typeof CallOptionsSchema>;

/** What a request says of the call's model, voice, language and window; `call_window: null` opts out of the default. */
export interface CallSettingsRequest {
  provider?: Provider;
  model?: string;
  voice?: string;
  language?: string;
  call_window?: CallWindowSpec | null;
}

/** The request's window, else calls.call_window (unless the request said null), its zone settled now. */
export function chooseWindow(config: Config, requested: CallWindowSpec | null | undefined): CallWindow | null {
  const spec = requested === undefined ? config.calls.call_window : requested;
  if (!spec) return null;
  const zone = spec.timezone ? canonical(spec.timezone) : serverZone();
  return { ...spec, timezone: zone };
}

/** The platform's spelling of a zone the schema already accepted. */
const canonical = (zone: string) => new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;

/**
 * The call's policies: the request's where it set them, else its number's (`line`: twilio.numbers), else
 * config.yaml's.
 */
export function resolveOptions(
  config: Config,
  req: Partial<CallOptionsRequest> & CallSettingsRequest = {},
  line: Pick<LineDefaults, "voice" | "language" | "caller_identity"> = {
    voice: config.openai.voice,
    language: config.agent.language ?? null,
    caller_identity: null,
  },
): CallOptions {
  const c = config.calls;
  return {
    silence: {
      reprompt_s: req.silence?.reprompt_s ?? c.silence_reprompt_s,
      hangup_s: req.silence?.hangup_s ?? c.silence_hangup_s,
    },
    voicemail: req.voicemail ?? c.voicemail,
    voicemail_message: req.voicemail_message ?? null,
    transfer_to: req.transfer_to ?? c.transfer_to ?? null,
    consult: req.consult ?? false,
    retry: {
      max_attempts: req.retry?.max_attempts ?? 1,
      delay_s: req.retry?.delay_s ?? Math.max(DEFAULT_RETRY_DELAY_S, c.retry_min_delay_s),
      on: req.retry?.on ?? [...RETRY_ON],
    },
    record: req.record ?? config.recording.enabled,
    caller_identity: req.caller_identity ?? line.caller_identity ?? config.agent.caller_identity ?? null,
    screening: req.screening === false ? false : { wait_s: req.screening?.wait_s ?? c.screening_wait_s },
    hold: req.hold === false ? false : { max_s: req.hold?.max_s ?? c.hold_max_s },
    ...callModel(config, req, line.voice),
    language: req.language ? Intl.getCanonicalLocales(req.language)[0]! : line.language,
    call_window: chooseWindow(config, req.call_window),
  };
}

/**
 * The call's provider (the request's, else agent.provider), its model (the request's, else the provider's
 * configured one) and voice (the request's, else its number's when the provider speaks in it, else the provider's).
 */
export function callModel(
  config: Config,
  req: CallSettingsRequest,
  lineVoice: string,
): { provider: Provider; model: string; voice: string } {
  const provider = req.provider ?? config.agent.provider;
  const defaults = providerDefaults(config, provider);
  const voice = req.voice ?? (providerVoiceProblem(provider, lineVoice) ? defaults.voice : lineVoice);
  return { provider, model: req.model ?? defaults.model, voice };
}

/**
 * A stored call's policies; calls from before they existed get config.yaml's, and calls from before a voice,
 * language and window were kept get the voice they had then, no language and no window.
 */
export function callOptions(config: Config, stored: string | null): CallOptions {
  if (!stored) {
    return resolveOptions(
      config,
      { call_window: null },
      { voice: config.openai.voice, language: null, caller_identity: null },
    );
  }
  const options = JSON.parse(stored) as Partial<CallOptions> &
    Omit<CallOptions, "provider" | "model" | "voice" | "language" | "call_window">;
  return {
    ...options,
    provider: options.provider ?? "openai",
    model: options.model ?? config.openai.model,
    voice: options.voice ?? config.openai.voice,
    language: options.language ?? null,
    call_window: options.call_window ?? null,
  };
}
