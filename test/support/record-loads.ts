// A preload for `bun --preload`: writes every module the process resolves to stderr as `LOADS <absolute path>` (and
// which module asked for it, as `IMPORTS <path> FROM <importer>`), so a test can tell which modules a command loaded,
// and `ANSWERS /health` when a server first answers GET /health, so it can tell which of them came before that answer.
// It changes nothing about how they load or what is answered.
import { isAbsolute, resolve } from "node:path";

Bun.plugin({
  name: "record-loads",
  setup(build) {
    build.onResolve({ filter: /.*/ }, ({ path, importer }) => {
      const at = isAbsolute(path) || !path.startsWith(".") ? path : resolve(importer, "..", path);
      process.stderr.write(`LOADS ${at}\nIMPORTS ${at} FROM ${importer}\n`);
      return undefined;
    });
  },
});

type Get = (...args: unknown[]) => Promise<Response> | Response;
const serve = Bun.serve;
Bun.serve = ((options: { routes?: Record<string, { GET?: Get }> }) => {
  const health = options.routes?.["/health"];
  const get = health?.GET;
  if (health && get) {
    let told = false;
    health.GET = async (...args) => {
      const response = await get(...args);
      if (!told) process.stderr.write("ANSWERS /health\n");
      told = true;
      return response;
    };
  }
  return serve(options as Parameters<typeof serve>[0]);
}) as typeof Bun.serve;
