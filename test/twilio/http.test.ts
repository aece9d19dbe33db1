import { describe, expect, test } from "bun:test";
import { fetchHttpClient, formEncode } from "../../src/twilio/http.ts";

describe("the twilio SDK's HTTP client on fetch", () => {
  test("form bodies repeat array keys, as Twilio expects for StatusCallbackEvent", () => {
    expect(
      formEncode({ To: "+15551230001", StatusCallbackEvent: ["initiated", "completed"], Skip: undefined }).toString(),
    ).toBe("To=%2B15551230001&StatusCallbackEvent=initiated&StatusCallbackEvent=completed");
  });

  test("sends Basic auth, the form and query, and returns errors as responses for the SDK to map", async () => {
    let seen: { auth: string | null; body: string; query: string; method: string } | null = null;
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (req) => {
        seen = {
          auth: req.headers.get("authorization"),
          body: await req.text(),
          query: new URL(req.url).search,
          method: req.method,
        };
        return Response.json({ code: 21211, message: "bad", status: 400 }, { status: 400 });
      },
    });
    try {
      const res = await fetchHttpClient(5_000).request({
        method: "post",
        uri: `${server.url.href}x`,
        username: "AC1",
        password: "tok",
        params: { Page: 1 },
        data: { To: "+1" },
      });
      expect(res.statusCode).toBe(400);
      expect(JSON.parse(res.body).code).toBe(21211);
      expect(seen!).toEqual({ auth: `Basic ${btoa("AC1:tok")}`, body: "To=%2B1", query: "?Page=1", method: "POST" });
    } finally {
      await server.stop(true);
    }
  });
});
