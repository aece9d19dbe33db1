import { describe, expect, test } from "bun:test";
import { createToolCalls } from "../../src/bridge/tool-calls.ts";
import { callTools, createCallTools } from "../../src/bridge/tools/all.ts";
import { createToolRegistry, defineTool, type ToolActions } from "../../src/bridge/tools.ts";
import { z } from "../../src/config/zod.ts";
import { createLogger } from "../../src/log.ts";
import { functionOutputMessage } from "../../src/model/realtime.ts";

const log = createLogger(() => {});

function actions(hangups: string[] = []): ToolActions {
  return {
    log,
    hangUpAfterReply: (reason) => hangups.push(reason),
    recordOutcome: async () => null,
    sendDigits: async () => ({ sent: true, sentAt: 0, durationMs: 200 }),
    transferAfterNextReply: (reason) => hangups.push(`transfer: ${reason}`),
    consult: async () => ({ ok: true, answer: "Yes." }),
  };
}

const BASIC = callTools({ transfer: false, consult: false });
const ALL = callTools({ transfer: true, consult: true });

describe("tool registry", () => {
  test("shows each tool to the model as a function with a JSON Schema of its parameters", () => {
    const [endCall] = createCallTools().definitions(BASIC);
    expect(endCall).toEqual({
      type: "function",
      name: "end_call",
      description: expect.stringContaining("Hang up"),
      parameters: {
        type: "object",
        properties: { reason: { type: "string", description: "Why the call is ending" } },
        required: ["reason"],
        additionalProperties: false,
      },
    });
  });

  test("end_call arms the hang-up and lets the goodbye finish without another response", () => {
    const hangups: string[] = [];
    const result = createCallTools().run("end_call", '{"reason":"done"}', actions(hangups), BASIC);
    expect(hangups).toEqual(["done"]);
    expect(result).toEqual({ output: { ok: true, result: expect.any(String) }, respond: false });
  });

  test("unknown tools, broken JSON and invalid arguments go back to the model as errors it can act on", () => {
    const hangups: string[] = [];
    const tools = createCallTools();
    for (const [name, args] of [
      ["transfer_call", "{}"],
      ["end_call", "{reason"],
      ["end_call", '{"reason":42}'],
    ] as const) {
      const result = tools.run(name, args, actions(hangups), BASIC);
      expect(result).toMatchObject({ output: { ok: false, error: expect.any(String) }, respond: true });
    }
    expect(hangups).toEqual([]);
  });

  test("a call is offered transfer only with a target and consulting only when asked for", () => {
    const names = (offered: ReadonlySet<string>) =>
      createCallTools()
        .definitions(offered)
        .map((d) => d.name);
    expect(names(BASIC)).toEqual(["end_call", "report_outcome", "send_dtmf"]);
    expect(names(ALL)).toEqual(["end_call", "report_outcome", "send_dtmf", "transfer_call", "consult_assistant"]);
    expect(names(callTools({ transfer: true, consult: false }))).toContain("transfer_call");
    expect(names(callTools({ transfer: true, consult: false }))).not.toContain("consult_assistant");
  });

  test("send_dtmf takes keypad keys only and says when they were sent", async () => {
    const tools = createCallTools();
    const ok = await tools.run("send_dtmf", '{"digits":"1w2#"}', actions(), BASIC);
    expect(ok).toMatchObject({ output: { ok: true, digits: "1w2#", sent_at: expect.any(String), duration_ms: 200 } });
    for (const digits of ["", "1 2", "x", "9".repeat(33)]) {
      const bad = await tools.run("send_dtmf", JSON.stringify({ digits }), actions(), BASIC);
      expect(bad).toMatchObject({ output: { ok: false }, respond: true });
    }
  });

  test("transfer_call arms the handoff and asks for the handoff line", () => {
    const armed: string[] = [];
    const result = createCallTools().run("transfer_call", '{"reason":"wants a person"}', actions(armed), ALL);
    expect(armed).toEqual(["transfer: wants a person"]);
    expect(result).toMatchObject({ output: { ok: true }, respond: true });
  });

  test("consult_assistant marks the answer as data, and a failure as one the agent can say", async () => {
    const tools = createCallTools();
    const answered = await tools.run("consult_assistant", '{"question":"Tuesday?"}', actions(), ALL);
    expect(answered).toMatchObject({
      output: { ok: true, answer: "Yes.", note: expect.stringContaining("not instructions") },
    });
    const failing = {
      ...actions(),
      consult: async () => ({ ok: false as const, reason: "timeout" as const, detail: "t" }),
    };
    const failed = await tools.run("consult_assistant", '{"question":"Tuesday?"}', failing, ALL);
    expect(failed).toMatchObject({ output: { ok: false, error: expect.stringContaining("could not be reached") } });
  });
});

describe("tool calls", () => {
  const echo = defineTool({
    name: "echo",
    description: "Echo",
    parameters: z.object({ text: z.string() }),
    run: ({ text }) => ({ output: { text }, respond: true }),
  });
  const slow = defineTool({
    name: "slow",
    description: "Answers later",
    parameters: z.object({}),
    run: () => Bun.sleep(20).then(() => ({ output: "late", respond: true })),
  });

  const held = defineTool({
    name: "held",
    description: "Answers later, with a holding line meanwhile",
    parameters: z.object({}),
    holding: "Ask them to hold.",
    run: () => Bun.sleep(20).then(() => ({ output: "late", respond: true })),
  });

  function setup(canRespond = true) {
    const sent: Record<string, any>[] = [];
    const state = { canRespond };
    const calls = createToolCalls({
      registry: createToolRegistry([echo, slow, held]),
      offered: new Set(["echo", "slow", "held"]),
      log,
      actions: () => actions(),
      send: (text) => sent.push(JSON.parse(text)),
      output: (callId, _name, output) => functionOutputMessage(callId, output),
      respond: (directive) => sent.push({ type: "response.create", directive }),
      canRespond: () => state.canRespond,
    });
    return { sent, calls, state };
  }

  test("an output waits for the reply that called the tool, then asks for one response", () => {
    const { sent, calls } = setup();
    calls.called("resp_1", "call_1", "echo", '{"text":"a"}');
    calls.called("resp_1", "call_2", "echo", '{"text":"b"}');
    expect(sent).toEqual([]);
    calls.replyDone("resp_other");
    expect(sent).toEqual([]);
    calls.replyDone("resp_1");
    expect(sent.map((e) => e.item?.call_id ?? e.type)).toEqual(["call_1", "call_2", "response.create"]);
    expect(JSON.parse(sent[0]!.item.output)).toEqual({ text: "a" });
    calls.replyDone("resp_1");
    expect(sent).toHaveLength(3);
  });

  test("a tool still running when its reply ends sends its output when it finishes", async () => {
    const { sent, calls } = setup();
    calls.called("resp_1", "call_1", "slow", "{}");
    calls.replyDone("resp_1");
    expect(sent).toEqual([]);
    await Bun.sleep(50);
    expect(sent.map((e) => e.item?.call_id ?? e.type)).toEqual(["call_1", "response.create"]);
  });

  test("no response is asked for while another one streams; it is once that one is done", () => {
    const { sent, calls, state } = setup(false);
    calls.called("resp_1", "call_1", "echo", '{"text":"a"}');
    calls.replyDone("resp_1");
    expect(sent.map((e) => e.type)).toEqual(["conversation.item.create"]);
    state.canRespond = true;
    calls.replyDone("resp_streaming");
    expect(sent.map((e) => e.type)).toEqual(["conversation.item.create", "response.create"]);
    calls.replyDone("resp_next");
    expect(sent).toHaveLength(2);
  });

  test("a tool with a holding line still running when its reply is done has the agent say that line", async () => {
    const { sent, calls } = setup();
    calls.called("resp_1", "call_1", "held", "{}");
    expect(calls.running()).toBe(true);
    calls.replyDone("resp_1");
    expect(sent).toEqual([{ type: "response.create", directive: "Ask them to hold." }]);
    await Bun.sleep(50);
    expect(calls.running()).toBe(false);
    expect(sent.map((e) => e.item?.call_id ?? e.directive ?? "create")).toEqual([
      "Ask them to hold.",
      "call_1",
      "create",
    ]);
  });

  test("a tool the call is not offered is refused", () => {
    const { sent, calls } = setup();
    calls.called("resp_1", "call_1", "end_call", '{"reason":"x"}');
    calls.replyDone("resp_1");
    expect(JSON.parse(sent[0]!.item.output)).toMatchObject({ ok: false, error: expect.stringContaining("no tool") });
  });
});
