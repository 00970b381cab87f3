#!/usr/bin/env bash
# Runs the whole jest suite in FIPS mode: OpenSSL's FIPS provider and base provider only, every
# algorithm fetched with fips=yes (see .ci/fips/build-provider.sh, which this runs first; cached).
#
#   bash .ci/fips/test.sh [jest arguments...]        # as root the first time (apt-get)
#   NODE=/path/to/node bash .ci/fips/test.sh         # another Node (its OpenSSL must be 3.x)
#
# The configuration reaches every process through the environment: jest's workers and the
# processes the tests start inherit OPENSSL_CONF and OPENSSL_MODULES. REQUEST_CRYPTO_EXPECT_FIPS=1
# makes test/fips-setup.ts fail any test file whose process is not in FIPS mode.
# The suite runs the built lib/ in places; `npm run build` makes it (done here only if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
node_bin="${NODE:-$(command -v node)}"

bash .ci/fips/build-provider.sh
# shellcheck source=/dev/null
source .fips/env.sh
export REQUEST_CRYPTO_EXPECT_FIPS=1

[ -f lib/index.js ] || npm run build
echo "fips: $("$node_bin" -p '`Node ${process.version}, OpenSSL ${process.versions.openssl}, crypto.getFips() = ${require("crypto").getFips()}`')"
exec "$node_bin" node_modules/.bin/jest "$@"
