// Standard Webhooks (standardwebhooks.com): each delivery carries webhook-id, webhook-timestamp and
// webhook-signature, an HMAC-SHA256 over "id.timestamp.body" keyed with the secret's bytes, so a
// receiver can check the sender and refuse replays with any of the spec's libraries.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hmac, randomBytes } from "../runtime/crypto.ts";

const PREFIX = "whsec_";
const SECRET_FILE = "events-secret";

export function newSecret(): string {
  return PREFIX + randomBytes(32).toString("base64");
}

export function signatureHeaders(secret: string, id: string, body: string, now: Date): Record<string, string> {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const key = Buffer.from(secret.slice(PREFIX.length), "base64");
  return {
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": `v1,${hmac("sha256", key, `${id}.${timestamp}.${body}`, "base64")}`,
  };
}

/**
 * The configured secret, or the one generated at first start and kept in the data dir (mode 600, so
 * only this user can read it): receivers are set up once, and must keep verifying across restarts.
 */
export function eventsSecret(configured: string | undefined, dataDir: string): string {
  if (configured) return configured;
  const file = join(dataDir, SECRET_FILE);
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const secret = newSecret();
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
