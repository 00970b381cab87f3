#!/usr/bin/env bash
# Prints the path of a Node binary of the given major version, installing it from the npm registry
# (the `node@N` package, whose install step fetches the `node-<os>-<arch>` package that carries the
# binary) into the git-ignored .ci-cache/ on first use.
#
#   NODE22="$(bash .ci/node.sh 22)"
set -euo pipefail
major="${1:?usage: node.sh MAJOR (for example 22)}"
cd "$(dirname "$0")/.."
prefix="$PWD/.ci-cache/node$major"
bin="$prefix/node_modules/node/bin/node"

has_major() { [ -x "$bin" ] && [ "$("$bin" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" = "$major" ]; }
if ! has_major; then
  rm -rf "$prefix"
  mkdir -p "$prefix"
  echo "node.sh: installing node@$major from the npm registry into $prefix" >&2
  npm install --no-save --no-audit --no-fund --no-package-lock --prefix "$prefix" "node@$major" >&2 ||
    { echo "node.sh: error: npm install node@$major failed" >&2; exit 1; }
  has_major || { echo "node.sh: error: node@$major gave no working Node $major binary at $bin (were install scripts blocked?)" >&2; exit 1; }
fi
echo "$bin"
