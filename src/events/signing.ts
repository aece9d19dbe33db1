// src/events/ owns what is sent to receivers and how: Standard Webhooks signing and ids, the retry schedule,
// OpenClaw's hook message, and where a call's own receiver may be (addresses.ts, receiver-host.ts). It imports
// only vocabularies (store, twilio, model) and runtime/: the workers deliver, not this.
//
// Standard Webhooks (standardwebhooks.com): each delivery carries webhook-id, webhook-timestamp and
// webhook-signature, an HMAC-SHA256 over "id.timestamp.body" keyed with the secret's bytes, so a
// receiver can check the sender and refuse replays with any of the spec's libraries.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { v4 as uuidv4 } from "uuid";
import { hmac, randomBytes } from "../runtime/crypto.ts";

const PREFIX = "whsec_";
/** Where builds before the secret moved into the database kept it. */
const LEGACY_SECRET_FILE = "events-secret";

/** A webhook-id in the `msg_` form Standard Webhooks' own tools use. */
export const newEventId = () => `msg_${uuidv4().replaceAll("-", "")}`;

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

/** The secret an older build generated into the data dir, if there is one: receivers already verify with it. */
export function legacyEventsSecret(dataDir: string): string | null {
  const file = join(dataDir, LEGACY_SECRET_FILE);
  return existsSync(file) ? readFileSync(file, "utf8").trim() : null;
}
