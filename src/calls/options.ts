// A call's in-call policies: silence, voicemail, transfer, consulting the owner, retries. A request may
// set each; what it leaves out comes from config.yaml. They are resolved once, when the call is created,
// and stored with it, so a call keeps the policies it started with across a restart or a config change.
import type { LineDefaults } from "../config/numbers.ts";
import { type Config, E164, VOICEMAIL_POLICIES } from "../config/schema.ts";
import { type CallWindowSpec, serverZone } from "../config/window.ts";
import { z } from "../config/zod.ts";
import type { CallWindow } from "../schedule/window.ts";
import { blankAsMissing } from "./fields.ts";

export const RETRY_ON = ["busy", "no_answer", "failed"] as const;
export type RetryOn = (typeof RETRY_ON)[number];
export const MAX_ATTEMPTS = 5;
export const MAX_VOICEMAIL_MESSAGE_CHARS = 1_000;
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
      z.strictObject(
        { reprompt_s: seconds("silence.reprompt_s", 3_600), hangup_s: seconds("silence.hangup_s", 14_400) },
        { error: `'silence' must be an object such as {"reprompt_s": 10, "hangup_s": 30}` },
      ),
    ),
  ),
  voicemail: blankAsMissing(
    z.optional(z.enum(VOICEMAIL_POLICIES, { error: `'voicemail' must be one of: ${VOICEMAIL_POLICIES.join(", ")}` })),
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
        ),
    ),
  ),
  transfer_to: blankAsMissing(
    z.optional(
      z
        .string({ error: "'transfer_to' must be a string" })
        .check(z.trim(), z.regex(E164, "Invalid 'transfer_to' phone number: use E.164 format, such as +15551234567")),
    ),
  ),
  consult: z._default(z.boolean({ error: "'consult' must be true or false" }), false),
  record: blankAsMissing(z.optional(z.boolean({ error: "'record' must be true or false" }))),
  retry: blankAsMissing(z.optional(retrySchema())),
});
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

export interface CallOptions {
  silence: { reprompt_s: number; hangup_s: number };
  voicemail: (typeof VOICEMAIL_POLICIES)[number];
  voicemail_message: string | null;
  transfer_to: string | null;
  consult: boolean;
  retry: { max_attempts: number; delay_s: number; on: RetryOn[] };
  /** Whether the call is recorded; absent in calls stored before recordings existed (not recorded). */
  record?: boolean;
  /** The model's voice, and the language the agent speaks (BCP 47; null: the prompt's). */
  voice: string;
  language: string | null;
  /** When the call may be dialled, retries included; null: any time. Its zone is settled when the call is placed. */
  call_window: CallWindow | null;
}

/** What a request says of the call's voice, language and window; `call_window: null` opts out of the default. */
export interface CallSettingsRequest {
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
  line: Pick<LineDefaults, "voice" | "language"> = {
    voice: config.openai.voice,
    language: config.agent.language ?? null,
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
    voice: req.voice ?? line.voice,
    language: req.language ? Intl.getCanonicalLocales(req.language)[0]! : line.language,
    call_window: chooseWindow(config, req.call_window),
  };
}

/**
 * A stored call's policies; calls from before they existed get config.yaml's, and calls from before a voice,
 * language and window were kept get the voice they had then, no language and no window.
 */
export function callOptions(config: Config, stored: string | null): CallOptions {
  if (!stored) return resolveOptions(config, { call_window: null }, { voice: config.openai.voice, language: null });
  const options = JSON.parse(stored) as Partial<CallOptions> & Omit<CallOptions, "voice" | "language" | "call_window">;
  return {
    ...options,
    voice: options.voice ?? config.openai.voice,
    language: options.language ?? null,
    call_window: options.call_window ?? null,
  };
}
