// The web console in a real browser (Debian's chromium driven by playwright-core) against `server --simulate`
// children: placing a call through the form, its transcript arriving live, ending a call, and signing in.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { MAX_STREAMS, MAX_STREAMS_PER_CLIENT } from "../src/http/stream.ts";
import { tempDir } from "./support/app.ts";
import { startPostgres } from "./support/postgres.ts";
import { repoRoot, type ServerProcess, spawnServer, spawnSimulated } from "./support/process.ts";
import { rawRequest, rawStream } from "./support/raw-http.ts";
import { until } from "./support/until.ts";

const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "console-test-token-0123456789";
const ARTIFACTS = join(repoRoot, "test-artifacts");

const children = new Set<ServerProcess>();
let open: ServerProcess;
let guarded: ServerProcess;
let browser: BrowserContext;

const simulatedServer = (env: Record<string, string> = {}) => spawnSimulated(children, env);

beforeAll(async () => {
  [open, guarded] = await Promise.all([simulatedServer(), simulatedServer({ AGENTICAI_API_TOKEN: TOKEN })]);
  browser = await chromium.launchPersistentContext(tempDir("agenticai-chromium-"), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  for (const child of children) {
    child.proc.kill("SIGKILL");
    await child.proc.exited;
  }
});

async function placeCall(page: Page, server: ServerProcess, to: string): Promise<string> {
  await page.goto(`${server.url}/console#/new`);
  await page.fill("input[name=to]", to);
  await page.fill("textarea[name=prompt]", "You are testing the console.");
  await page.click("#call-form button[type=submit]");
  await page.waitForURL(/#\/calls\/[0-9a-f-]+$/);
  return decodeURIComponent(new URL(page.url()).hash.slice("#/calls/".length));
}

test("a call placed through the form shows its transcript live, then its latency chart and report", async () => {
  const page = await browser.newPage();
  const loads: string[] = [];
  page.on("load", () => loads.push(page.url()));
  const id = await placeCall(page, open, "+15550100001");

  // The page is not reloaded: each line arrives over /api/stream while the call goes on.
  await page.waitForSelector("#transcript li.turn.agent", { timeout: 10_000 });
  await page.locator("#transcript li.turn").nth(2).waitFor({ timeout: 15_000 });
  expect(await page.locator("#transcript li.turn.caller").count()).toBeGreaterThan(0);
  expect(loads).toHaveLength(1);

  await page.waitForSelector("#report:not([hidden])", { timeout: 15_000 });
  expect(await page.locator("#latency svg rect").count()).toBeGreaterThan(0);
  expect(await page.locator("#history li").count()).toBeGreaterThan(2);
  const api = (await (await fetch(`${open.url}/api/calls/${id}`)).json()) as { transcript: { text: string }[] };
  expect(await page.locator("#transcript li.turn p").first().textContent()).toBe(api.transcript[0]!.text);

  mkdirSync(ARTIFACTS, { recursive: true });
  const shot = join(ARTIFACTS, "console-call.png");
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`console screenshot: ${shot}`);

  // The list shows it among the recent calls with its end reason and the report's outcome.
  await page.click("text=← All calls");
  const row = page.locator(`#recent li[data-call="${id}"]`);
  await row.locator(".outcome").waitFor();
  await page.setViewportSize({ width: 390, height: 760 });
  await page.emulateMedia({ colorScheme: "dark" });
  const phone = join(ARTIFACTS, "console-phone-dark.png");
  await page.screenshot({ path: phone, fullPage: true });
  console.log(`console screenshot (phone width, dark): ${phone}`);
  await page.close();
}, 40_000);

test("the form shows the API's own error, and a recorded call gets a player once it ends", async () => {
  const page = await browser.newPage();
  await page.goto(`${open.url}/console#/new`);
  await page.fill("input[name=to]", "12345");
  await page.click("#call-form button[type=submit]");
  const refused = await fetch(`${open.url}/api/call`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ to: "12345" }),
  });
  const { error } = (await refused.json()) as { error: string };
  await page.locator("#form-error", { hasText: error }).waitFor({ timeout: 5000 });
  expect(page.url()).toEndWith("#/new");

  await page.fill("input[name=to]", "+15550100001");
  await page.click("summary");
  await page.check("input[name=record]");
  await page.click("#call-form button[type=submit]");
  await page.waitForURL(/#\/calls\/[0-9a-f-]+$/);
  await page.waitForSelector("#recording audio", { state: "attached", timeout: 30_000 });
  const duration = await page.locator("#recording audio").evaluate(
    (audio) =>
      new Promise<number>((resolve) => {
        if (audio.readyState >= 1) resolve(audio.duration);
        else audio.addEventListener("loadedmetadata", () => resolve(audio.duration), { once: true });
      }),
  );
  expect(duration).toBeGreaterThan(5);
  await page.close();
}, 40_000);

test("a call placed for later through the form shows when it will be dialled; ended calls show their cost", async () => {
  const page = await browser.newPage();
  await page.goto(`${open.url}/console#/new`);
  await page.fill("input[name=to]", "+15550100001");
  await page.click("summary:has-text('When and as whom')");
  // Tomorrow at 09:30 in the browser's zone (UTC in the test's chromium): an instant the API gets with its offset.
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  await page.fill("input[name=not_before]", `${tomorrow}T09:30`);
  await page.selectOption("select[name=voice]", "cedar");
  await page.fill("input[name=language]", "es");
  await page.click("#call-form button[type=submit]");
  await page.waitForURL(/#\/calls\/[0-9a-f-]+$/);
  const id = decodeURIComponent(new URL(page.url()).hash.slice("#/calls/".length));
  await page.waitForSelector("#call-facts .badge.status-scheduled", { timeout: 10_000 });
  const api = (await (await fetch(`${open.url}/api/calls/${id}`)).json()) as { scheduled_for: string };
  const local = await page.evaluate(
    (iso) => new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }),
    api.scheduled_for,
  );
  await page.locator("#call-facts dd", { hasText: local }).waitFor();
  await page.locator("#call-facts dd", { hasText: "cedar" }).waitFor();

  await page.click("text=← All calls");
  const row = page.locator(`#active li[data-call="${id}"]`);
  await row.locator(".badge.status-scheduled").waitFor();
  expect(await row.locator(".scheduled-for").textContent()).toBe(local);
  // Ending it cancels it; the calls that ran before show what they cost among the recent ones.
  await fetch(`${open.url}/api/calls/${id}/end`, { method: "POST" });
  await page.locator("#recent li .cost").first().waitFor({ timeout: 15_000 });
  expect(await page.locator("#recent li .cost").first().textContent()).toMatch(/^\$\d+\.\d{4}( est\.)?$/);
  await page.close();
}, 30_000);

test("the End button ends an active call", async () => {
  const page = await browser.newPage();
  const id = await placeCall(page, open, "+15550100006");
  await page.waitForSelector("#call-facts .badge.status-in-progress", { timeout: 10_000 });

  await page.goto(`${open.url}/console#/`);
  const row = page.locator(`#active li[data-call="${id}"]`);
  await row.waitFor();
  // The duration ticks once a second without any event from the server: the silent callee says nothing.
  const first = await row.locator(".duration").textContent();
  await row.locator(".duration", { hasNotText: first! }).waitFor({ timeout: 3000 });

  await row.locator("a").click();
  await page.click("#end-call");
  await page.waitForSelector("#end-call", { state: "hidden", timeout: 10_000 });
  await page.locator("#call-facts dd", { hasText: "ended_by_api" }).waitFor({ timeout: 10_000 });
  const call = (await (await fetch(`${open.url}/api/calls/${id}`)).json()) as { active: boolean; end_reason: string };
  expect(call).toMatchObject({ active: false, end_reason: "ended_by_api" });
  await page.close();
}, 30_000);

test("with a token set, the console asks for it, refuses a wrong one with the API's message, opens with the right one", async () => {
  const page = await browser.newPage();
  await page.goto(`${guarded.url}/console`);
  await page.waitForSelector("#signin:not([hidden])");

  await page.fill("#token", "wrong-token");
  await page.click("#signin-form button[type=submit]");
  const refused = await fetch(`${guarded.url}/api/calls`, { headers: { Authorization: "Bearer wrong-token" } });
  const { error } = (await refused.json()) as { error: string };
  await page.locator("#signin-error", { hasText: error }).waitFor({ timeout: 5000 });
  expect(await page.locator("#calls").isHidden()).toBe(true);

  await page.fill("#token", TOKEN);
  await page.click("#signin-form button[type=submit]");
  await page.waitForSelector("#calls:not([hidden])");
  await page.locator("#live.ok").waitFor({ timeout: 5000 });
  await page.close();
}, 20_000);

test("/api/stream is guarded like /api/* and opens with the retry hint and the call lists", async () => {
  const refused = await fetch(`${guarded.url}/api/stream`);
  expect(refused.status).toBe(401);
  const abort = new AbortController();
  const res = await fetch(`${guarded.url}/api/stream`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
    signal: abort.signal,
  });
  expect(res.headers.get("content-type")).toStartWith("text/event-stream");
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("event: calls")) text += (await reader.read()).value ?? "";
  abort.abort();
  expect(text).toStartWith("retry: 3000\n\nevent: calls\ndata: ");
  const missing = await fetch(`${guarded.url}/api/stream?call=nope`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  expect(missing.status).toBe(404);
});

test(`at most ${MAX_STREAMS} live streams are open at once, and a closed one frees its place`, async () => {
  const headers = { Authorization: `Bearer ${TOKEN}` };
  // One address may hold MAX_STREAMS_PER_CLIENT, so the places are filled from as many loopback addresses
  // as that takes (127.0.0.1, 127.0.0.2, …).
  const from = (i: number) => `127.0.0.${1 + Math.floor(i / MAX_STREAMS_PER_CLIENT)}`;
  // Streams of the tests before (a page closed, a fetch aborted) end a moment after their client left.
  const openAll = async () => {
    const streams = await Promise.all(
      Array.from({ length: MAX_STREAMS }, (_, i) =>
        rawStream(guarded.url, "/api/stream", { headers, localAddress: from(i) }),
      ),
    );
    if (streams.every((r) => r.status === 200)) return streams;
    for (const s of streams) s.close();
    await Bun.sleep(100);
    return null;
  };
  const streams = await until(openAll, `room for ${MAX_STREAMS} streams`);
  const over = await rawRequest(guarded.url, "/api/stream", { headers, localAddress: from(MAX_STREAMS) });
  expect(over.status).toBe(429);
  expect((JSON.parse(over.body) as { error: string }).error).toContain(`at most ${MAX_STREAMS}`);
  for (const s of streams) s.close();
  await until(async () => {
    await Bun.sleep(100);
    const again = await fetch(`${guarded.url}/api/stream`, { headers });
    await again.body?.cancel();
    return again.status === 200;
  });
});

test("a malformed call link shows the list instead of leaving the page blank", async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${open.url}/console#/calls/%E0%A4%A`);
  await page.waitForSelector("#calls:not([hidden])", { timeout: 5000 });
  await page.locator("#live.ok").waitFor({ timeout: 5000 });
  expect(errors).toEqual([]);
  // The page still follows links afterwards.
  await page.evaluate('location.hash = "#/new"');
  await page.waitForSelector("#new:not([hidden])", { timeout: 5000 });
  await page.close();
}, 20_000);

test("the console may not be framed, and the token field is not offered to password managers", async () => {
  for (const path of ["/console", "/console/console.js", "/console/console.css"]) {
    const res = await fetch(`${open.url}${path}`);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  }
  const page = await browser.newPage();
  await page.goto(`${guarded.url}/console`);
  expect(await page.locator("#token").getAttribute("autocomplete")).toBe("off");
  await page.close();
}, 20_000);

test("the console's own requests pass the Origin rule: its POSTs carry its origin", async () => {
  const page = await browser.newPage();
  const origins: Promise<string | undefined>[] = [];
  page.on("request", (r) => {
    if (r.method() === "POST") origins.push(r.allHeaders().then((h) => h.origin));
  });
  const id = await placeCall(page, open, "+15550100006");
  await page.waitForSelector("#end-call:not([hidden])", { timeout: 10_000 });
  await page.click("#end-call");
  await page.waitForSelector("#end-call", { state: "hidden", timeout: 10_000 });
  expect(await Promise.all(origins)).toEqual([open.url, open.url]);
  const call = (await (await fetch(`${open.url}/api/calls/${id}`)).json()) as { end_reason: string };
  expect(call.end_reason).toBe("ended_by_api");
  await page.close();
}, 30_000);

test("the active list opens with one page of calls; More appends the next from GET /api/calls", async () => {
  const dir = tempDir("agenticai-console-");
  const limits = "calls:\n  max_concurrent: 100\nlimits:\n  calls_per_minute: 1000\n  api_requests_per_minute: 10000\n";
  writeFileSync(join(dir, "paging.yaml"), limits);
  const env = { HOST: "127.0.0.1", PORT: "0", AGENTICAI_DATA_DIR: join(dir, "data") };
  const server = await spawnServer(
    ["server", "--simulate"],
    { ...env, AGENTICAI_CONFIG: join(dir, "paging.yaml") },
    children,
  );
  // Busy lines with an hour between attempts: 55 calls that stay active, and change no more once they wait.
  const body = JSON.stringify({ to: "+15550100002", retry: { max_attempts: 2, delay_s: 3_600 } });
  const placed: string[] = [];
  for (let i = 0; i < 55; i++) {
    const res = await fetch(`${server.url}/api/call`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
    });
    expect(res.status).toBe(200);
    placed.push(((await res.json()) as { call_id: string }).call_id);
  }
  await until(
    async () => ((await (await fetch(`${server.url}/health`)).json()) as any).waiting_calls === 55,
    "the calls to wait",
  );

  const page = await browser.newPage();
  await page.goto(`${server.url}/console`);
  const rows = page.locator("#active li");
  await rows.nth(49).waitFor({ timeout: 10_000 });
  expect(await rows.count()).toBe(50);
  await page.click("#more-active");
  await rows.nth(54).waitFor({ timeout: 10_000 });
  expect(await rows.count()).toBe(55);
  expect(await page.locator("#active-more").isHidden()).toBe(true);
  const shown = await rows.evaluateAll((items) => items.map((li) => li.getAttribute("data-call")));
  expect([...shown].sort()).toEqual([...placed].sort());
  await page.close();
}, 60_000);

test("sharing PostgreSQL, a console on one instance shows a call placed on another within a second", async () => {
  const pg = await startPostgres();
  try {
    const url = await pg.createDatabase();
    const [a, b] = await Promise.all([simulatedServer({ DATABASE_URL: url }), simulatedServer({ DATABASE_URL: url })]);
    const page = await browser.newPage();
    await page.goto(`${b.url}/console`);
    await page.locator("#live.ok").waitFor({ timeout: 5000 });
    const t0 = Date.now();
    const res = await fetch(`${a.url}/api/call`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ to: "+15550100006" }),
    });
    const { call_id } = (await res.json()) as { call_id: string };
    await page.locator(`#active li[data-call="${call_id}"]`).waitFor({ timeout: 5000 });
    expect(Date.now() - t0).toBeLessThan(1_000);
    // Its changes follow: answered on A, the row on B says so.
    await page.locator(`#active li[data-call="${call_id}"]`, { hasText: "in-progress" }).waitFor({ timeout: 10_000 });
    expect((await fetch(`${a.url}/api/calls/${call_id}/end`, { method: "POST" })).status).toBe(200);
    await page.close();
    for (const child of [a, b]) {
      child.proc.kill("SIGKILL");
      await child.proc.exited;
      children.delete(child);
    }
  } finally {
    await pg.stop();
  }
}, 60_000);
