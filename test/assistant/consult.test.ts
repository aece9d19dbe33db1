import { afterEach, describe, expect, test } from "bun:test";
import {
  CONSULT_SYSTEM,
  type ConsultSettings,
  clip,
  consultAssistant,
  consultRequest,
  MAX_ANSWER_CHARS,
} from "../../src/assistant/consult.ts";
import { type GatewaySim, type GatewaySimOptions, startGatewaySim } from "../../src/sim/gateway.ts";

const call = { id: "call-123", prompt: "\n  Book a table for two\n on Friday at 7pm.  \nBe polite." };

let sim: GatewaySim | null = null;
afterEach(async () => {
  await sim?.stop();
  sim = null;
});

async function start(opts: GatewaySimOptions = {}, timeoutS = 5): Promise<{ sim: GatewaySim; s: ConsultSettings }> {
  sim = await startGatewaySim(opts);
  return { sim, s: { gatewayUrl: `${sim.url}/`, gatewayToken: sim.token, agentId: "main", timeoutS } };
}

/** A gateway on 127.0.0.1 that records the raw request line and headers the sim does not keep. */
function rawGateway(): { url: string; seen: { path: string; auth: string | null }[]; stop(): Promise<void> } {
  const seen: { path: string; auth: string | null }[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      seen.push({ path: `${req.method} ${new URL(req.url).pathname}`, auth: req.headers.get("authorization") });
      return Response.json({
        id: "chatcmpl-1",
        object: "chat.completion",
        created: 0,
        model: "openclaw:main",
        choices: [{ index: 0, message: { role: "assistant", content: "Yes." }, finish_reason: "stop" }],
      });
    },
  });
  return { url: server.url.href.replace(/\/$/, ""), seen, stop: () => server.stop(true) };
}

describe("consultAssistant", () => {
  test("posts to /v1/chat/completions with the bearer token, the agent, the call's user and both messages", async () => {
    const raw = rawGateway();
    try {
      const result = await consultAssistant(
        { gatewayUrl: raw.url, gatewayToken: "gw-secret", agentId: "main", timeoutS: 5 },
        call,
        "Is Friday ok?",
      );
      expect(result).toEqual({ ok: true, answer: "Yes." });
      expect(raw.seen).toEqual([{ path: "POST /v1/chat/completions", auth: "Bearer gw-secret" }]);
    } finally {
      await raw.stop();
    }
  });

  test("sends the request body and returns the answer", async () => {
    const { sim, s } = await start({ answer: "  Yes, Friday at seven works.  " });
    const result = await consultAssistant({ ...s, agentId: "work" }, call, "Does Friday\nat 7pm work?");
    expect(result).toEqual({ ok: true, answer: "Yes, Friday at seven works." });
    expect(sim.requests).toHaveLength(1);
    const body = sim.requests[0];
    expect(body.model).toBe("openclaw:work");
    expect(body.user).toBe("agenticai-call-call-123");
    expect(body.messages).toHaveLength(2);
    expect(body.messages[0]).toEqual({ role: "system", content: CONSULT_SYSTEM });
    expect(body.messages[1].role).toBe("user");
    expect(body.messages[1].content).toBe(
      "Question: Does Friday at 7pm work?\nContext: the call's purpose is: Book a table for two",
    );
  });

  test("the system line asks for a short spoken answer, an honest 'do not know', and no actions", () => {
    expect(CONSULT_SYSTEM).toContain("live phone call");
    expect(CONSULT_SYSTEM).toContain("no markdown, no lists");
    expect(CONSULT_SYSTEM).toContain("do not know");
    expect(CONSULT_SYSTEM).toContain("Take no actions");
    expect(CONSULT_SYSTEM).not.toContain("\n");
  });

  test("the system line says who asks and who hears: an unverified person, and only what the call's purpose needs", () => {
    expect(CONSULT_SYSTEM).toContain("a phone call with an unverified person");
    expect(CONSULT_SYSTEM).toContain("Your answer will be spoken aloud to them");
    expect(CONSULT_SYSTEM).toContain("Share only what the call's stated purpose needs");
  });

  test("a slow gateway times out at timeout_s, well before it answers", async () => {
    const { sim, s } = await start({ delayMs: 10_000 }, 0.3);
    const started = performance.now();
    const result = await consultAssistant(s, call, "Is Friday ok?");
    const elapsed = performance.now() - started;
    expect(result).toEqual({ ok: false, reason: "timeout", detail: "no answer within 0.3 s" });
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(800);
    expect(sim.requests).toHaveLength(1);
  });

  test("a wrong token (401) is an error whose detail does not hold the token", async () => {
    const { s } = await start({ token: "the-right-token" });
    const result = await consultAssistant({ ...s, gatewayToken: "wrong-token" }, call, "Is Friday ok?");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe("error");
    expect(result.detail).toContain("401");
    expect(result.detail).not.toContain("wrong-token");
    expect(result.detail).not.toContain("the-right-token");
  });

  test("a 500 is an error whose detail does not hold the token, with no retry", async () => {
    const { sim, s } = await start({ status: 500 });
    const result = await consultAssistant(s, call, "Is Friday ok?");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe("error");
    expect(result.detail).toContain("500");
    expect(result.detail).not.toContain(s.gatewayToken);
    expect(sim.requests).toHaveLength(1);
  });

  test("a gateway that echoes the token in its error gets it redacted", async () => {
    const raw = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) =>
        Response.json(
          { error: { message: `bad credential ${req.headers.get("authorization")}`, type: "invalid_request_error" } },
          { status: 403 },
        ),
    });
    try {
      const result = await consultAssistant(
        { gatewayUrl: raw.url.href, gatewayToken: "gw-echoed-secret", agentId: "main", timeoutS: 5 },
        call,
        "Is Friday ok?",
      );
      expect(result).toEqual({ ok: false, reason: "error", detail: "403 bad credential Bearer [redacted]" });
    } finally {
      await raw.stop(true);
    }
  });

  test("an unreachable gateway is an error, not a throw", async () => {
    const { sim, s } = await start();
    await sim.stop();
    const result = await consultAssistant(s, call, "Is Friday ok?");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toBe("error");
  });

  test("an empty answer is an error", async () => {
    const { s } = await start({ answer: "  \n " });
    expect(await consultAssistant(s, call, "Is Friday ok?")).toEqual({
      ok: false,
      reason: "error",
      detail: "the assistant gave an empty answer",
    });
  });

  test("an empty question is an error without a request", async () => {
    const { sim, s } = await start();
    const result = await consultAssistant(s, call, "   ");
    expect(result).toEqual({ ok: false, reason: "error", detail: "the question is empty" });
    expect(sim.requests).toHaveLength(0);
  });

  test("a long answer is capped at a sentence end", async () => {
    const sentence = "The owner is free on Friday afternoon and would like the later slot. ";
    const { s } = await start({ answer: sentence.repeat(100) });
    const result = await consultAssistant(s, call, "When is the owner free?");
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.answer.length).toBeLessThanOrEqual(MAX_ANSWER_CHARS);
    expect(result.answer.length).toBeGreaterThanOrEqual(MAX_ANSWER_CHARS - sentence.length);
    expect(result.answer.endsWith("slot.")).toBe(true);
  });
});

describe("consultRequest", () => {
  test("caps the question and the purpose, each on one line", () => {
    const body = consultRequest(
      "main",
      { id: "c1", prompt: `${"purpose ".repeat(100)}\nsecond line` },
      "why ".repeat(500),
    );
    const [question, context, ...rest] = (body.messages[1]!.content as string).split("\n");
    expect(rest).toEqual([]);
    expect(question!.length).toBeLessThanOrEqual("Question: ".length + 1_000);
    expect(question!.endsWith("why…")).toBe(true);
    expect(context!.length).toBeLessThanOrEqual("Context: the call's purpose is: ".length + 300);
    expect(context).not.toContain("second line");
  });

  test("says so when the call has no prompt", () => {
    const body = consultRequest("main", { id: "c1", prompt: " \n " }, "Is Friday ok?");
    expect(body.messages[1]!.content).toBe("Question: Is Friday ok?\nContext: the call's purpose is: (not given)");
  });
});

describe("clip", () => {
  test("keeps short text, cuts at a word with an ellipsis, and never splits a surrogate pair", () => {
    expect(clip("short", 10)).toBe("short");
    expect(clip("one two three four", 12)).toBe("one two…");
    expect(clip("😀".repeat(10), 5)).toBe("😀😀…");
  });
});
