import { hmac, secretsEqual } from "../runtime/crypto.ts";

// A per-call capability for the media WebSocket: only the TwiML we served for that call carries it,
// so a guessed call_id alone never opens a model session.
export function streamToken(secret: string, callId: string): string {
  return hmac("sha256", secret, `stream:${callId}`, "base64url");
}

export function verifyStreamToken(secret: string, callId: string, token: string): boolean {
  return secretsEqual(streamToken(secret, callId), token);
}

// The same for the `<Connect action>` URL a call's TwiML names: it carries the call's id, and only the TwiML we
// served for that call carries its token, so one call's URL cannot be turned into another's.
export function streamEndedToken(secret: string, callId: string): string {
  return hmac("sha256", secret, `stream-ended:${callId}`, "base64url");
}

export function verifyStreamEndedToken(secret: string, callId: string, token: string): boolean {
  return secretsEqual(streamEndedToken(secret, callId), token);
}
