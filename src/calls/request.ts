import { z } from "zod";
import { E164 } from "../config/schema.ts";

export const MISSING_TO = "Missing 'to' phone number";
export const MISSING_WEBHOOK = "Missing 'webhook_url'. Set AGENTICAI_WEBHOOK_URL environment variable or pass in request.";
export const MAX_PROMPT_CHARS = 32_000;
export const MAX_METADATA_BYTES = 16 * 1024;

const blankToUndefined = (v: unknown) => (v === null || (typeof v === "string" && v.trim() === "") ? undefined : v);

/** POST /api/call, exactly the seed's fields. Unknown fields are ignored so newer clients keep working. */
export const CallRequest = z.object({
  to: z.preprocess(
    blankToUndefined,
    z
      .string({ error: (i) => (i.input === undefined ? MISSING_TO : "'to' must be a string") })
      .trim()
      .regex(E164, "Invalid 'to' phone number: use E.164 format, '+' followed by 7 to 15 digits (e.g. +15551234567)"),
  ),
  webhook_url: z.preprocess(
    blankToUndefined,
    z.url({ protocol: /^https?$/, error: "'webhook_url' must be an http(s) URL such as https://example.ngrok.app" }).optional(),
  ),
  prompt: z.preprocess(
    blankToUndefined,
    z
      .string({ error: "'prompt' must be a string" })
      .max(MAX_PROMPT_CHARS, `'prompt' must be at most ${MAX_PROMPT_CHARS} characters`)
      .optional(),
  ),
  metadata: z
    .record(z.string(), z.unknown(), { error: "'metadata' must be a JSON object" })
    .refine((m) => Buffer.byteLength(JSON.stringify(m)) <= MAX_METADATA_BYTES, `'metadata' must be at most ${MAX_METADATA_BYTES} bytes as JSON`)
    .default({}),
});
export type CallRequest = z.infer<typeof CallRequest>;

/** The first problem, worded for a person; the seed's clients show `error` as it is. */
export function firstIssue(error: z.ZodError): string {
  return error.issues[0]?.message ?? "Invalid request";
}
