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
  return new Line(speed);
}

class Line implements CallLine {
  readonly streams: MediaClient[] = [];
  readonly drops: Drop[] = [];
  readonly firstAudio = new Promise<number>(() => {});
  readonly closed: Promise<{ code: number; reason: string }>;
  private current: MediaClient | null = null;
  private started = false;
  private ended = false;
  private hungUpFlag = false;
  private onEnded: (v: { code: number; reason: string }) => void = () => {};

  constructor(private readonly speed: number) {
    this.closed = new Promise((resolve) => (this.onEnded = resolve));
  }

  private sum(pick: (s: MediaClient) => number): number {
    return this.streams.reduce((n, s) => n + pick(s), 0);
  }

  private sleep(ms: number): Promise<void> {
    return Bun.sleep(ms / this.speed);
  }

  /** The stream up, once there is one; null if the line ended first. */
  private async nextStream(): Promise<MediaClient | null> {
    while (!this.ended && !this.current?.isOpen()) await this.sleep(GAP_POLL_MS);
    return this.ended ? null : this.current;
  }

  /** The stream up now, if any: through a gap nothing is heard, and nothing is over. */
  private get up(): MediaClient | null {
    return this.current?.isOpen() ? this.current : null;
  }

  get streamSid() {
    return this.current?.streamSid ?? "";
  }
  get received() {
    return {
      media: this.sum((s) => s.received.media),
      marks: this.sum((s) => s.received.marks),
      clears: this.sum((s) => s.received.clears),
    };
  }
  get totalAudioBytes() {
    return this.sum((s) => s.totalAudioBytes);
  }
  get framesSent() {
    return this.sum((s) => s.framesSent);
  }
  get playedMs() {
    return this.sum((s) => s.playedMs);
  }
  // Through a gap the person waits for the line to come back: the agent is neither playing nor done.
  get agentQuietMs() {
    return this.up?.agentQuietMs ?? 0;
  }
  get agentPlaying() {
    return this.up?.agentPlaying ?? false;
  }
  get events() {
    return this.streams.flatMap((s) => s.events);
  }
  get protocolErrors() {
    return this.sum((s) => s.protocolErrors);
  }
  get hungUp() {
    return this.hungUpFlag;
  }

  isOpen(): boolean {
    return !this.ended;
  }
  async sendAudio(ulaw: Uint8Array, o?: { paced?: boolean }): Promise<void> {
    await (await this.nextStream())?.sendAudio(ulaw, o);
  }
  async sendSilence(ms: number, o?: { paced?: boolean }): Promise<void> {
    await (await this.nextStream())?.sendSilence(ms, o);
  }
  async sendSpeech(ms: number, o?: { paced?: boolean }): Promise<void> {
    await (await this.nextStream())?.sendSpeech(ms, o);
  }
  startLine(): void {
    this.started = true;
    this.current?.startLine();
  }

  /** Says `bytes`; a drop mid-way cuts it off, and the person says it again once the line is back. */
  async say(bytes: Uint8Array): Promise<void> {
    for (;;) {
      const stream = await this.nextStream();
      if (!stream) return;
      await stream.say(bytes);
      if (stream.isOpen() || this.ended) return;
    }
  }

  async wait(ms: number): Promise<void> {
    if (this.up) return this.up.wait(ms);
    if (!this.ended) await this.sleep(ms);
  }
  sendDtmf(digit: string): void {
    this.current?.sendDtmf(digit);
  }
  sendRaw(data: string | Uint8Array): void {
    this.current?.sendRaw(data);
  }
  recording() {
    const parts = this.streams.map((s) => s.recording());
    return { caller: Buffer.concat(parts.map((p) => p.caller)), agent: Buffer.concat(parts.map((p) => p.agent)) };
  }
  stop(): void {
    this.hungUpFlag = true;
    this.current?.stop();
    this.end();
  }
  close(): void {
    this.current?.close();
    this.end();
  }

  attach(stream: MediaClient): void {
    this.streams.push(stream);
    this.current = stream;
    if (this.started) stream.startLine();
    const drop = this.drops.at(-1);
    if (!drop || drop.resumedAt !== undefined) return;
    drop.resumedAt = performance.now();
    void stream.firstAudio.then((at) => {
      drop.heardAt = at;
    });
  }

  detach(stream: MediaClient, dropped: boolean): void {
    if (this.current !== stream) return;
    this.current = null;
    if (dropped && !this.ended) this.drops.push({ at: performance.now() });
    else this.end();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnded({ code: 1000, reason: this.hungUpFlag ? "hung up" : "call ended" });
  }
}
