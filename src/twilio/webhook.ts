import { z } from "../config/zod.ts";
import { CALL_STATUSES } from "./status.ts";

// Twilio sends many more fields (geo, CallerName, …); only these drive behaviour, the rest is kept raw.
// The schemas are built on first use (z.lazy): building zod schemas is a good part of a cold start,
// and no webhook can arrive before the server listens.
const sid = () => z.string().check(z.minLength(1));
const orEmpty = () => z._default(z.string(), "");
const count = () => z.optional(z.pipe(z.coerce.number(), z.int().check(z.minimum(0))));

export const VoiceWebhook = z.lazy(() =>
  z.object({
    CallSid: sid(),
    AccountSid: sid(),
    From: orEmpty(),
    To: orEmpty(),
    CallStatus: orEmpty(),
    Direction: orEmpty(),
  }),
);
export type VoiceWebhook = z.infer<typeof VoiceWebhook>;

export const StatusWebhook = z.lazy(() =>
  z.object({
    CallSid: sid(),
    AccountSid: sid(),
    CallStatus: z.enum(CALL_STATUSES),
    SequenceNumber: count(),
    CallDuration: count(),
    Timestamp: z.optional(z.string()),
    ErrorCode: z.optional(z.string()),
    ErrorMessage: z.optional(z.string()),
    AnsweredBy: z.optional(z.string()),
  }),
);
export type StatusWebhook = z.infer<typeof StatusWebhook>;

/** The asynchronous answering machine detection result (AsyncAmdStatusCallback). */
export const AmdWebhook = z.lazy(() =>
  z.object({
    CallSid: sid(),
    AccountSid: sid(),
    // human, machine_start, machine_end_beep, machine_end_silence, machine_end_other, fax, unknown
    AnsweredBy: z.string().check(z.minLength(1), z.maxLength(40)),
    MachineDetectionDuration: count(),
  }),
);
export type AmdWebhook = z.infer<typeof AmdWebhook>;

/** `<Dial action>`: how the dialled leg of a transfer ended. */
export const DialStatusWebhook = z.lazy(() =>
  z.object({
    CallSid: sid(),
    AccountSid: sid(),
    DialCallStatus: z.enum(["completed", "answered", "busy", "no-answer", "failed", "canceled"]),
    DialCallSid: z.optional(z.string()),
    DialCallDuration: count(),
  }),
);
export type DialStatusWebhook = z.infer<typeof DialStatusWebhook>;

/** `<Connect action>`: the call's media stream has ended (the call itself may still be up). */
export const StreamEndedWebhook = z.lazy(() =>
  z.object({
    CallSid: sid(),
    AccountSid: sid(),
    CallStatus: orEmpty(),
  }),
);
export type StreamEndedWebhook = z.infer<typeof StreamEndedWebhook>;

/** Flattens a signed form for validation with zod (repeated keys keep their first value). */
export function firstValues(params: Record<string, string | string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) out[k] = Array.isArray(v) ? v[0]! : v;
  return out;
}
