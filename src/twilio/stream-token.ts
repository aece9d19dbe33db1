import { hmac, secretsEqual } from "../runtime/crypto.ts";

// A per-call capability for the media WebSocket: only the TwiML we served for that call carries it,
// so a guessed call_id alone never opens a model session.
export function streamToken(secret: string, callId: string): string {
  return hmac("sha256", secret, `stream:${callId}`, "base64url");
}

export function verifyStreamToken(secret: string, callId: string, token: string): boolean {
  return secretsEqual(streamToken(secret, callId), token);
}
