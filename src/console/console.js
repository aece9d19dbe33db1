// src/console/ owns the browser console's files, served as they are by http/console.ts. It imports nothing:
// it reaches the server only through /api/* and the live stream, like any other client.
//
// The agenticai web console: plain browser JavaScript, no build step. All data comes from /api/* with the
// token; every server string goes into the page as text, never as markup.

const TOKEN_KEY = "agenticai.token";
const state = {
  token: sessionStorage.getItem(TOKEN_KEY) ?? "",
  calls: new Map(),
  detail: null,
  followed: null,
  stream: null,
  recordingFor: null,
  /** Where the next page of active calls starts (GET /api/calls?cursor=), or null when the list is whole. */
  nextCursor: null,
};

const $ = (id) => document.getElementById(id);

/** Builds an element from text only: children that are strings become text nodes. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
  }
  return node;
}

function authHeaders(extra = {}) {
  return state.token ? { ...extra, Authorization: `Bearer ${state.token}` } : extra;
}

async function errorOf(res) {
  try {
    const body = await res.json();
    if (body && typeof body.error === "string") return body.error;
  } catch {
    // Not the API's JSON error shape; the status line says what there is to say.
  }
  return `HTTP ${res.status} ${res.statusText}`;
}

/** A request to the API; a 401 sends the user to the sign-in with the API's own reason. */
async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: authHeaders(init.headers) });
  if (res.status === 401) {
    showSignIn(await errorOf(res));
    throw new Error("unauthorized");
  }
  return res;
}

// ---- time and formatting ----

function since(iso) {
  return iso ? Date.parse(iso) : null;
}

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

function durationOf(call) {
  if (call.duration_s !== null && call.duration_s !== undefined && !call.active) return clock(call.duration_s);
  const start = since(call.answered_at) ?? since(call.created_at);
  const end = call.active ? Date.now() : (since(call.ended_at) ?? Date.now());
  return start === null ? "" : clock((end - start) / 1000);
}

/** A span whose text the once-a-second tick keeps current while the call is active. */
function durationSpan(call) {
  const span = el("span", { className: "duration" }, durationOf(call));
  if (call.active) {
    span.dataset.from = call.answered_at ?? call.created_at ?? "";
  }
  return span;
}

function tick() {
  for (const span of document.querySelectorAll("span.duration[data-from]")) {
    const start = since(span.dataset.from);
    if (start !== null) span.textContent = clock((Date.now() - start) / 1000);
  }
}

const timeOf = (iso) => (iso ? new Date(iso).toLocaleTimeString() : "");
/** A scheduled call may be days away: its date too. */
const whenOf = (iso) => (iso ? new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : "");

/** `$0.0421`, and `est.` while Twilio's own price for the call is not in. */
function money(cost) {
  return `$${cost.total.toFixed(4)}${cost.estimated ? " est." : ""}`;
}

function costDetail(cost) {
  const parts = `telephony $${cost.telephony.toFixed(4)}, model $${cost.model.toFixed(4)}`;
  return `$${cost.total.toFixed(4)} (${parts})${cost.estimated ? ", estimated until Twilio prices the call" : ""}`;
}
const badge = (text, kind = "") => el("span", { className: `badge ${kind}` }, text);

// ---- the call lists ----

function speakerText(call) {
  if (!call.active) return null;
  if (call.speaker) return badge(`${call.speaker} speaking`, `speaker-${call.speaker}`);
  return null;
}

function activeRow(call) {
  // A call placed for later has no duration yet: it shows when it will be dialled.
  const scheduled = call.status === "scheduled";
  return el(
    "li",
    { className: "row", "data-call": call.call_id },
    el("a", { href: `#/calls/${encodeURIComponent(call.call_id)}` }, call.to_number),
    badge(call.status, `status-${call.status}`),
    scheduled ? el("span", { className: "scheduled-for" }, whenOf(call.scheduled_for)) : durationSpan(call),
    speakerText(call),
  );
}

function recentRow(call) {
  return el(
    "li",
    { className: "row", "data-call": call.call_id },
    el("a", { href: `#/calls/${encodeURIComponent(call.call_id)}` }, call.to_number),
    badge(call.end_reason ?? call.status, `status-${call.status}`),
    call.outcome ? badge(call.outcome, "outcome") : el("span", { className: "muted" }, "report pending"),
    el("span", { className: "muted" }, timeOf(call.ended_at), " · ", durationOf(call)),
    call.cost ? el("span", { className: "cost", title: costDetail(call.cost) }, money(call.cost)) : null,
  );
}

function renderLists() {
  const calls = [...state.calls.values()];
  const active = calls.filter((c) => c.active).sort((a, b) => a.created_at.localeCompare(b.created_at));
  const recent = calls
    .filter((c) => !c.active)
    .sort((a, b) => (b.ended_at ?? "").localeCompare(a.ended_at ?? ""))
    .slice(0, 20);
  $("active").replaceChildren(...active.map(activeRow));
  $("recent").replaceChildren(...recent.map(recentRow));
  $("active-empty").hidden = active.length > 0;
  $("recent-empty").hidden = recent.length > 0;
  $("active-more").hidden = !state.nextCursor;
}

/** The stream starts with one page of active calls; each press of More appends the next page from the API. */
async function loadMoreActive() {
  const button = $("more-active");
  button.disabled = true;
  $("more-error").textContent = "";
  try {
    const res = await api(`/api/calls?cursor=${encodeURIComponent(state.nextCursor)}`);
    if (!res.ok) {
      $("more-error").textContent = await errorOf(res);
      return;
    }
    const page = await res.json();
    // A row the stream has sent is as fresh or fresher than the page's: it stays.
    for (const call of page.calls) if (!state.calls.has(call.call_id)) state.calls.set(call.call_id, call);
    state.nextCursor = page.next_cursor;
    renderLists();
  } catch (e) {
    // A 401 has already shown the sign-in.
    if (e.message !== "unauthorized") $("more-error").textContent = e.message;
  } finally {
    button.disabled = false;
  }
}

// ---- one call's page ----

function fact(list, term, value) {
  if (value === null || value === undefined || value === "") return;
  list.append(el("dt", {}, term), el("dd", {}, value));
}

function renderFacts(call) {
  const list = $("call-facts");
  list.replaceChildren();
  fact(list, "Status", badge(call.status, `status-${call.status}`));
  const lastTurn = call.transcript.at(-1);
  if (call.active && lastTurn) fact(list, "Speaking", badge(lastTurn.role, `speaker-${lastTurn.role}`));
  if (call.status !== "scheduled") fact(list, "Duration", durationSpan(call));
  fact(list, "Scheduled for", whenOf(call.scheduled_for));
  fact(list, "Cost", call.cost && costDetail(call.cost));
  fact(list, "Direction", call.direction);
  fact(list, "From", call.from_number);
  fact(list, "To", call.to_number);
  fact(list, "Voice", call.options?.voice);
  fact(list, "Language", call.options?.language);
  fact(list, "Calling window", windowText(call.options?.call_window));
  fact(list, "Created", timeOf(call.created_at));
  fact(list, "Answered", timeOf(call.answered_at));
  fact(list, "Ended", timeOf(call.ended_at));
  fact(list, "End reason", call.end_reason);
  fact(list, "Answered by", call.answered_by);
  fact(list, "Call screener", call.screened ? "answered first" : null);
  fact(list, "On hold", call.hold_s > 0 ? `${call.hold_s} s` : null);
  fact(list, "Transferred to", call.transferred_to && `${call.transferred_to} (${call.transfer_status ?? "…"})`);
  fact(list, "Error", call.error);
  fact(list, "Call id", el("code", {}, call.call_id));
}

/** `09:00–17:00 America/New_York, mon tue`: a call's window as its request gave it. */
function windowText(window) {
  if (!window) return null;
  const days = window.days ? `, ${window.days.join(" ")}` : "";
  return `${window.start}–${window.end} ${window.timezone}${days}`;
}

/** Who a transcript row is from: the call's two sides, or the agent's questions to the owner's assistant. */
const SPEAKERS = {
  agent: "Agent",
  caller: "Caller",
  consult_question: "Agent asked the owner's assistant",
  consult_answer: "Owner's assistant answered",
};

function renderTranscript(turns) {
  const list = $("transcript");
  const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
  list.replaceChildren(
    ...turns.map((t) =>
      el(
        "li",
        { className: `turn ${t.role}` },
        el("span", { className: "who" }, SPEAKERS[t.role] ?? "Caller"),
        el("time", {}, timeOf(t.at)),
        el("p", {}, t.text || "…", t.interrupted ? el("em", {}, " (interrupted)") : null),
      ),
    ),
  );
  $("transcript-empty").hidden = turns.length > 0;
  if (atBottom && turns.length && state.followed) list.lastElementChild.scrollIntoView({ block: "nearest" });
}

function renderHistory(history) {
  $("history").replaceChildren(
    ...history.map((h) =>
      el("li", {}, el("time", {}, timeOf(h.at)), " ", badge(h.status, `status-${h.status}`), ` ${h.source}`),
    ),
  );
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** One bar per turn, scaled to the slowest; each bar's tooltip gives the exact figure. */
function latencyChart(values) {
  const height = 80;
  const bar = 14;
  const gap = 4;
  const max = Math.max(...values, 1);
  const chart = svg("svg", {
    class: "chart",
    // A floor on the width keeps a few bars as narrow as many, at the left, instead of stretched.
    viewBox: `0 0 ${Math.max(values.length, 24) * (bar + gap)} ${height + 14}`,
    preserveAspectRatio: "xMinYMid meet",
    role: "img",
    "aria-label": `Response latency per turn, slowest ${Math.round(max)} ms`,
  });
  values.forEach((ms, i) => {
    const h = Math.max(1, (ms / max) * height);
    const rect = svg("rect", { x: i * (bar + gap), y: height - h, width: bar, height: h, rx: 2 });
    rect.append(svg("title", {}, `Turn ${i + 1}: ${Math.round(ms)} ms`));
    chart.append(rect, svg("text", { x: i * (bar + gap) + bar / 2, y: height + 12 }, String(i + 1)));
  });
  return chart;
}

const METRIC_LABELS = {
  model_connect_ms: "Model connect (ms)",
  time_to_first_audio_ms: "First audio (ms)",
  barge_ins: "Barge-ins",
  frames_in: "Frames in",
  frames_out: "Frames out",
  model_reconnects: "Model reconnects",
};

function renderMetrics(metrics) {
  const latencies = Array.isArray(metrics?.turn_latency_ms) ? metrics.turn_latency_ms.filter(Number.isFinite) : [];
  const box = $("latency");
  if (latencies.length === 0) {
    box.replaceChildren(el("p", { className: "muted" }, "No agent replies measured yet."));
  } else {
    const avg = latencies.reduce((a, b) => a + b, 0) / latencies.length;
    const summary = `${latencies.length} turns · average ${Math.round(avg)} ms · slowest ${Math.round(Math.max(...latencies))} ms`;
    box.replaceChildren(latencyChart(latencies), el("p", { className: "muted" }, summary));
  }
  const list = $("metrics");
  list.replaceChildren();
  for (const [key, label] of Object.entries(METRIC_LABELS)) {
    const value = metrics?.[key];
    if (typeof value === "number") fact(list, label, String(Math.round(value)));
  }
}

function renderReport(report) {
  $("report").hidden = !report;
  if (!report) return;
  const facts = el("dl", { className: "facts" });
  for (const [key, value] of Object.entries(report.facts ?? {})) {
    fact(facts, key, typeof value === "string" ? value : JSON.stringify(value));
  }
  $("report-body").replaceChildren(
    el("p", {}, badge(report.outcome, "outcome"), ` (${report.source})`),
    el("p", {}, report.summary),
    facts,
    el("ul", {}, ...(report.next_steps ?? []).map((step) => el("li", {}, step))),
  );
}

/** `<audio src>` cannot send the token, so the file is fetched with it and played from a blob URL. */
async function loadRecording(call) {
  if (call.active || state.recordingFor === call.call_id) return;
  state.recordingFor = call.call_id;
  dropRecording();
  try {
    const res = await api(`/api/calls/${encodeURIComponent(call.call_id)}/recording`);
    if (!res.ok || state.followed !== call.call_id) return;
    const audio = el("audio", { controls: true, preload: "metadata" });
    audio.src = URL.createObjectURL(await res.blob());
    $("player").replaceChildren(audio);
    $("recording").hidden = false;
  } catch {
    state.recordingFor = null;
  }
}

/** The blob holds the whole file in memory until its URL is revoked. */
function dropRecording() {
  const audio = $("player").querySelector("audio");
  if (audio) URL.revokeObjectURL(audio.src);
  $("player").replaceChildren();
  $("recording").hidden = true;
}

function renderCall(call) {
  state.detail = call;
  $("call-title").textContent =
    `${call.direction === "inbound" ? "From" : "To"} ${call.direction === "inbound" ? call.from_number : call.to_number}`;
  $("end-call").hidden = !call.active;
  renderFacts(call);
  renderTranscript(call.transcript);
  renderHistory(call.status_history);
  renderMetrics(call.metrics);
  renderReport(call.report);
  void loadRecording(call);
}

async function endCall() {
  const call = state.detail;
  if (!call) return;
  const button = $("end-call");
  button.disabled = true;
  $("call-error").textContent = "";
  try {
    const res = await api(`/api/calls/${encodeURIComponent(call.call_id)}/end`, { method: "POST" });
    if (!res.ok) $("call-error").textContent = await errorOf(res);
  } catch {
    // A 401 has already shown the sign-in.
  } finally {
    button.disabled = false;
  }
}

// ---- live updates: /api/stream read with fetch, since EventSource cannot send the Authorization header ----

function setLive(text, ok) {
  $("live").textContent = text;
  $("live").classList.toggle("ok", ok);
}

function onEvent(event, data, retry) {
  if (event === "calls") {
    state.calls = new Map([...data.active, ...data.recent].map((c) => [c.call_id, c]));
    state.nextCursor = data.next_cursor ?? null;
    renderLists();
  } else if (event === "call") {
    state.calls.set(data.call_id, data);
    renderLists();
  } else if (event === "detail" && data && data.call_id === state.followed) {
    renderCall(data);
  }
  return retry;
}

/** Splits the text into SSE frames, dispatches the complete ones and returns what is left over. */
function dispatchFrames(buffer, stream) {
  const frames = buffer.split("\n\n");
  const rest = frames.pop() ?? "";
  for (const frame of frames) {
    let event = "message";
    const data = [];
    for (const line of frame.split("\n")) {
      const colon = line.indexOf(":");
      if (colon === 0) continue;
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "retry" && /^\d+$/.test(value)) stream.retry = Number(value);
    }
    if (data.length) onEvent(event, JSON.parse(data.join("\n")));
  }
  return rest;
}

async function readStream(stream) {
  const query = state.followed ? `?call=${encodeURIComponent(state.followed)}` : "";
  const res = await api(`/api/stream${query}`, { signal: stream.abort.signal });
  if (!res.ok) {
    const error = await errorOf(res);
    if (state.followed) $("call-error").textContent = error;
    throw new Error(error);
  }
  setLive("live", true);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer = dispatchFrames(buffer + value.replaceAll("\r\n", "\n"), stream);
  }
}

/** One stream at a time, reopened after the server's `retry` when it drops; a 401 stops it for the sign-in. */
function connect() {
  state.stream?.abort.abort();
  const stream = { abort: new AbortController(), retry: 3000 };
  state.stream = stream;
  const again = (e) => {
    if (stream.abort.signal.aborted || e?.message === "unauthorized") return;
    setLive("reconnecting…", false);
    setTimeout(() => state.stream === stream && connect(), stream.retry);
  };
  readStream(stream).then(again, again);
}

// ---- pages ----

function show(id) {
  for (const section of ["signin", "calls", "call", "new"]) $(section).hidden = section !== id;
}

function showSignIn(message) {
  state.stream?.abort.abort();
  state.stream = null;
  setLive("signed out", false);
  show("signin");
  $("signin-error").textContent = state.token ? message : "";
  // A refused token is not worth keeping for the next reload.
  sessionStorage.removeItem(TOKEN_KEY);
  $("token").focus();
}

function clearCall() {
  $("call-title").textContent = "Loading…";
  $("call-error").textContent = "";
  $("end-call").hidden = true;
  $("report").hidden = true;
  dropRecording();
  for (const id of ["call-facts", "transcript", "history", "latency", "metrics"]) $(id).replaceChildren();
}

/** The call id a `#/calls/ID` hash names; a hash that does not decode (`%E0%A4%A`) names none: the list. */
function followedCall(hash) {
  const match = /^#\/calls\/([^/]+)$/.exec(hash);
  try {
    return match ? decodeURIComponent(match[1]) : null;
  } catch {
    return null;
  }
}

function route() {
  const followed = followedCall(location.hash);
  $("sign-out").hidden = !state.token;
  if (location.hash === "#/new") show("new");
  else show(followed ? "call" : "calls");
  if (followed !== state.followed || !state.stream) {
    state.followed = followed;
    state.detail = null;
    state.recordingFor = null;
    clearCall();
    connect();
  }
}

// ---- placing a call: the API's fields, and its error shown as it is ----

function jsonField(form, name) {
  const text = form.elements[name].value.trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`'${name}' is not valid JSON: ${e.message}`);
  }
}

function numberField(form, name) {
  const text = form.elements[name].value.trim();
  return text === "" ? undefined : Number(text);
}

function optionalFields(form) {
  const text = (name) => form.elements[name].value.trim() || undefined;
  const silence = {
    reprompt_s: numberField(form, "silence_reprompt_s"),
    hangup_s: numberField(form, "silence_hangup_s"),
  };
  const maxAttempts = numberField(form, "retry_max_attempts");
  const on = [...form.querySelectorAll("input[name=retry_on]:checked")].map((box) => box.value);
  return {
    ...placementFields(form),
    metadata: jsonField(form, "metadata"),
    report_schema: jsonField(form, "report_schema"),
    callback_url: text("callback_url"),
    notify: form.elements.notify.checked ? undefined : false,
    record: form.elements.record.checked || undefined,
    consult: form.elements.consult.checked || undefined,
    silence: Object.values(silence).some((v) => v !== undefined) ? silence : undefined,
    voicemail: text("voicemail"),
    voicemail_message: text("voicemail_message"),
    transfer_to: text("transfer_to"),
    retry:
      maxAttempts === undefined
        ? undefined
        : { max_attempts: maxAttempts, delay_s: numberField(form, "retry_delay_s"), on },
  };
}

/**
 * When and as whom: not_before from the browser's local date and time (sent as an instant), and the window with
 * its zone and the days ticked (none ticked: every day).
 */
function placementFields(form) {
  const text = (name) => form.elements[name].value.trim() || undefined;
  const local = text("not_before");
  const days = [...form.querySelectorAll("input[name=window_days]:checked")].map((box) => box.value);
  const start = text("window_start");
  const end = text("window_end");
  return {
    from: text("from"),
    voice: text("voice"),
    language: text("language"),
    not_before: local ? new Date(local).toISOString() : undefined,
    call_window:
      start || end
        ? { start, end, timezone: text("window_timezone"), days: days.length ? days : undefined }
        : undefined,
  };
}

/** Only the fields filled in are sent, so everything left empty takes the server's default. */
function callRequest(form) {
  const text = (name) => form.elements[name].value.trim() || undefined;
  const body = { to: text("to"), prompt: text("prompt"), webhook_url: text("webhook_url"), ...optionalFields(form) };
  return JSON.parse(JSON.stringify(body));
}

async function placeCall(event) {
  event.preventDefault();
  const form = event.target;
  const error = $("form-error");
  error.textContent = "";
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const res = await api("/api/call", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(callRequest(form)),
    });
    if (!res.ok) {
      error.textContent = await errorOf(res);
      return;
    }
    const created = await res.json();
    location.hash = `#/calls/${encodeURIComponent(created.call_id)}`;
  } catch (e) {
    if (e.message !== "unauthorized") error.textContent = e.message;
  } finally {
    button.disabled = false;
  }
}

function signIn(event) {
  event.preventDefault();
  state.token = $("token").value.trim();
  sessionStorage.setItem(TOKEN_KEY, state.token);
  $("signin-error").textContent = "";
  state.stream = null;
  route();
}

function signOut() {
  state.token = "";
  sessionStorage.removeItem(TOKEN_KEY);
  $("token").value = "";
  showSignIn("");
}

function start() {
  $("signin-form").addEventListener("submit", signIn);
  $("call-form").addEventListener("submit", placeCall);
  $("end-call").addEventListener("click", endCall);
  $("more-active").addEventListener("click", loadMoreActive);
  $("sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);
  setInterval(tick, 1000);
  route();
}

start();
