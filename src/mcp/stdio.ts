// `agenticai mcp`: the same tools over stdio, for clients that start a command (Claude Desktop, Claude Code). It
// holds no calls itself: each tool call is forwarded to a running server's POST /mcp, which runs it, and the
// answer and the progress notifications come back as they are. Nothing but MCP is written to stdout.
import type { Logger } from "../log.ts";
import { VERSION } from "../version.ts";
import { createMcpServer, type ToolContext, type ToolHandlers } from "./server.ts";
import { MAX_WAIT_S, TOOL_NAMES, type ToolName, type ToolResult } from "./tools.ts";

export interface StdioOptions {
  /** The server's origin (a path prefix is kept), e.g. http://127.0.0.1:8080. */
  url: string;
  token: string | undefined;
  log: Logger;
}

/** A forwarded tool may wait up to MAX_WAIT_S on the server; the request is given a minute more. */
const FORWARD_TIMEOUT_MS = (MAX_WAIT_S + 60) * 1000;

/** The server's /mcp, appended rather than resolved so that a server behind a proxy path prefix keeps it. */
export const mcpEndpoint = (origin: string) => new URL(`${origin.replace(/\/+$/, "")}/mcp`);

/**
 * One tool call on its own connection: the server runs each request statelessly, and closing the connection is
 * how a client that gave up (cancelled the call) stops a wait there.
 */
async function forward(opts: StdioOptions, name: ToolName, args: Record<string, unknown>, tool: ToolContext) {
  const [{ Client }, { StreamableHTTPClientTransport }] = await Promise.all([
    import("@modelcontextprotocol/sdk/client/index.js"),
    import("@modelcontextprotocol/sdk/client/streamableHttp.js"),
  ]);
  const headers: Record<string, string> = opts.token ? { Authorization: `Bearer ${opts.token}` } : {};
  const client = new Client({ name: "agenticai-mcp-stdio", version: VERSION });
  const close = () => client.close().catch(() => {});
  tool.signal.addEventListener("abort", close, { once: true });
  try {
    await client.connect(new StreamableHTTPClientTransport(mcpEndpoint(opts.url), { requestInit: { headers } }));
    const progress = tool.progress;
    const result = await client.callTool({ name, arguments: args }, undefined, {
      timeout: FORWARD_TIMEOUT_MS,
      onprogress: progress ? (p) => progress(p.message ?? `${p.progress}`) : undefined,
    });
    return result as ToolResult;
  } finally {
    tool.signal.removeEventListener("abort", close);
    await close();
  }
}

/** The API's own error when the server refused the request (a wrong token, a rate limit), else the transport's. */
function serverError(message: string): string {
  const body = /\{.*\}$/s.exec(message)?.[0];
  try {
    const error = body ? (JSON.parse(body) as { error?: unknown }).error : undefined;
    if (typeof error === "string") return error;
  } catch {
    // Not the API's answer: the transport's message says what happened.
  }
  return message;
}

/** What a forwarded call that got no result tells the client: which server, and why. */
function describeFailure(opts: StdioOptions) {
  return (e: unknown): string => {
    const message = serverError(e instanceof Error ? e.message : String(e));
    opts.log.error("forwarding an MCP tool call failed", { url: opts.url, error: message });
    return `The agenticai server at ${opts.url} gave no result: ${message}`;
  };
}

/** Serves MCP on stdin/stdout until stdin closes. */
export async function serveStdio(opts: StdioOptions): Promise<void> {
  const { StdioServerTransport } = await import("@modelcontextprotocol/sdk/server/stdio.js");
  const handlers = Object.fromEntries(
    TOOL_NAMES.map((name) => [
      name,
      (args: Record<string, unknown>, tool: ToolContext) => forward(opts, name, args, tool),
    ]),
  ) as ToolHandlers;
  const server = await createMcpServer(handlers, describeFailure(opts));
  const closed = new Promise<void>((resolve) => {
    server.onclose = resolve;
  });
  await server.connect(new StdioServerTransport());
  // The client ends the session by closing our stdin; the SDK's transport does not watch for that itself.
  process.stdin.once("end", () => server.close().catch(() => {}));
  opts.log.info("agenticai MCP over stdio: forwarding tools to the server", { url: opts.url });
  await closed;
}
