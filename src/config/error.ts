// A setting that cannot work, found reading the config or using it. Its own module so the command line can
// recognise one without loading the config schema (a command like `--version` never reads the config).
export class ConfigError extends Error {}
