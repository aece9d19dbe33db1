import { createHmac, timingSafeEqual } from "node:crypto";

// A per-call capability for the media WebSocket: only the TwiML we served for that call carries it,
// so a guessed call_id alone never opens a model session.
export function streamToken(secret: string, callId: string): string {
  return createHmac("sha256", secret).update(`stream:${callId}`).digest("base64url");
}

export function verifyStreamToken(secret: string, callId: string, token: string): boolean {
  const expected = Buffer.from(streamToken(secret, callId));
  const given = Buffer.from(token);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
