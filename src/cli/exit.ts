// How the command line gives up: a message on stderr and an exit code (2 for a usage mistake).

export const EXIT_USAGE = 2;

export const fail = (message: string, code = 1): never => {
  process.stderr.write(`agenticai: ${message}\n`);
  process.exit(code);
};
