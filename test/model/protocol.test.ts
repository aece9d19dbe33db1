import { describe, expect, test } from "bun:test";
import { ConfigSchema } from "../../src/config/schema.ts";
import { createModelProtocol } from "../../src/model/protocol.ts";
import type { ModelHandlers } from "../../src/model/realtime.ts";

const speech = { voice: "marin", language: null };

function recorder() {
  const seen: string[] = [];
  const on: ModelHandlers = {
    audioDelta: (responseId, itemId, delta) => seen.push(`audio ${responseId} ${itemId} ${delta}`),
    event: (event) => seen.push(`event ${event.type}`),
    malformed: () => seen.push("malformed"),
  };
  return { seen, on };
}

describe("the OpenAI protocol's reader", () => {
  const protocol = createModelProtocol(ConfigSchema.parse({}), { provider: "openai", model: "gpt-realtime", speech });
  const delta = '{"type":"response.output_audio.delta","response_id":"r1","item_id":"i1","delta":"//8="}';
  const stopped = '{"type":"input_audio_buffer.speech_stopped","audio_end_ms":20,"item_id":"i2"}';

  test("reads a binary frame as it reads the same text", () => {
    const text = recorder();
    const binary = recorder();
    const read = protocol.reader(binary.on);
    for (const message of [delta, stopped]) {
      protocol.reader(text.on)(message);
      read(new TextEncoder().encode(message));
      read(new TextEncoder().encode(message).buffer as ArrayBuffer);
    }
    expect(text.seen).toEqual(["audio r1 i1 //8=", "event input_audio_buffer.speech_stopped"]);
    const [audio, event] = text.seen as [string, string];
    expect(binary.seen).toEqual([audio, audio, event, event]);
  });

  test("a binary frame that is not UTF-8 JSON is malformed, and the next text frame still reads", () => {
    const { seen, on } = recorder();
    protocol.read(new Uint8Array([0xff, 0x00, 0x7b]), on);
    protocol.read(stopped, on);
    expect(seen).toEqual(["malformed", "event input_audio_buffer.speech_stopped"]);
  });
});

describe("the OpenAI protocol's socket", () => {
  const call = { provider: "openai" as const, model: "gpt-realtime", speech };

  test("carries the key, and OpenAI's organization and project only when configured", () => {
    const bare = createModelProtocol(ConfigSchema.parse({ openai: { api_key: "sk-1" } }), call).socket();
    expect(bare.headers).toEqual({ Authorization: "Bearer sk-1" });
    const config = ConfigSchema.parse({ openai: { api_key: "sk-1", organization: "org-1", project: "proj_1" } });
    expect(createModelProtocol(config, call).socket().headers).toEqual({
      Authorization: "Bearer sk-1",
      "OpenAI-Organization": "org-1",
      "OpenAI-Project": "proj_1",
    });
  });
});
