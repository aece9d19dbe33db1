// A preload for `bun --preload`: writes every module the process resolves to stderr as `LOADS <absolute path>` (and
// which module asked for it, as `IMPORTS <path> FROM <importer>`), so a test can tell which modules a command loaded,
// and `LISTENS /health` when a server starts listening with a /health route, so it can tell which of them came before.
// It changes nothing about how they load or what is served.
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

const serve = Bun.serve;
Bun.serve = ((options: Parameters<typeof serve>[0] & { routes?: Record<string, unknown> }) => {
  if (options.routes?.["/health"]) process.stderr.write("LISTENS /health\n");
  return serve(options);
}) as typeof Bun.serve;
