#!/usr/bin/env bash
# `npm run setup:pkcs11`: puts pkcs11js, with its addon built, into node_modules for the pkcs11
# tier. It is no dev dependency (its install builds C++, and `npm ci` and `npm test` must need no
# compiler), and npm will not add a package the root names as a peer dependency with --no-save,
# so it is installed in a folder of its own and copied in. It has no dependencies of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
version=2.1.7
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
echo '{"private":true}' > "$dir/package.json"
npm install --prefix "$dir" --no-package-lock --no-audit --no-fund "pkcs11js@$version"
test -f "$dir/node_modules/pkcs11js/build/Release/pkcs11.node" || { echo "pkcs11js: its addon did not build (it needs a C++ compiler, make and Python 3)" >&2; exit 1; }
rm -rf node_modules/pkcs11js
cp -R "$dir/node_modules/pkcs11js" node_modules/pkcs11js
echo "pkcs11js $version is in node_modules (a later npm ci or npm install removes it)"
