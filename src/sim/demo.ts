// `agenticai demo`: the real server, a simulated carrier and a simulated voice model on loopback, one
// call placed through POST /api/call, the conversation printed as it happens, then a summary and a
// stereo recording of what each side heard. No accounts, no network beyond 127.0.0.1.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createApp } from "../app.ts";
import { startBackground } from "../calls/background.ts";
import { type Config, ConfigSchema } from "../config/schema.ts";
import { startServer } from "../http/server.ts";
import { createLogger, type Logger } from "../log.ts";
import { simulatedConfig, startSimulators } from "./simulators.ts";
import { stereoWav } from "./wav.ts";

export interface DemoOptions {
  /** Stream time per wall time: 1 plays the call in real time; tests run it faster. */
  speed?: number;
  /** Where the recording goes (under recordings/). */
  dataDir: string;
  out: (line: string) => void;
  log?: Logger;
  timeoutMs?: number;
}

export interface DemoResult {
  ok: boolean;
  callId: string;
  call: Record<string, any>;
  recordingPath: string | null;
  recordingSeconds: number;
}

const DEMO_NUMBER = "+15550100001";
const PROMPT =
  "You are Ava, calling from Acme Dental to confirm tomorrow's 10 am appointment. Offer a reminder text, " +
  "accept reschedules, and say goodbye and end the call when the patient is done.";

const p50 = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]! : null);
const ms = (v: number | null | undefined) =>
  v === null || v === undefined ? "–" : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const speed = opts.speed ?? 1;
  const out = opts.out;
  const sims = await startSimulators({ speed, record: true });
  const dbDir = mkdtempSync(join(tmpdir(), "agenticai-demo-"));
  const base: Config = ConfigSchema.parse({ server: { host: "127.0.0.1", port: 0, data_dir: dbDir } });
  const ctx = createApp(simulatedConfig(base, sims), opts.log ?? createLogger(() => {}));
  const server = startServer(ctx);
  const background = startBackground(ctx);
  const url = server.url.href.replace(/\/$/, "");
  const started = performance.now();
  const clock = () => `[${(((performance.now() - started) * speed) / 1000).toFixed(1).padStart(5)} s]`;

  try {
    out("agenticai demo: a whole call against a simulated carrier and voice model (no accounts, loopback only)");
    out(`  server ${url}, carrier ${sims.carrier.url}, model ${sims.model.httpBaseUrl}`);
    const res = await fetch(`${url}/api/call`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ to: DEMO_NUMBER, prompt: PROMPT, webhook_url: url, metadata: { source: "demo" } }),
    });
    const created = (await res.json()) as { success: boolean; call_id: string; error?: string };
    if (!created.success) throw new Error(`POST /api/call failed: ${created.error}`);
    out(`${clock()} POST /api/call → call_id ${created.call_id}, dialling ${DEMO_NUMBER}`);

    let statuses = 0;
    const shown: { role: string; interrupted: boolean }[] = [];
    let agentTurns = 0;
    let call: Record<string, any> = {};
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    for (;;) {
      call = (await (await fetch(`${url}/api/calls/${created.call_id}`)).json()) as Record<string, any>;
      for (const h of call.status_history.slice(statuses)) out(`${clock()} status: ${h.status}`);
      statuses = call.status_history.length;
      const turns = call.transcript as { role: string; text: string; interrupted: boolean }[];
      turns.forEach((t, i) => {
        const seen = shown[i];
        if (seen) {
          if (t.interrupted && !seen.interrupted) out(`${clock()}          … the caller cut in, the agent stopped`);
          seen.interrupted = t.interrupted;
          return;
        }
        shown[i] = { role: t.role, interrupted: t.interrupted };
        let note = "";
        if (t.role === "agent") {
          const latency = agentTurns > 0 ? call.metrics?.turn_latency_ms?.[agentTurns - 1] : undefined;
          note = latency !== undefined ? `  (replied in ${ms(latency)})` : "";
          agentTurns++;
        }
        out(`${clock()} ${t.role === "agent" ? "Agent " : "Caller"} ▸ ${t.text}${note}`);
      });
      if (!call.active) break;
      if (Date.now() > deadline) throw new Error("the demo call did not finish in time");
      await Bun.sleep(Math.max(5, 50 / speed));
    }

    const line = [...sims.carrier.media.values()][0];
    let recordingPath: string | null = null;
    let recordingSeconds = 0;
    if (line) {
      const { caller, agent } = line.recording();
      recordingSeconds = caller.length / 8000;
      const dir = join(opts.dataDir, "recordings");
      mkdirSync(dir, { recursive: true });
      recordingPath = join(dir, `demo-${created.call_id}.wav`);
      await Bun.write(recordingPath, stereoWav(caller, agent));
    }

    const m = call.metrics ?? {};
    out("");
    out("Summary");
    out(`  duration              ${call.duration_s ?? "–"} s (${recordingSeconds.toFixed(1)} s of audio)`);
    out(`  time to first audio   ${ms(m.time_to_first_audio_ms)}`);
    out(`  response latency p50  ${ms(p50(m.turn_latency_ms ?? []))} over ${m.turn_latency_ms?.length ?? 0} turns`);
    out(`  barge-ins             ${m.barge_ins ?? 0}`);
    out(`  end reason            ${call.end_reason} (status ${call.status})`);
    out(
      `  frames in/out         ${m.frames_in ?? 0} / ${m.frames_out ?? 0}, dropped ${(m.frames_dropped_in ?? 0) + (m.frames_dropped_out ?? 0)}`,
    );
    if (recordingPath)
      out(`  recording             ${relative(process.cwd(), recordingPath)} (stereo WAV: left caller, right agent)`);
    return { ok: call.end_reason === "agent_hangup", callId: created.call_id, call, recordingPath, recordingSeconds };
  } finally {
    for (const bridge of ctx.bridges.values()) bridge.close("demo_over");
    await server.stop(true);
    await background.stop();
    await sims.stop();
    ctx.store.close();
    rmSync(dbDir, { recursive: true, force: true });
  }
}
