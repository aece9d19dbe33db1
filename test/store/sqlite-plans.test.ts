// How SQLite runs each statement of the store, read with EXPLAIN QUERY PLAN on the store's own schema and without
// statistics, as a deployment's file has them (nothing runs ANALYZE). The background workers poll every second
// through some of these, and a file keeps every call for 30 days by default: a statement that reads a table whole,
// or every ended call, costs the event loop more the longer a server runs, which a test on a small file never shows.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openStore, statements } from "../../src/store/sqlite.ts";
import { outboxStatements } from "../../src/store/sqlite-outbox.ts";
import { retentionStatements } from "../../src/store/sqlite-retention.ts";
import { tempDir } from "../support/temp.ts";

/** The statements that may walk an index of ended calls or a table in order: each pages, or stops at a limit. */
const WALKS: Record<string, RegExp> = {
  // The console's recent calls and retention's oldest ones: a LIMIT on calls_ended's order.
  recent: /calls_ended/,
  doomed: /calls_ended/,
  // GET /api/events without a status: newest first, a page at a time.
  list: /^SCAN outbox$/,
};
/** Tables of a few rows (one per instance, one per setting), and partial indexes of the rows in flight only. */
const SMALL = /^SCAN (instances|meta)\b|USING (COVERING )?INDEX (calls_active|outbox_claimed)\b/;

let db: Database;
const made: { name: string; sql: string }[] = [];

beforeAll(async () => {
  const dir = tempDir("agenticai-plans-");
  await openStore(dir).close();
  db = new Database(`${dir}/agenticai.db`, { strict: true });
  for (const make of [statements, outboxStatements, retentionStatements]) {
    let name = "";
    // Each statement's SQL as the store prepares it, under the name the store reads it by.
    const recorder = {
      query(sql: string) {
        made.push({ name, sql });
        return db.query(sql);
      },
    } as unknown as Database;
    const q = make(recorder) as Record<string, unknown>;
    for (name of Object.keys(q)) void q[name];
  }
});
afterAll(() => db.close());

const plan = (sql: string) =>
  (db.query(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((row) => row.detail);

describe("SQLite's plans for the store's statements", () => {
  test("every statement the store names is read", () => {
    expect(made.length).toBeGreaterThan(40);
    expect(made.map((m) => m.name)).toContain("awaitingReport");
  });

  test("none reads a table whole or every ended call, except those that page by it", () => {
    const wide = made.flatMap(({ name, sql }) =>
      plan(sql)
        .filter((step) => step.startsWith("SCAN ") || /calls_ended/.test(step))
        .filter((step) => !SMALL.test(step) && !WALKS[name]?.test(step) && !/^SCAN (CONSTANT|json_each)/.test(step))
        .map((step) => `${name}: ${step}`),
    );
    expect(wide).toEqual([]);
  });

  test("the report worker's poll and the release at open read only the calls awaiting a report", () => {
    for (const name of ["awaitingReport", "releaseReports"]) {
      const { sql } = made.find((m) => m.name === name)!;
      expect(plan(sql).join(" | ")).toContain("calls_report_due");
    }
  });
});
