// Which addresses a call's callback_url may reach, without a network: the special-purpose registries in every
// spelling the URL parser accepts, and names through a resolver the test controls.
import { describe, expect, test } from "bun:test";
import { isPublicAddress, parseIPv4, parseIPv6 } from "../../src/events/addresses.ts";
import { pinnedRoute, publicAddresses } from "../../src/events/receiver-host.ts";
import { PRIVATE_CALLBACKS, PUBLIC_CALLBACKS, testLookup } from "../support/callback-hosts.ts";

const asked: string[] = [];
const lookup = testLookup(asked);
const allowed = async (url: string) => (await publicAddresses(new URL(url), lookup)) !== null;

describe("a callback_url's host", () => {
  test.each(PRIVATE_CALLBACKS)("%s is refused", async (url) => {
    expect(await allowed(url)).toBe(false);
  });

  test.each(PUBLIC_CALLBACKS)("%s is allowed", async (url) => {
    expect(await allowed(url)).toBe(true);
  });

  test("names private by convention are refused without asking DNS; others are resolved, every address checked", async () => {
    asked.length = 0;
    for (const url of PRIVATE_CALLBACKS) await allowed(url);
    expect(asked.sort()).toEqual([
      "mapped.example.com",
      "mixed.example.com",
      "nowhere.example.com",
      "private.example.com",
    ]);
  });
});

describe("parsing addresses", () => {
  test("IPv4 is a dotted quad and nothing else", () => {
    expect(parseIPv4("192.168.1.1")).toBe(0xc0a80101n);
    for (const bad of ["1.2.3", "1.2.3.256", "1.2.3.4.5", "01.2.3.4x", "", "::1"]) expect(parseIPv4(bad)).toBeNull();
  });

  test("IPv6 in every RFC 4291 form", () => {
    expect(parseIPv6("::")).toBe(0n);
    expect(parseIPv6("::1")).toBe(1n);
    expect(parseIPv6("1::")).toBe(1n << 112n);
    expect(parseIPv6("::ffff:1.2.3.4")).toBe((0xffffn << 32n) | 0x01020304n);
    expect(parseIPv6("2001:DB8:0:0:0:0:0:1")).toBe(parseIPv6("2001:db8::1"));
    for (const bad of [
      ":",
      ":::",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "12345::",
      "::1.2.3",
      "g::1",
      "1::2:",
    ]) {
      expect(parseIPv6(bad)).toBeNull();
    }
  });

  test("anything that is not an address is not public", () => {
    for (const text of ["", "example.com", "[::1", "1.2.3.4/8", "[1.2.3.4]"]) expect(isPublicAddress(text)).toBe(false);
  });
});

describe("the route a delivery takes", () => {
  test("a name is swapped for its first checked address, kept in Host and as the TLS server name", async () => {
    const route = await pinnedRoute("https://public.example.com:8443/hooks?x=1", lookup, false);
    expect(route).toEqual({
      url: "https://93.184.215.14:8443/hooks?x=1",
      headers: { Host: "public.example.com:8443" },
      tls: { serverName: "public.example.com" },
    });
    const six = await pinnedRoute("http://public.example.com/", async () => ["2606:4700::1"], false);
    expect(six).toEqual({ url: "http://[2606:4700::1]/", headers: { Host: "public.example.com" } });
  });

  test("a private, unresolvable or mixed host gets no route, unless private networks are allowed", async () => {
    for (const url of ["http://private.example.com/", "http://mixed.example.com/", "http://nowhere.example.com/"]) {
      expect(await pinnedRoute(url, lookup, false)).toBeNull();
    }
    expect(await pinnedRoute("http://127.0.0.1:9/x", lookup, false)).toBeNull();
    expect(await pinnedRoute("http://127.0.0.1:9/x", lookup, true)).toEqual({
      url: "http://127.0.0.1:9/x",
      headers: {},
    });
    expect(await pinnedRoute("http://private.example.com:81/", lookup, true)).toEqual({
      url: "http://10.0.0.7:81/",
      headers: { Host: "private.example.com:81" },
    });
    expect(await pinnedRoute("http://nowhere.example.com/", lookup, true)).toBeNull();
  });
});
