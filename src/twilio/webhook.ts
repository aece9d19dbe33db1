import { z } from "zod";
import { CALL_STATUSES } from "../calls/status.ts";

// Twilio sends many more fields (geo, CallerName, …); only these drive behaviour, the rest is kept raw.
export const VoiceWebhook = z.object({
  CallSid: z.string().min(1),
  AccountSid: z.string().min(1),
  From: z.string().default(""),
  To: z.string().default(""),
  CallStatus: z.string().default(""),
  Direction: z.string().default(""),
});
export type VoiceWebhook = z.infer<typeof VoiceWebhook>;

export const StatusWebhook = z.object({
  CallSid: z.string().min(1),
  AccountSid: z.string().min(1),
  CallStatus: z.enum(CALL_STATUSES),
  SequenceNumber: z.coerce.number().int().min(0).optional(),
  CallDuration: z.coerce.number().int().min(0).optional(),
  Timestamp: z.string().optional(),
  ErrorCode: z.string().optional(),
  ErrorMessage: z.string().optional(),
  AnsweredBy: z.string().optional(),
});
export type StatusWebhook = z.infer<typeof StatusWebhook>;

/** Flattens a signed form for validation with zod (repeated keys keep their first value). */
export function firstValues(params: Record<string, string | string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) out[k] = Array.isArray(v) ? v[0]! : v;
  return out;
}
