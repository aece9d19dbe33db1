#!/usr/bin/env bash
# Installs the real OpenClaw CLI and the Node it needs (both from the npm registry) into $1, once, and
# prints the two variables test/openclaw-cli.test.ts reads. Kept out of package.json: it is ~650 MB.
set -euo pipefail
dir=${1:?usage: openclaw-cli.sh DIR}
OPENCLAW_VERSION=2026.9.6
NODE_VERSION=24.21.0
if [ ! -x "$dir/node/node_modules/.bin/node" ] || [ ! -f "$dir/openclaw/node_modules/openclaw/openclaw.mjs" ]; then
  mkdir -p "$dir/node" "$dir/openclaw"
  (cd "$dir/node" && npm init -y >/dev/null && npm install "node@$NODE_VERSION" --no-audit --no-fund >/dev/null)
  (cd "$dir/openclaw" && npm init -y >/dev/null &&
    PATH="$dir/node/node_modules/.bin:$PATH" npm install "openclaw@$OPENCLAW_VERSION" --no-audit --no-fund >/dev/null 2>&1)
fi
echo "OPENCLAW_NODE=$(readlink -f "$dir/node/node_modules/.bin/node")"
echo "OPENCLAW_CLI=$dir/openclaw/node_modules/openclaw/openclaw.mjs"
