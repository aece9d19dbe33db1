// Client commands: thin wrappers over the HTTP API of a running server, for people (default) and scripts (--json).

export interface ClientOptions {
  serverUrl: string;
  token?: string;
  json: boolean;
  out: (line: string) => void;
}

export class CliError extends Error {}

async function request(
  opts: ClientOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    // Appended, not resolved, so a server behind a proxy path prefix keeps its prefix.
    res = await fetch(opts.serverUrl.replace(/\/+$/, "") + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new CliError(
      `cannot reach the agenticai server at ${opts.serverUrl}: ${(e as Error).message} (is it running? see --server-url)`,
    );
  }
  const data = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok || data.success === false) {
    throw new CliError(typeof data.error === "string" ? data.error : `server answered HTTP ${res.status}`);
  }
  return data;
}

const show = (opts: ClientOptions, data: unknown, human: () => string) =>
  opts.out(opts.json ? JSON.stringify(data, null, 2) : human());

export async function placeCall(opts: ClientOptions, body: { to: string } & Record<string, unknown>) {
  const data = await request(opts, "POST", "/api/call", body);
  show(opts, data, () =>
    data.scheduled_for
      ? `Scheduled a call to ${data.to} for ${data.scheduled_for}: call_id ${data.call_id} (webhooks at ${data.webhook_url})`
      : `Calling ${data.to}: call_id ${data.call_id} (webhooks at ${data.webhook_url})`,
  );
}

type Summary = {
  call_id: string;
  to_number: string;
  from_number: string | null;
  status: string;
  direction: string;
  created_at: string;
  scheduled_for: string | null;
};

/**
 * Every active call: GET /api/calls page by page, following next_cursor to the last (calls.max_concurrent and
 * calls.max_waiting bound how many there can be).
 */
async function allActiveCalls(opts: ClientOptions, scheduled: boolean): Promise<Summary[]> {
  const calls: Summary[] = [];
  let cursor: string | null = null;
  const only = scheduled ? "&status=scheduled" : "";
  do {
    const after: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const page = await request(opts, "GET", `/api/calls?limit=200${only}${after}`);
    calls.push(...(page.calls as Summary[]));
    cursor = typeof page.next_cursor === "string" ? page.next_cursor : null;
  } while (cursor);
  return calls;
}

/**
 * Prints every active call (`scheduled`: those placed for later, with when each is due), with `count` the number of
 * them all (the API's count is one page's).
 */
export async function listCalls(opts: ClientOptions, scheduled = false) {
  const calls = await allActiveCalls(opts, scheduled);
  const data = { calls, count: calls.length };
  show(opts, data, () => {
    if (!calls.length) return scheduled ? "No scheduled calls." : "No active calls.";
    const number = (c: Summary) => (c.direction === "inbound" ? (c.from_number ?? "") : c.to_number);
    if (scheduled) {
      const rows = calls.map((c) => [c.call_id, number(c), c.from_number ?? "", c.scheduled_for ?? ""]);
      return formatTable([["CALL ID", "NUMBER", "FROM", "SCHEDULED FOR"], ...rows]);
    }
    const rows = calls.map((c) => [c.call_id, c.direction, number(c), c.status, c.created_at]);
    return formatTable([["CALL ID", "DIRECTION", "NUMBER", "STATUS", "STARTED"], ...rows]);
  });
}

export async function showCall(opts: ClientOptions, id: string) {
  const data = await request(opts, "GET", `/api/calls/${encodeURIComponent(id)}`);
  show(opts, data, () => {
    const history = (data.status_history as { status: string; at: string }[]).map((h) => `  ${h.at}  ${h.status}`);
    const lines = [
      `call ${data.call_id} (${data.direction}) ${data.from_number ?? "?"} → ${data.to_number}`,
      `status: ${data.status}${data.active ? " (active)" : ""}${data.end_reason ? `, ended: ${data.end_reason}` : ""}`,
    ];
    if (data.scheduled_for) lines.push(`scheduled for: ${data.scheduled_for}`);
    if (data.duration_s !== null) lines.push(`duration: ${data.duration_s} s`);
    if (data.cost) lines.push(`cost: ${costLine(data.cost as Cost)}`);
    if (data.error) lines.push(`error: ${data.error}`);
    if (data.report) lines.push(...reportLines(data.report as Report));
    return [...lines, "history:", ...history].join("\n");
  });
}

type Cost = { total: number; telephony: number; model: number; estimated: boolean };

const costLine = (c: Cost) =>
  `$${c.total.toFixed(4)} (telephony $${c.telephony.toFixed(4)}, model $${c.model.toFixed(4)}${c.estimated ? ", estimated" : ""})`;

type Report = {
  outcome: string;
  source: string;
  summary: string;
  facts: Record<string, unknown>;
  next_steps: string[];
};

function reportLines(report: Report): string[] {
  const lines = [`report: ${report.outcome} (${report.source})`, `  summary: ${report.summary}`];
  const facts = Object.entries(report.facts);
  if (facts.length) lines.push("  facts:");
  for (const [key, value] of facts)
    lines.push(`    ${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
  if (report.next_steps.length) lines.push("  next steps:");
  for (const step of report.next_steps) lines.push(`    - ${step}`);
  return lines;
}

export async function endCall(opts: ClientOptions, id: string) {
  const data = await request(opts, "POST", `/api/calls/${encodeURIComponent(id)}/end`);
  show(opts, data, () => String(data.message));
}

export async function serverStatus(opts: ClientOptions) {
  const data = await request(opts, "GET", "/health");
  show(
    opts,
    data,
    () =>
      `${data.status}: ${data.active_calls} active call(s), version ${data.version}, up ${data.uptime_s} s (${opts.serverUrl})`,
  );
}

type OutboxEvent = {
  id: number;
  type: string;
  receiver: string;
  status: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
};

/** What the last attempt got: the receiver's status, or why there was none; "–" before the first. */
const lastAttempt = (e: OutboxEvent) => e.last_error ?? (e.last_status === null ? "–" : `HTTP ${e.last_status}`);

export async function listEvents(opts: ClientOptions, status?: string) {
  const query = status === undefined ? "" : `?status=${encodeURIComponent(status)}`;
  const data = await request(opts, "GET", `/api/events${query}`);
  show(opts, data, () => {
    const events = data.events as OutboxEvent[];
    if (!events.length) return status === undefined ? "No events." : `No ${status} events.`;
    const rows = events.map((e) => [String(e.id), e.type, e.receiver, e.status, String(e.attempts), lastAttempt(e)]);
    return formatTable([["ID", "TYPE", "RECEIVER", "STATUS", "ATTEMPTS", "LAST"], ...rows]);
  });
}

export async function retryEvent(opts: ClientOptions, id: string) {
  const data = await request(opts, "POST", `/api/events/${encodeURIComponent(id)}/retry`);
  const event = data.event as OutboxEvent;
  show(opts, data, () => `Event ${event.id} (${event.type} to ${event.receiver}) queued to be sent again`);
}

function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
