// The floor: the least a Twilio ⇄ Realtime bridge on this runtime can do for the same traffic. Per
// call it holds the same two sockets and makes the same socket operations as the server: each caller
// frame becomes an append, each model delta becomes media plus a mark in one write, mark echoes are
// read, speech_started becomes clear plus truncate. It checks nothing, keeps no state, stores nothing.
// What it costs per call-second is the socket cost no bridge here can go below.
import { stringField } from "../src/wire/json-field.ts";
import { type ServerUnderTest, startServerProcess } from "./server.ts";

const field = (text: string, key: string): string => stringField(text, key) ?? "";

interface Line {
  model: WebSocket | null;
  streamSid: string;
  marks: number;
}

function relay(modelUrl: string, apiKey: string, port: number): void {
  Bun.serve<Line>({
    hostname: "127.0.0.1",
    port,
    fetch: (req, s) =>
      s.upgrade(req, { data: { model: null, streamSid: "", marks: 0 } }) ? undefined : new Response(),
    websocket: {
      message(ws, m) {
        if (typeof m !== "string") return;
        const line = ws.data;
        if (m.startsWith('{"event":"media"')) {
          if (line.model?.readyState === WebSocket.OPEN)
            line.model.send(`{"type":"input_audio_buffer.append","audio":"${field(m, "payload")}"}`);
          return;
        }
        if (!m.startsWith('{"event":"start"')) return;
        line.streamSid = field(m, "streamSid");
        const model = new WebSocket(modelUrl, { headers: { Authorization: `Bearer ${apiKey}` } });
        line.model = model;
        model.onopen = () => model.send('{"type":"session.update","session":{"type":"realtime"}}');
        model.onmessage = (e) => {
          const text = e.data as string;
          if (text.startsWith('{"type":"response.output_audio.delta"')) {
            ws.cork(() => {
              ws.send(
                `{"event":"media","streamSid":"${line.streamSid}","media":{"payload":"${field(text, "delta")}"}}`,
              );
              ws.send(`{"event":"mark","streamSid":"${line.streamSid}","mark":{"name":"${++line.marks}"}}`);
            });
          } else if (text.includes('"input_audio_buffer.speech_started"')) {
            ws.send(`{"event":"clear","streamSid":"${line.streamSid}"}`);
            model.send(
              `{"type":"conversation.item.truncate","item_id":"${field(text, "item_id")}","content_index":0,"audio_end_ms":0}`,
            );
          }
        };
      },
      close(ws) {
        ws.data.model?.close();
      },
    },
  });
}

if (process.env.RELAY_MODEL_URL)
  relay(process.env.RELAY_MODEL_URL, process.env.RELAY_API_KEY ?? "", Number(process.env.PORT));

/** The relay as its own process, like the server, so /proc reads its CPU and memory alone. */
export function startRelayProcess(modelUrl: string, apiKey: string): Promise<ServerUnderTest> {
  return startServerProcess({ RELAY_MODEL_URL: modelUrl, RELAY_API_KEY: apiKey }, "", import.meta.path);
}
