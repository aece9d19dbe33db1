// Both engines' migrations are rendered from one set of tables (src/store/schema.ts), so an edit there
// could silently change a step that databases have already applied. Each shipped step is pinned here:
// a change to the schema is a new step in each list, never an edit of one of these.
import { expect, test } from "bun:test";
import { PG_MIGRATIONS } from "../../src/store/postgres-migrations.ts";
import { MIGRATIONS } from "../../src/store/sqlite-migrations.ts";

/** White space is not part of a step: only the statements are. */
const fingerprint = (sql: string) =>
  new Bun.CryptoHasher("sha256")
    .update(sql.replace(/\s+/g, " ").replace(/\( /g, "(").replace(/ \)/g, ")").trim())
    .digest("hex")
    .slice(0, 16);

const SHIPPED_SQLITE = [
  "a74a92f0e2a7cc5b",
  "ae21fcd31b9ac84d",
  "5a876b758c58b75e",
  "a513a9ae062075d3",
  "6e3f036189c99231",
  "811b43ad67f01521",
  "7d49e14dd3ab2d40",
  "4359d04ecba1ee03",
  "996c372e949ff3d0",
  "9774b1d507c13d26",
];
const SHIPPED_POSTGRES = [
  "186c10136fdd30d3",
  "811b43ad67f01521",
  "c079c936bd1192e3",
  "3eb60d069b745eca",
  "996c372e949ff3d0",
  "9774b1d507c13d26",
];

test("no shipped SQLite migration step changes", () => {
  expect(MIGRATIONS.slice(0, SHIPPED_SQLITE.length).map(fingerprint)).toEqual(SHIPPED_SQLITE);
});

test("no shipped PostgreSQL migration step changes", () => {
  expect(PG_MIGRATIONS.slice(0, SHIPPED_POSTGRES.length).map(fingerprint)).toEqual(SHIPPED_POSTGRES);
});
