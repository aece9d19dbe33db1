// Twilio's REST transport on Bun's fetch: Basic auth, a form body, a timeout, and the answer handed back whole for
// rest.ts to read. fetch keeps connections alive natively.
type Params = Record<string, unknown> | undefined;

export interface RestRequest {
  method: string;
  uri: string;
  username?: string;
  password?: string;
  headers?: Record<string, string>;
  params?: Params;
  data?: Params;
}

export interface RestResponse {
  statusCode: number;
  body: string;
}

/** Form encoding as Twilio takes it: arrays as repeated keys (StatusCallbackEvent), absent values left out. */
export function formEncode(data: Params): URLSearchParams {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(data ?? {})) {
    if (value === undefined || value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) form.append(key, String(v));
  }
  return form;
}

export function fetchHttpClient(timeoutMs: number) {
  return {
    async request(opts: RestRequest): Promise<RestResponse> {
      const url = new URL(opts.uri);
      for (const [k, v] of formEncode(opts.params)) url.searchParams.append(k, v);
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.username) headers.Authorization = `Basic ${btoa(`${opts.username}:${opts.password ?? ""}`)}`;
      const method = opts.method.toUpperCase();
      const res = await fetch(url, {
        method,
        headers,
        body: opts.data && method !== "GET" ? formEncode(opts.data) : undefined,
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
      return { statusCode: res.status, body: await res.text() };
    },
  };
}
