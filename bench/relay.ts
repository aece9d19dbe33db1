// The floor: a relay that does nothing but forward each Twilio-sized frame from one WebSocket to
// another, in the same runtime, with the same per-call frame pattern. What it costs per call-second
// is the socket cost no bridge on this runtime can go below.
import { freePort } from "./server.ts";
import { processCpuMs, processRssKb } from "./stats.ts";

if (process.env.RELAY_UPSTREAM) {
  Bun.serve<{ out: WebSocket }>({
    hostname: "127.0.0.1",
    port: Number(process.env.PORT),
    fetch: (req, s) => (s.upgrade(req, { data: { out: new WebSocket(process.env.RELAY_UPSTREAM!) } }) ? undefined : new Response()),
    websocket: {
      message(ws, m) {
        if (ws.data.out.readyState === WebSocket.OPEN) ws.data.out.send(m);
      },
    },
  });
}

const FRAME = `{"event":"media","sequenceNumber":"2","streamSid":"MZ${"0".repeat(32)}","media":{"track":"inbound","chunk":"1","timestamp":"20","payload":"${"/".repeat(216)}"}}`;

/** CPU ms per call-second and RSS KB per call of the do-nothing relay, `calls` lines each sending a frame every 20 ms. */
export async function runRelayFloor(calls: number, seconds: number): Promise<{ cpuMsPerCallSecond: number; rssKbPerCall: number }> {
  let received = 0;
  const sink = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req, s) => (s.upgrade(req) ? undefined : new Response()), websocket: { message: () => void received++ } });
  const port = await freePort();
  const relay = Bun.spawn([process.execPath, import.meta.path], { env: { PATH: process.env.PATH ?? "", PORT: String(port), RELAY_UPSTREAM: `ws://127.0.0.1:${sink.port}` }, stdout: "ignore", stderr: "inherit" });
  const sockets: WebSocket[] = [];
  const timers: ReturnType<typeof setInterval>[] = [];
  try {
    await Bun.sleep(300);
    const idleRss = processRssKb(relay.pid);
    for (let i = 0; i < calls; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`);
      await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
      sockets.push(ws);
    }
    sockets.forEach((ws, i) => setTimeout(() => timers.push(setInterval(() => ws.send(FRAME), 20)), (i * 20) / calls));
    await Bun.sleep(2_000);
    const cpu0 = processCpuMs(relay.pid);
    const t0 = performance.now();
    await Bun.sleep(seconds * 1000);
    const wall = (performance.now() - t0) / 1000;
    return { cpuMsPerCallSecond: (processCpuMs(relay.pid) - cpu0) / (calls * wall), rssKbPerCall: (processRssKb(relay.pid) - idleRss) / calls };
  } finally {
    for (const t of timers) clearInterval(t);
    for (const ws of sockets) ws.close();
    relay.kill();
    await relay.exited;
    await sink.stop(true);
  }
}
