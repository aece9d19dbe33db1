// A preload for `bun --preload`: writes every module the process resolves to stderr as `LOADS <absolute path>`, so a
// test can tell which modules a command loaded. It changes nothing about how they load.
import { isAbsolute, resolve } from "node:path";

Bun.plugin({
  name: "record-loads",
  setup(build) {
    build.onResolve({ filter: /.*/ }, ({ path, importer }) => {
      const at = isAbsolute(path) || !path.startsWith(".") ? path : resolve(importer, "..", path);
      process.stderr.write(`LOADS ${at}\n`);
      return undefined;
    });
  },
});
