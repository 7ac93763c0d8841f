#!/usr/bin/env bash
# Runs the same test suite on Node 22 (the oldest supported line), with a Node binary from the npm
# registry's `node` package, installed outside the project's dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=".cache/node22"
if [ ! -x "$prefix/node_modules/node/bin/node" ]; then
  npm install --silent --no-save --no-package-lock --prefix "$prefix" node@22 >/dev/null
fi
node22="$(cd "$prefix/node_modules/node/bin" && pwd)/node"
echo "Node 22 binary: $("$node22" --version)"
# vitest starts its workers with the Node that runs it, so the whole suite runs on Node 22.
PATH="$(dirname "$node22"):$PATH" "$node22" node_modules/vitest/vitest.mjs run "$@"

# The built package loads on Node 22 too (CJS require() of ESM dependencies differs by version).
if [ -f dist/index.js ]; then
  "$node22" scripts/smoke-dist.mjs
  "$node22" scripts/smoke-dist.cjs
fi
