// The callee's end of one call across its media streams. Twilio reopens a call's stream when the one it had ends
// and the `<Connect action>` answers with a new `<Connect><Stream>`; the person on the phone notices nothing but a
// moment of silence, and goes on. So a persona talks to this line, not to one stream: it follows the stream that is
// up, waits through a gap, and says again what a drop cut off. Each drop is recorded with when the line came back
// and when the agent was heard again, for the tests and the bench.
import type { MediaClient } from "./media-stream.ts";

/** One drop of the line: when the stream ended, when the next one opened, when the agent was first heard on it. */
export interface Drop {
  at: number;
  resumedAt?: number;
  heardAt?: number;
}

export interface CallLine extends MediaClient {
  /** The streams so far, the one up (if any) last. */
  readonly streams: readonly MediaClient[];
  readonly drops: readonly Drop[];
  /** The callee hung up (stop): the call is over, and no stream is to be reopened. */
  readonly hungUp: boolean;
  /** A stream opened for the call: the line follows it from now on. */
  attach(stream: MediaClient): void;
  /** The stream up ended; `dropped` when the call is still up, so another may follow. */
  detach(stream: MediaClient, dropped: boolean): void;
  /** The call is over: nothing more will come. */
  end(): void;
}

/** Polls while no stream is up, in stream time. */
const GAP_POLL_MS = 20;

export function createCallLine(speed = 1): CallLine {
  const streams: MediaClient[] = [];
  const drops: Drop[] = [];
  let current: MediaClient | null = null;
  let started = false;
  let ended = false;
  let hungUp = false;
  let onEnded: (v: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (onEnded = resolve));
  const sum = (pick: (s: MediaClient) => number) => streams.reduce((n, s) => n + pick(s), 0);
  const sleep = (ms: number) => Bun.sleep(ms / speed);
  /** The stream up, once there is one; null if the line ended first. */
  const nextStream = async (): Promise<MediaClient | null> => {
    while (!ended && !current?.isOpen()) await sleep(GAP_POLL_MS);
    return ended ? null : current;
  };
  const finish = () => {
    if (ended) return;
    ended = true;
    onEnded({ code: 1000, reason: hungUp ? "hung up" : "call ended" });
  };

  /** Says `bytes`; a drop mid-way cuts it off, and the person says it again once the line is back. */
  const say = async (bytes: Uint8Array): Promise<void> => {
    for (;;) {
      const stream = await nextStream();
      if (!stream) return;
      await stream.say(bytes);
      if (stream.isOpen() || ended) return;
    }
  };

  return {
    get streamSid() {
      return current?.streamSid ?? "";
    },
    get received() {
      return {
        media: sum((s) => s.received.media),
        marks: sum((s) => s.received.marks),
        clears: sum((s) => s.received.clears),
      };
    },
    get totalAudioBytes() {
      return sum((s) => s.totalAudioBytes);
    },
    get framesSent() {
      return sum((s) => s.framesSent);
    },
    get playedMs() {
      return sum((s) => s.playedMs);
    },
    // Through a gap nothing is heard, and nothing is over: the person waits for the line to come back.
    get agentQuietMs() {
      return current?.isOpen() ? current.agentQuietMs : 0;
    },
    get agentPlaying() {
      return current?.isOpen() ? current.agentPlaying : false;
    },
    get events() {
      return streams.flatMap((s) => s.events);
    },
    get protocolErrors() {
      return sum((s) => s.protocolErrors);
    },
    firstAudio: new Promise<number>(() => {}),
    closed,
    streams,
    drops,
    get hungUp() {
      return hungUp;
    },
    isOpen: () => !ended,
    sendAudio: async (ulaw, o) => (await nextStream())?.sendAudio(ulaw, o),
    sendSilence: async (ms, o) => (await nextStream())?.sendSilence(ms, o),
    sendSpeech: async (ms, o) => (await nextStream())?.sendSpeech(ms, o),
    startLine() {
      started = true;
      current?.startLine();
    },
    say,
    wait: async (ms) => {
      if (current?.isOpen()) return current.wait(ms);
      if (!ended) await sleep(ms);
    },
    sendDtmf: (digit) => current?.sendDtmf(digit),
    sendRaw: (data) => current?.sendRaw(data),
    recording() {
      const parts = streams.map((s) => s.recording());
      return { caller: Buffer.concat(parts.map((p) => p.caller)), agent: Buffer.concat(parts.map((p) => p.agent)) };
    },
    stop() {
      hungUp = true;
      current?.stop();
      finish();
    },
    close() {
      current?.close();
      finish();
    },
    attach(stream) {
      streams.push(stream);
      current = stream;
      if (started) stream.startLine();
      const drop = drops.at(-1);
      if (drop && drop.resumedAt === undefined) {
        drop.resumedAt = performance.now();
        void stream.firstAudio.then((at) => {
          drop.heardAt = at;
        });
      }
    },
    detach(stream, dropped) {
      if (current !== stream) return;
      current = null;
      if (dropped && !ended) drops.push({ at: performance.now() });
      else finish();
    },
    end: finish,
  };
}
