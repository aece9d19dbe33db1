// Starts the real server in this process on 127.0.0.1 with a temp SQLite file, wired to a fake Twilio.
import { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Server } from "bun";
import { type AppContext, createApp } from "../../src/app.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { startServer } from "../../src/http/server.ts";
import { createLogger } from "../../src/log.ts";
import { type Carrier, type CarrierOptions, startCarrier } from "../../src/sim/carrier.ts";
import { connectMediaStream, type MediaClient, type MediaClientOptions } from "../../src/sim/media-stream.ts";
import { SIMULATED_DESTINATIONS } from "../../src/sim/simulators.ts";
import { type RealtimeSim, type RealtimeSimOptions, startRealtimeSim } from "../../src/sim/voice-model.ts";
import { startBackground } from "../../src/workers/background.ts";
import { tempDir } from "./temp.ts";

type Tree = Record<string, Record<string, unknown>>;

export interface TestApp {
  url: string;
  ctx: AppContext;
  server: Server<unknown>;
  twilio: Carrier;
  model: RealtimeSim;
  logs: Record<string, unknown>[];
  dataDir: string;
  /** JSON request to the server; `body` is parsed JSON (or null). */
  api(
    path: string,
    init?: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  /** Places a call with webhook_url pointing at this server, so the fake Twilio's webhooks come back here. */
  call(body?: Record<string, unknown>): Promise<{ id: string; sid: string }>;
  /** Plays Twilio answering a call: the voice webhook, then the media stream its TwiML names. */
  answer(sid: string, opts?: Partial<MediaClientOptions>): Promise<MediaClient>;
  stop(): Promise<void>;
}

export { tempDir };

/** A value the server keeps in its database's meta table (a secret, say), read as another process would. */
export function storedMeta(dataDir: string, key: string): string | null {
  const db = new Database(join(dataDir, "agenticai.db"), { readonly: true });
  try {
    return db.query<{ value: string }, [string]>("SELECT value FROM meta WHERE key = ?").get(key)?.value ?? null;
  } finally {
    db.close();
  }
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = { ...base[k], ...v };
  return out;
}

export interface TestAppOptions {
  config?: Tree;
  fake?: CarrierOptions;
  model?: RealtimeSimOptions;
  /** Leave Twilio credentials out of the config. */
  noTwilio?: boolean;
  /** Set server.public_url to the server's own URL once it listens. */
  publicUrlSelf?: boolean;
  dataDir?: string;
  /** Start no background work: nothing is delivered, reported or retried (requests alone are tested). */
  noBackground?: boolean;
}

export async function startTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const twilio = await startCarrier(opts.fake);
  const model = startRealtimeSim(opts.model);
  const dataDir = opts.dataDir ?? tempDir();
  const twilioTree = opts.noTwilio
    ? { api_base_url: twilio.url }
    : {
        account_sid: twilio.accountSid,
        auth_token: twilio.authToken,
        phone_number: twilio.phoneNumber,
        api_base_url: twilio.url,
      };
  const tree = merge(
    {
      server: { host: "127.0.0.1", port: 0, data_dir: dataDir },
      twilio: twilioTree,
      openai: { api_key: model.apiKey, base_url: model.httpBaseUrl },
      // The carrier's own number is a +1 one; the suite dials the simulated callees' numbers besides.
      calls: { allowed_destinations: ["+1", ...SIMULATED_DESTINATIONS] },
    },
    opts.config ?? {},
  );
  const config = ConfigSchema.parse(tree);
  const logs: Record<string, unknown>[] = [];
  const ctx = await createApp(
    config,
    createLogger((line) => logs.push(JSON.parse(line))),
  );
  const server = startServer(ctx);
  const background = opts.noBackground ? { stop: async () => {} } : startBackground(ctx);
  const url = server.url.href.replace(/\/$/, "");
  if (opts.publicUrlSelf) ctx.config.server.public_url = url;

  const api: TestApp["api"] = async (path, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    let body: string | undefined = init.raw;
    if (init.body !== undefined) body = JSON.stringify(init.body);
    // The API reads bodies only as JSON; a test of another type says so in `headers`.
    const typed = Object.keys(headers).some((h) => h.toLowerCase() === "content-type");
    if (body !== undefined && !typed) headers["Content-Type"] = "application/json";
    const res = await fetch(url + path, {
      method: init.method ?? (body === undefined ? "GET" : "POST"),
      headers,
      body,
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };

  return {
    url,
    ctx,
    server,
    twilio,
    model,
    logs,
    dataDir,
    api,
    async call(body = {}) {
      const res = await api("/api/call", { body: { to: "+15551230001", webhook_url: url, ...body } });
      if (res.status !== 200) throw new Error(`call failed: ${res.status} ${JSON.stringify(res.body)}`);
      const id = res.body.call_id as string;
      return { id, sid: (await ctx.store.getCall(id))!.call_sid! };
    },
    async answer(sid, options = {}) {
      const xml = await (await twilio.sendVoice(sid)).text();
      const url = /<Stream url="([^"]+)"/.exec(xml)?.[1];
      if (!url) throw new Error(`no <Stream> in TwiML: ${xml}`);
      const customParameters = Object.fromEntries(
        [...xml.matchAll(/<Parameter name="([^"]+)" value="([^"]*)"\/>/g)].map((m) => [m[1]!, m[2]!]),
      );
      return connectMediaStream({
        url,
        signature: twilio.sign(url, {}),
        accountSid: twilio.accountSid,
        callSid: sid,
        customParameters,
        ...options,
      });
    },
    async stop() {
      for (const bridge of ctx.bridges.values()) bridge.close("test_over");
      await twilio.stop();
      model.stop();
      await server.stop(true);
      await background.stop();
      ctx.facts.close();
      await ctx.store.close();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
