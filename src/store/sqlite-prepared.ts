// Statements prepared on first use. The store names some fifty; preparing them all at open put ~1 ms of
// SQLite's parser before the server's first /health (bench/RESULTS.md, issue 28), and a start-up runs a few.
type Makers = Record<string, () => unknown>;

/** An object whose properties are the makers' results, each made on its first read and kept. */
export function prepared<M extends Makers>(makers: M): { readonly [K in keyof M]: ReturnType<M[K]> } {
  const statements = {};
  for (const [name, make] of Object.entries(makers)) {
    let made: unknown;
    Object.defineProperty(statements, name, { get: () => (made ??= make()), enumerable: true });
  }
  return statements as { readonly [K in keyof M]: ReturnType<M[K]> };
}
