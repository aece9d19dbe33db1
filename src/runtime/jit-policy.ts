// The compiled binary starts with JavaScriptCore's JIT held back (package.json's build: --compile-jit-policy), so
// code that runs once on the way to the first /health stays in the interpreter instead of being compiled for nothing
// (bench/RESULTS.md). A process that goes on to carry calls puts the JIT back to its normal policy once it has started.
// Run from source (bun src/main.ts, the tests, the load bench) the policy never changed, and is left alone.
export function startupOver(): void {
  if (Bun.isStandaloneExecutable) Bun.unsafe.setJITPolicy(1);
}
