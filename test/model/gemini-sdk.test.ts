// Our Gemini Live messages against Google's own client: the official @google/genai SDK (a devDependency, never
// shipped) connects to the simulated Live server on loopback and sends the setup, the caller audio and a tool
// response for the same session; ours must be the same messages, field for field.
import { afterAll, expect, test } from "bun:test";
import { GoogleGenAI, Modality } from "@google/genai";
import { createCallTools } from "../../src/bridge/tools/all.ts";
import { geminiAudioMessage, setupMessage, toolResponseMessage } from "../../src/model/gemini.ts";
import { startGeminiSim } from "../../src/sim/gemini-live.ts";
import { until } from "../support/until.ts";

const sim = startGeminiSim();
afterAll(() => sim.stop());

test("setup, realtimeInput audio and toolResponse are built as Google's SDK builds them", async () => {
  const tools = createCallTools().definitions(new Set(["end_call", "send_dtmf"]));
  const spec = {
    model: "gemini-3.1-flash-live-preview",
    instructions: "You book tables for Acme.",
    tools,
    speech: { voice: "Kore", language: null },
    handle: null,
  };
  const ai = new GoogleGenAI({ apiKey: sim.apiKey, httpOptions: { baseUrl: sim.baseUrl, apiVersion: "v1beta" } });
  const session = await ai.live.connect({
    model: spec.model,
    config: {
      responseModalities: [Modality.AUDIO],
      speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: "Kore" } } },
      systemInstruction: { parts: [{ text: spec.instructions }] },
      tools: [
        {
          functionDeclarations: tools.map((t) => ({
            name: t.name!,
            description: t.description!,
            parametersJsonSchema: t.parameters,
          })),
        },
      ],
      inputAudioTranscription: {},
      outputAudioTranscription: {},
      sessionResumption: {},
      contextWindowCompression: { slidingWindow: {} },
    },
    callbacks: { onmessage: () => {} },
  });
  const pcm = Buffer.alloc(320, 7).toString("base64");
  session.sendRealtimeInput({ audio: { data: pcm, mimeType: "audio/pcm;rate=8000" } });
  const output = { ok: true, digits: "1" };
  session.sendToolResponse({ functionResponses: [{ id: "fc_1", name: "send_dtmf", response: output }] });
  const received = await until(() => (sim.sessions[0]?.received.length === 2 ? sim.sessions[0] : null), "the SDK");
  await until(() => sim.sessions[0]!.audioChunks === 1, "the SDK's audio");
  session.close();

  const sdkSetup = received.received[0]!;
  expect(JSON.parse(setupMessage(spec))).toEqual(sdkSetup);
  expect(JSON.parse(toolResponseMessage("fc_1", "send_dtmf", output))).toEqual(received.received[1]!);
  // Audio is counted, not kept, by the simulator: the SDK's message is rebuilt from what it carried.
  expect(JSON.parse(geminiAudioMessage(pcm))).toEqual({
    realtimeInput: { audio: { data: pcm, mimeType: [...received.audioMimeTypes][0] } },
  });
  expect(received.audioBytes).toBe(320);
});
