// GET /api/calls in pages against the real server: `limit` (1–200, 50 by default), an opaque `cursor`, and
// `next_cursor` until the last page; calls placed while a client pages come after what it has read.
import { afterEach, describe, expect, test } from "bun:test";
import { startTestApp, type TestApp } from "./support/app.ts";

let app: TestApp | null = null;
afterEach(async () => {
  await app?.stop();
  app = null;
});

async function start(): Promise<TestApp> {
  app = await startTestApp({
    config: { calls: { max_concurrent: 100 }, limits: { calls_per_minute: 1_000, api_requests_per_minute: 10_000 } },
  });
  return app;
}

async function place(a: TestApp, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await a.call()).id);
  return ids;
}

const ids = (body: { calls: { call_id: string }[] }) => body.calls.map((c) => c.call_id);

describe("GET /api/calls pages", () => {
  test("50 calls a page by default, oldest first, each page with its count and the next page's cursor", async () => {
    const a = await start();
    const placed = await place(a, 52);
    const whole = await a.api("/api/calls?limit=200");
    expect(whole.body).toMatchObject({ count: 52, next_cursor: null });
    // Oldest first, even for calls placed within one millisecond.
    const order = ids(whole.body);
    expect(order).toEqual(placed);
    const created = whole.body.calls.map((c: { created_at: string }) => c.created_at);
    expect(created).toEqual([...created].sort());
    const first = await a.api("/api/calls");
    expect(first.status).toBe(200);
    // Checked by type, not with toMatchObject's expect.any(String), which bun writes into the object it checks.
    expect([first.body.count, typeof first.body.next_cursor]).toEqual([50, "string"]);
    expect(ids(first.body)).toEqual(order.slice(0, 50));
    expect(first.body.calls[0]).toMatchObject({ status: "queued", active: true, to_number: "+15551230001" });
    const last = await a.api(`/api/calls?cursor=${first.body.next_cursor}`);
    expect(last.body).toEqual({ calls: expect.any(Array), count: 2, next_cursor: null });
    expect(ids(last.body)).toEqual(order.slice(50));
  }, 30_000);

  test("a cursor is stable: calls placed or ended between pages are neither skipped nor listed twice", async () => {
    const a = await start();
    const placed = await place(a, 5);
    const first = await a.api("/api/calls?limit=2");
    // Calls placed within one millisecond still list in the order they were placed.
    expect(ids(first.body)).toEqual(placed.slice(0, 2));
    const later = await place(a, 2);
    await a.api(`/api/calls/${placed[0]}/end`, { method: "POST" });
    const seen = [...ids(first.body)];
    let cursor: string | null = first.body.next_cursor;
    while (cursor) {
      const page = await a.api(`/api/calls?limit=2&cursor=${encodeURIComponent(cursor)}`);
      expect(page.status).toBe(200);
      expect(page.body.count).toBe(page.body.calls.length);
      seen.push(...ids(page.body));
      cursor = page.body.next_cursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...placed, ...later]);
  });

  test("the last page answers next_cursor null, an empty list too", async () => {
    const a = await start();
    expect((await a.api("/api/calls")).body).toEqual({ calls: [], count: 0, next_cursor: null });
    await place(a, 2);
    expect((await a.api("/api/calls?limit=2")).body).toMatchObject({ count: 2, next_cursor: null });
  });

  test("a limit not in plain digits from 1 to 200, or a cursor the server did not make, is a 400", async () => {
    const a = await start();
    for (const limit of ["0", "201", "1000", "-1", "+5", "5.0", "1e1", "0x10", " 5", "", "abc", "50%20"]) {
      const res = await a.api(`/api/calls?limit=${limit}`);
      expect(res.status, `limit=${limit}`).toBe(400);
      expect(res.body).toEqual({ success: false, error: "'limit' must be a whole number from 1 to 200" });
    }
    expect((await a.api("/api/calls?limit=1")).status).toBe(200);
    expect((await a.api("/api/calls?limit=200")).status).toBe(200);
    const forged = [
      "",
      "nope",
      "!!!",
      Buffer.from("1700000000000").toString("base64url"),
      Buffer.from("x.00000000-0000-4000-8000-000000000000").toString("base64url"),
      `${Buffer.from("1.a").toString("base64url")}==`,
      "A".repeat(500),
    ];
    for (const cursor of forged) {
      const res = await a.api(`/api/calls?cursor=${encodeURIComponent(cursor)}`);
      expect(res.status, `cursor=${cursor}`).toBe(400);
      expect(res.body).toEqual({
        success: false,
        error: "Invalid 'cursor': pass the next_cursor of the previous page as it is",
      });
    }
  });
});
