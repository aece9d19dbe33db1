// The environment contract: these names are fixed and always win over config.yaml.
type Coerce = (raw: string) => unknown;
const str: Coerce = (raw) => raw;
const int: Coerce = (raw) => (/^\d+$/.test(raw) ? Number(raw) : raw);
/** A comma-separated list: "+1, +44" is ["+1", "+44"]; empty items are left out. */
const list: Coerce = (raw) =>
  raw
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
const bool: Coerce = (raw) => {
  const word = raw.trim().toLowerCase();
  return word === "true" ? true : word === "false" ? false : raw;
};

export const ENV_OVERRIDES: ReadonlyArray<readonly [string, readonly string[], Coerce]> = [
  ["PORT", ["server", "port"], int],
  ["HOST", ["server", "host"], str],
  ["AGENTICAI_API_TOKEN", ["server", "api_token"], str],
  ["AGENTICAI_DATA_DIR", ["server", "data_dir"], str],
  ["AGENTICAI_ALLOWED_ORIGINS", ["server", "allowed_origins"], list],
  ["DATABASE_URL", ["database", "url"], str],
  ["TWILIO_ACCOUNT_SID", ["twilio", "account_sid"], str],
  ["TWILIO_AUTH_TOKEN", ["twilio", "auth_token"], str],
  ["TWILIO_PHONE_NUMBER", ["twilio", "phone_number"], str],
  ["TWILIO_PHONE_NUMBERS", ["twilio", "phone_numbers"], list],
  ["TWILIO_API_BASE_URL", ["twilio", "api_base_url"], str],
  ["OPENAI_API_KEY", ["openai", "api_key"], str],
  ["OPENAI_BASE_URL", ["openai", "base_url"], str],
  ["OPENAI_ORG_ID", ["openai", "organization"], str],
  ["OPENAI_PROJECT_ID", ["openai", "project"], str],
  // Google's own SDKs read either name; GEMINI_API_KEY wins when both are set (listed last).
  ["GOOGLE_API_KEY", ["gemini", "api_key"], str],
  ["GEMINI_API_KEY", ["gemini", "api_key"], str],
  ["GEMINI_BASE_URL", ["gemini", "base_url"], str],
  ["AGENTICAI_AUDIO_FORMAT", ["audio", "format"], str],
  ["AGENTICAI_ALLOWED_DESTINATIONS", ["calls", "allowed_destinations"], list],
  ["AGENTICAI_EVENTS_URL", ["events", "url"], str],
  ["AGENTICAI_EVENTS_SECRET", ["events", "secret"], str],
  ["AGENTICAI_EVENTS_TIMEOUT_S", ["events", "timeout_s"], int],
  ["AGENTICAI_EVENTS_ALLOW_PRIVATE_NETWORKS", ["events", "allow_private_networks"], bool],
  ["AGENTICAI_METRICS_TOKEN", ["metrics", "token"], str],
  ["AGENTICAI_RETENTION_CALLS_DAYS", ["retention", "calls_days"], int],
  ["AGENTICAI_EVENTS_KEEP_DAYS", ["events", "keep_days"], int],
  ["AGENTICAI_RETRY_MIN_DELAY_S", ["calls", "retry_min_delay_s"], int],
  ["AGENTICAI_MAX_WAITING", ["calls", "max_waiting"], int],
  ["AGENTICAI_MAX_RESUMES", ["calls", "max_resumes"], int],
  ["AGENTICAI_HANDOVER_DELAY_S", ["shutdown", "handover_delay_s"], int],
  ["OPENCLAW_GATEWAY_URL", ["integrations", "openclaw", "gateway_url"], str],
  ["OPENCLAW_HOOKS_TOKEN", ["integrations", "openclaw", "hooks_token"], str],
  ["OPENCLAW_GATEWAY_TOKEN", ["integrations", "openclaw", "gateway_token"], str],
  ["OPENCLAW_AGENT_ID", ["integrations", "openclaw", "agent_id"], str],
  ["OPENCLAW_DELIVER_CHANNEL", ["integrations", "openclaw", "deliver_channel"], str],
  ["OPENCLAW_DELIVER_TO", ["integrations", "openclaw", "deliver_to"], str],
  ["AGENTICAI_CONSULT_MAX_PER_CALL", ["consult", "max_per_call"], int],
  ["AGENTICAI_CALLER_IDENTITY", ["agent", "caller_identity"], str],
  ["AGENTICAI_SCREENING_WAIT_S", ["calls", "screening_wait_s"], int],
  ["AGENTICAI_HOLD_MAX_S", ["calls", "hold_max_s"], int],
  ["AGENTICAI_RECORDING_STORAGE", ["recording", "storage"], str],
  ["AGENTICAI_RECORDING_S3_PREFIX", ["recording", "s3", "prefix"], str],
  // The names Bun's S3 client and AWS's tools read, S3_* winning over AWS_* as in Bun (listed last-wins). Read
  // here like every other setting, so the .env file and config.yaml count too; the client is given the result.
  ["AWS_BUCKET", ["recording", "s3", "bucket"], str],
  ["S3_BUCKET", ["recording", "s3", "bucket"], str],
  ["AWS_ENDPOINT", ["recording", "s3", "endpoint"], str],
  ["AWS_ENDPOINT_URL_S3", ["recording", "s3", "endpoint"], str],
  ["S3_ENDPOINT", ["recording", "s3", "endpoint"], str],
  ["AWS_DEFAULT_REGION", ["recording", "s3", "region"], str],
  ["AWS_REGION", ["recording", "s3", "region"], str],
  ["S3_REGION", ["recording", "s3", "region"], str],
  ["AWS_ACCESS_KEY_ID", ["recording", "s3", "access_key_id"], str],
  ["S3_ACCESS_KEY_ID", ["recording", "s3", "access_key_id"], str],
  ["AWS_SECRET_ACCESS_KEY", ["recording", "s3", "secret_access_key"], str],
  ["S3_SECRET_ACCESS_KEY", ["recording", "s3", "secret_access_key"], str],
  // The original API resolves a call's webhook base as body → AGENTICAI_WEBHOOK_URL → NGROK_URL → config,
  // so the first one set becomes the public URL; listed last-wins.
  ["NGROK_URL", ["server", "public_url"], str],
  ["AGENTICAI_WEBHOOK_URL", ["server", "public_url"], str],
];

export type Env = Record<string, string | undefined>;

/** Parses a .env file: KEY=value lines, optional `export`, quotes stripped; comments and blanks skipped. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    let value = m[2]!;
    const quoted = /^(['"])(.*)\1$/.exec(value);
    if (quoted) value = quoted[1] === '"' ? quoted[2]!.replace(/\\n/g, "\n") : quoted[2]!;
    else value = value.replace(/\s+#.*$/, "");
    out[m[1]!] = value;
  }
  return out;
}

/** Variables already in the environment win, as with every dotenv loader. */
export function mergeDotenv(env: Env, dotenv: Record<string, string>): Env {
  return { ...dotenv, ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) };
}
