// The delivery's book of receivers without a clock or a network: when a host is paused and for how long, how many
// deliveries each host may have, and the share of claims left to hosts that answer.
import { describe, expect, test } from "bun:test";
import { hostOf, MAX_CLAIMED, receiverBook } from "../../src/workers/receivers.ts";

const T0 = 1_000_000;

/** Claims and starts one delivery to `host`, and ends it. */
function attempt(book: ReturnType<typeof receiverBook>, host: string, failed: boolean, now: number) {
  book.held(host);
  book.started(host);
  return book.finished(host, failed, now);
}

describe("pauses", () => {
  test("5 failures in a row pause a host for 30 s, doubling with each pause in a row up to 5 minutes", () => {
    const book = receiverBook();
    for (let i = 0; i < 4; i++) expect(attempt(book, "dead.example", true, T0)).toBeNull();
    expect(book.isPaused("dead.example", T0)).toBe(false);
    expect(attempt(book, "dead.example", true, T0)).toBe(30_000);
    expect(book.isPaused("dead.example", T0 + 29_999)).toBe(true);
    expect(book.canStart("dead.example", T0 + 29_999)).toBe(false);
    let now = T0 + 30_000;
    const pauses: (number | null)[] = [];
    for (let i = 0; i < 6; i++) {
      expect(book.isPaused("dead.example", now)).toBe(false);
      // The probe after each pause fails: paused again at once, for twice as long.
      const ms = attempt(book, "dead.example", true, now);
      pauses.push(ms);
      now += ms ?? 0;
    }
    expect(pauses).toEqual([60_000, 120_000, 240_000, 300_000, 300_000, 300_000]);
  });

  test("an answer ends the failures and the doubling", () => {
    const book = receiverBook();
    for (let i = 0; i < 5; i++) attempt(book, "flaky.example", true, T0);
    expect(attempt(book, "flaky.example", false, T0 + 30_000)).toBeNull();
    for (let i = 0; i < 4; i++) expect(attempt(book, "flaky.example", true, T0 + 30_000)).toBeNull();
    expect(attempt(book, "flaky.example", true, T0 + 30_000)).toBe(30_000);
  });

  test("a paused host's events are skipped by claims, and admitted by none", () => {
    const book = receiverBook();
    for (let i = 0; i < 5; i++) attempt(book, "dead.example", true, T0);
    const filter = book.claimFilter(T0)!;
    expect(filter.skipHosts).toContain("dead.example");
    expect(filter.admit("http://dead.example:8080/x")).toBe(false);
    expect(filter.admit("http://alive.example/x")).toBe(true);
  });
});

describe("slots and claims", () => {
  test("4 at a time to a host, 1 once its last attempt failed, whatever the port", () => {
    const book = receiverBook();
    const admit = book.claimFilter(T0)!.admit;
    const urls = [1, 2, 3, 4, 5].map((p) => `http://127.0.0.1:${p}/`);
    expect(urls.map(admit)).toEqual([true, true, true, true, false]);
    expect(admit("http://localhost:1/")).toBe(true);
    for (let i = 0; i < 4; i++) book.held(hostOf(urls[i]!));
    expect(book.claimFilter(T0)!.skipHosts).toEqual(["127.0.0.1"]);
    for (let i = 0; i < 4; i++) {
      expect(book.canStart("127.0.0.1", T0)).toBe(true);
      book.started("127.0.0.1");
    }
    expect(book.canStart("127.0.0.1", T0)).toBe(false);
    book.finished("127.0.0.1", true, T0);
    book.held("127.0.0.1");
    expect(book.canStart("127.0.0.1", T0)).toBe(false);
    for (let i = 0; i < 3; i++) book.finished("127.0.0.1", true, T0);
    expect(book.canStart("127.0.0.1", T0)).toBe(true);
    book.started("127.0.0.1");
    expect(book.canStart("127.0.0.1", T0)).toBe(false);
  });

  test("hosts that have not answered share 24 claims; then only hosts that answered are claimed for", () => {
    const book = receiverBook();
    attempt(book, "good.example", false, T0);
    const admit = book.claimFilter(T0)!.admit;
    const fresh = Array.from({ length: 30 }, (_, i) => `http://new${i}.example/`);
    expect(fresh.filter(admit)).toHaveLength(24);
    expect(admit("http://good.example/")).toBe(true);
    for (const url of fresh.slice(0, 24)) book.held(hostOf(url));
    const full = book.claimFilter(T0)!;
    expect(full.onlyHosts).toEqual(["good.example"]);
    expect(full.admit("http://new29.example/")).toBe(false);
    expect(full.admit("http://good.example/")).toBe(true);
    expect(MAX_CLAIMED).toBe(64);
  });

  test("a claim may take no more than the free slots of the hosts in the book, and 4 for hosts not in it yet", () => {
    const book = receiverBook();
    expect(book.room(T0)).toEqual({ known: 0, fresh: 4 });
    attempt(book, "good.example", false, T0);
    expect(book.room(T0)).toEqual({ known: 4, fresh: 4 });
    for (let i = 0; i < 3; i++) book.held("good.example");
    expect(book.room(T0).known).toBe(1);
    // A failing host has one slot; a paused one none.
    attempt(book, "flaky.example", true, T0);
    expect(book.room(T0).known).toBe(2);
    for (let i = 0; i < 4; i++) attempt(book, "flaky.example", true, T0);
    expect(book.isPaused("flaky.example", T0)).toBe(true);
    expect(book.room(T0).known).toBe(1);
    // Once hosts that have not answered hold their 24 claims, no claim looks for new hosts.
    for (let i = 0; i < 24; i++) book.held(`new${i}.example`);
    expect(book.room(T0).fresh).toBe(0);
  });
});
