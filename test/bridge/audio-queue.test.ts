import { describe, expect, test } from "bun:test";
import { createAudioQueue } from "../../src/bridge/audio-queue.ts";

function setup(limit: number) {
  const sent: string[] = [];
  let writable = false;
  let dropped = 0;
  const queue = createAudioQueue<string>({
    limit,
    cost: (item) => item.length,
    writable: () => writable,
    send: (item) => sent.push(item),
    onDrop: () => dropped++,
  });
  return {
    queue,
    sent,
    dropped: () => dropped,
    open(value: boolean) {
      writable = value;
    },
  };
}

describe("audio queue", () => {
  test("sends at once when nothing waits and the socket can take it", () => {
    const q = setup(10);
    q.open(true);
    q.queue.push("ab");
    expect(q.sent).toEqual(["ab"]);
  });

  test("holds audio while the socket cannot take it, then sends it in order", () => {
    const q = setup(10);
    q.queue.push("a");
    q.queue.push("b");
    expect(q.sent).toEqual([]);
    q.open(true);
    q.queue.flush();
    expect(q.sent).toEqual(["a", "b"]);
  });

  test("past its limit the oldest audio is dropped and counted", () => {
    const q = setup(4);
    for (const item of ["aa", "bb", "cc"]) q.queue.push(item);
    expect(q.dropped()).toBe(1);
    q.open(true);
    q.queue.flush();
    expect(q.sent).toEqual(["bb", "cc"]);
  });

  test("clear forgets what waits", () => {
    const q = setup(10);
    q.queue.push("a");
    q.queue.clear();
    q.open(true);
    q.queue.push("b");
    expect(q.sent).toEqual(["b"]);
  });
});
