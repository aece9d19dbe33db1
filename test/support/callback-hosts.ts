// Callback hosts for the tests and the fuzzing of the SSRF guard: spellings of addresses that are not on the
// public internet, public ones, and a resolver the tests control, so no test asks DNS on the internet.
import type { Lookup } from "../../src/events/receiver-host.ts";

/** What the test resolver answers; any other name does not resolve. */
export const TEST_NAMES: Record<string, string[]> = {
  "public.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
  "private.example.com": ["10.0.0.7"],
  "mixed.example.com": ["93.184.215.14", "127.0.0.1"],
  "mapped.example.com": ["::ffff:169.254.169.254"],
};

/** A resolver over TEST_NAMES that notes each name asked in `asked`. */
export function testLookup(asked: string[] = []): Lookup {
  return async (name) => {
    asked.push(name);
    return TEST_NAMES[name] ?? [];
  };
}

// Every one of these reaches something that is not the public internet.
export const PRIVATE_CALLBACKS = [
  "http://127.0.0.1:9/",
  "http://2130706433/",
  "http://0x7f.1/",
  "http://0x7f000001/",
  "http://0177.0.0.1/",
  "http://0177.1/",
  "http://127.1/",
  "http://127.0.0.1./",
  "http://127.255.255.254/",
  "http://localhost:8080/",
  "http://LOCALHOST./",
  "http://api.localhost/",
  "http://[::1]/",
  "http://[0:0:0:0:0:0:0:1]/",
  "http://[::]/",
  "http://0.0.0.0/",
  "http://0/",
  "http://169.254.169.254/latest/meta-data/",
  "http://[fd00:ec2::254]/",
  "http://[fc00::1]/",
  "http://[fe80::1]/",
  "http://[fec0::1]/",
  "http://10.0.0.1/",
  "http://012.1/",
  "http://172.16.0.1/",
  "http://172.31.255.255/",
  "http://192.168.1.1/",
  "http://100.64.0.1/",
  "http://100.127.255.255/",
  "http://[::ffff:127.0.0.1]/",
  "http://[::ffff:7f00:1]/",
  "http://[::ffff:8.8.8.8]/",
  "http://[0:0:0:0:0:ffff:a00:1]/",
  "http://[::127.0.0.1]/",
  "http://[64:ff9b::a00:1]/",
  "http://[64:ff9b::127.0.0.1]/",
  "http://[64:ff9b:1::1]/",
  "http://[2001:db8::1]/",
  "http://[2001::1]/",
  "http://[2002:7f00:1::]/",
  "http://[3fff::1]/",
  "http://[ff02::1]/",
  "http://[100::1]/",
  "http://224.0.0.1/",
  "http://239.255.255.250/",
  "http://255.255.255.255/",
  "http://240.0.0.1/",
  "http://192.0.0.8/",
  "http://192.0.2.1/",
  "http://192.88.99.1/",
  "http://198.18.0.1/",
  "http://198.19.255.255/",
  "http://198.51.100.1/",
  "http://203.0.113.1/",
  "http://metadata.google.internal/computeMetadata/v1/",
  "http://metadata/",
  "http://intranet/",
  "http://router.lan/",
  "http://printer.local/",
  "http://host.home.arpa/",
  "http://1.0.0.127.in-addr.arpa/",
  "http://private.example.com/",
  "http://mixed.example.com/",
  "http://mapped.example.com/",
  "http://nowhere.example.com/",
];

/** Public receivers, literal or resolved through TEST_NAMES. */
export const PUBLIC_CALLBACKS = [
  "http://93.184.215.14/hooks",
  "https://8.8.8.8:8443/",
  "http://1.1.1.1./",
  "http://172.32.0.1/",
  "http://100.128.0.1/",
  "http://[2606:4700:4700::1111]/",
  "http://[64:ff9b::5db8:d70e]/",
  "http://[64:ff9b::93.184.215.14]/",
  "https://public.example.com/hooks",
  "https://PUBLIC.example.com./hooks",
];
