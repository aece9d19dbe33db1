// The systemd deployment: deploy/agenticai.service checked by systemd's own tools, and deploy/install.sh run
// into a temporary root (never the real one), twice, as an operator upgrading would. Then the two-instance
// example in deploy/cluster, read as files (no Docker here).
import { afterAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { ENV_OVERRIDES } from "../src/config/env.ts";
import { loadConfig } from "../src/config/load.ts";

const repo = resolve(import.meta.dir, "..");
const unitPath = join(repo, "deploy/agenticai.service");
const envExamplePath = join(repo, "deploy/agenticai.env.example");
const installSh = join(repo, "deploy/install.sh");

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "agenticai-deploy-"));
  temps.push(dir);
  return dir;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function run(cmd: string[], env: Record<string, string> = {}): Run {
  const r = Bun.spawnSync(cmd, { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, stdin: "ignore" });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** A stand-in for dist/agenticai: the installer only copies it, and building the real one takes a while. */
function fakeBinary(dir: string, version = "0.1.0"): string {
  const path = join(dir, "agenticai");
  writeFileSync(path, `#!/bin/sh\necho ${version}\n`);
  chmodSync(path, 0o755);
  return path;
}

function install(root: string, binary: string, ...args: string[]): Run {
  return run(["bash", installSh, "--root", root, ...args, binary]);
}

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

/** The [Service] section as key → values (a key may repeat, as SystemCallFilter does). */
function serviceSection(): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let section = "";
  for (const line of readFileSync(unitPath, "utf8").split("\n")) {
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) section = header[1]!;
    const kv = /^(\w+)=(.*)$/.exec(line);
    if (section === "Service" && kv) keys.set(kv[1]!, [...(keys.get(kv[1]!) ?? []), kv[2]!]);
  }
  return keys;
}
const one = (keys: Map<string, string[]>, key: string) => keys.get(key)?.at(-1);

describe("deploy/agenticai.service", () => {
  test("gives a shutdown the whole drain plus time for the goodbyes and hang-ups", () => {
    const { drain_s } = loadConfig({ path: join(repo, "config.yaml"), env: {} }).shutdown;
    const stop = /^(\d+)s?$/.exec(one(serviceSection(), "TimeoutStopSec") ?? "");
    expect(stop).not.toBeNull();
    // The README's rule: more than drain_s plus ~15 s (a goodbye, then Twilio's hang-up, each may be slow).
    expect(Number(stop![1])).toBeGreaterThanOrEqual(drain_s + 15);
    expect(one(serviceSection(), "KillSignal")).toBe("SIGTERM");
  });

  test("keeps the data in its state directory, the secrets in the env file, and the JIT allowed", () => {
    const keys = serviceSection();
    expect(one(keys, "StateDirectory")).toBe("agenticai");
    expect(keys.get("Environment")).toContain("AGENTICAI_DATA_DIR=%S/agenticai");
    expect(keys.get("Environment")).toContain("AGENTICAI_CONFIG=/etc/agenticai/config.yaml");
    expect(one(keys, "EnvironmentFile")).toBe("/etc/agenticai/agenticai.env");
    expect(one(keys, "CapabilityBoundingSet")).toBe("");
    expect(one(keys, "Restart")).toBe("on-failure");
    // Bun's JIT needs writable-then-executable memory.
    expect(keys.has("MemoryDenyWriteExecute")).toBe(false);
  });

  test("the example env file names only variables the server reads, in a form systemd reads as meant", () => {
    const known = new Set(ENV_OVERRIDES.map(([name]) => name));
    const lines = readFileSync(envExamplePath, "utf8").split("\n");
    const names = lines.flatMap((l) => /^([A-Z0-9_]+)=/.exec(l)?.[1] ?? []);
    expect(names.filter((n) => !known.has(n))).toEqual([]);
    for (const secret of ["TWILIO_AUTH_TOKEN", "OPENAI_API_KEY", "AGENTICAI_API_TOKEN"])
      expect(names).toContain(secret);
    // systemd keeps a trailing "# …" as part of the value and knows no `export`.
    expect(lines.filter((l) => /^\w+=.*\s#/.test(l) || /^\s*export\s/.test(l))).toEqual([]);
  });
});

// .ci/run installs Debian's systemd where systemd-analyze is missing, so CI always runs these.
const analyze = Bun.which("systemd-analyze");
const unitLibrary = ["/usr/lib/systemd/system", "/lib/systemd/system"].find((d) =>
  existsSync(join(d, "sysinit.target")),
);
// Outside CI a machine without systemd skips them and says so; in CI a missing tool is a failure.
const skipAnalyze = (!analyze || !unitLibrary) && !process.env.CI;
if (skipAnalyze)
  console.warn("skipping systemd-analyze checks: systemd-analyze is not installed (apt-get install systemd)");

describe.skipIf(skipAnalyze)("systemd-analyze", () => {
  test("is installed, with systemd's own units", () => {
    expect(analyze, "systemd-analyze is missing: apt-get install systemd").not.toBeNull();
    expect(unitLibrary, "no sysinit.target under /usr/lib/systemd/system").toBeDefined();
  });

  /**
   * An installed tree that verify reads through --root: the unit where install.sh puts it, the binary it names
   * (verify checks that ExecStart is executable), and systemd's own units, which the default dependencies
   * (sysinit.target, …) and network-online.target are looked up in.
   */
  function installedRoot(): string {
    const root = tempDir();
    expect(install(root, fakeBinary(tempDir())).code).toBe(0);
    cpSync(unitLibrary!, join(root, "usr/lib/systemd/system"), { recursive: true });
    return root;
  }
  const verify = (root: string) =>
    run([analyze!, "verify", `--root=${root}`, join(root, "etc/systemd/system/agenticai.service")]);

  test("verify passes on the installed unit, without a single warning", () => {
    const r = verify(installedRoot());
    // verify exits 0 on an unknown key or a value it cannot parse, and only warns: stderr has to be empty too.
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  test("verify would catch a bad setting or a missing binary (so the check above means something)", () => {
    const root = installedRoot();
    const unit = join(root, "etc/systemd/system/agenticai.service");
    writeFileSync(unit, readFileSync(unit, "utf8").replace("ProtectProc=invisible", "ProtectProc=hidden"));
    expect(verify(root).stderr).toContain("ignoring: hidden");
    rmSync(join(root, "usr/local/bin/agenticai"));
    const r = verify(root);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("/usr/local/bin/agenticai");
  });

  test("security rates the sandbox's exposure at 2.0 or below (1.2 when written)", () => {
    const r = run([analyze!, "security", "--offline=yes", "--no-pager", unitPath]);
    const exposure = /Overall exposure level for agenticai\.service: ([\d.]+)/.exec(r.stdout);
    expect(exposure, r.stdout + r.stderr).not.toBeNull();
    expect(Number(exposure![1])).toBeLessThanOrEqual(2);
  });
});

describe("deploy/install.sh into a temporary root", () => {
  test("installs each file with its mode, then a second run changes nothing and says so", () => {
    const root = tempDir();
    const binary = fakeBinary(tempDir());
    const first = install(root, binary);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    // No systemd manages a temporary root.
    expect(first.stdout).toContain("skipped   systemctl daemon-reload");

    const files = {
      "usr/local/bin/agenticai": [binary, "755"],
      "etc/systemd/system/agenticai.service": [unitPath, "644"],
      "etc/agenticai/agenticai.env": [envExamplePath, "600"],
      "etc/agenticai/config.yaml": [join(repo, "config.yaml"), "644"],
    } as const;
    for (const [path, [source, wanted]] of Object.entries(files)) {
      expect(readFileSync(join(root, path), "utf8"), path).toBe(readFileSync(source, "utf8"));
      expect(mode(join(root, path)), path).toBe(wanted);
    }
    // The service's user has to reach config.yaml in there.
    expect(mode(join(root, "etc/agenticai"))).toBe("755");

    const mtimes = Object.keys(files).map((p) => statSync(join(root, p)).mtimeMs);
    const second = install(root, binary);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("Nothing to change");
    expect(second.stdout).not.toContain("daemon-reload");
    expect(Object.keys(files).map((p) => statSync(join(root, p)).mtimeMs)).toEqual(mtimes);
  });

  test("never touches an existing env file or config, but upgrades the binary", () => {
    const root = tempDir();
    const envFile = join(root, "etc/agenticai/agenticai.env");
    const configFile = join(root, "etc/agenticai/config.yaml");
    mkdirSync(join(root, "etc/agenticai"), { recursive: true });
    writeFileSync(envFile, "TWILIO_AUTH_TOKEN=the-operators-secret\n", { mode: 0o640 });
    writeFileSync(configFile, "shutdown:\n  drain_s: 10\n", { mode: 0o600 });

    const first = install(root, fakeBinary(tempDir(), "0.1.0"));
    expect(first.code).toBe(0);
    expect(readFileSync(envFile, "utf8")).toBe("TWILIO_AUTH_TOKEN=the-operators-secret\n");
    expect(readFileSync(configFile, "utf8")).toBe("shutdown:\n  drain_s: 10\n");
    expect([mode(envFile), mode(configFile)]).toEqual(["640", "600"]);
    // Secrets readable by a group are pointed out, not fixed behind the operator's back.
    expect(first.stderr).toContain("chmod 600");

    const upgrade = install(root, fakeBinary(tempDir(), "0.2.0"));
    expect(upgrade.code).toBe(0);
    expect(upgrade.stdout).toContain("install   /usr/local/bin/agenticai");
    expect(upgrade.stdout).toContain("Installed (1 change(s))");
    expect(readFileSync(join(root, "usr/local/bin/agenticai"), "utf8")).toContain("0.2.0");
    expect(readFileSync(envFile, "utf8")).toBe("TWILIO_AUTH_TOKEN=the-operators-secret\n");
  });

  test("--dry-run and a missing binary leave the root as it was", () => {
    const root = tempDir();
    const dry = run(["bash", installSh, "--dry-run", fakeBinary(tempDir())], { DESTDIR: root });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("would: install   /etc/agenticai/agenticai.env (mode 0600)");
    expect(dry.stdout).toContain("nothing was changed");
    expect(existsSync(join(root, "etc"))).toBe(false);

    const missing = install(root, join(root, "no-such-binary"));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("npm run build");
    expect(existsSync(join(root, "etc"))).toBe(false);
  });
});

describe("deploy/cluster: two instances on one PostgreSQL", () => {
  const cluster = join(repo, "deploy/cluster");
  const read = (name: string) => readFileSync(join(cluster, name), "utf8");
  // Compose reads `<<:` merge keys, which YAML 1.2 left out: the instances share one definition through them.
  const services = () => parse(read("compose.yaml"), { merge: true }).services as Record<string, any>;
  const instances = ["agenticai-a", "agenticai-b"];

  test("both instances use the same database, drain before being killed, and sit behind Caddy and nginx", () => {
    const all = services();
    const urls = instances.map((name) => all[name]?.environment?.DATABASE_URL as string);
    expect(urls[0]).toStartWith("postgres://");
    expect(urls[1]).toBe(urls[0]!);
    expect(all).toHaveProperty(new URL(urls[0]!).hostname);
    const { drain_s } = loadConfig({ path: join(repo, "config.yaml"), env: {} }).shutdown;
    for (const name of instances) {
      const grace = /^(\d+)s$/.exec(all[name].stop_grace_period ?? "");
      expect(grace, name).not.toBeNull();
      expect(Number(grace![1])).toBeGreaterThanOrEqual(drain_s + 15);
    }
    // Each load balancer has to name every instance, at the port the image listens on.
    for (const config of [read("Caddyfile"), read("nginx.conf")])
      for (const name of instances) expect(config).toContain(`${name}:8080`);
  });

  test("the example env file and compose.yaml name only variables the server reads, besides compose's own", () => {
    const known = new Set(ENV_OVERRIDES.map(([name]) => name));
    const envNames = read("agenticai.env.example").match(/^[A-Z0-9_]+(?==)/gm) ?? [];
    const composeOnly = ["PUBLIC_HOST", "POSTGRES_PASSWORD"];
    expect(envNames.filter((n) => !known.has(n) && !composeOnly.includes(n))).toEqual([]);
    for (const name of instances)
      expect(Object.keys(services()[name].environment).filter((n) => !known.has(n))).toEqual([]);
  });
});
