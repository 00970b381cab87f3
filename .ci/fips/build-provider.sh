#!/usr/bin/env bash
# Builds the OpenSSL 3.0 FIPS provider from Debian's `openssl` source package and writes a strict
# OpenSSL configuration for Node (fips and base providers only, default_properties = fips=yes).
#
#   bash .ci/fips/build-provider.sh          # as root (it adds deb-src entries and runs apt-get)
#   NODE=/path/to/node bash .ci/fips/build-provider.sh   # check against another Node binary
#
# Result, in $FIPS_DIR (default: .fips/ at the repository root, git-ignored):
#   fips.so          the provider (OPENSSL_MODULES points at this folder)
#   fipsmodule.cnf   from `openssl fipsinstall` (the module's MAC and self-test status)
#   openssl.cnf      the configuration Node reads (OPENSSL_CONF): section nodejs_conf
#   env.sh           `source` it to put the current shell, and every process it starts, in FIPS mode
#   VERSION          the OpenSSL source version the provider was built from
# A re-run reuses them when Node still accepts them (a few seconds); FIPS_REBUILD=1 forces a build.
set -euo pipefail

die() { echo "build-provider: error: $*" >&2; exit 1; }
say() { echo "build-provider: $*" >&2; }

repo="$(cd "$(dirname "$0")/../.." && pwd)"
out="${FIPS_DIR:-$repo/.fips}"
node_bin="${NODE:-$(command -v node || true)}"
[ -n "$node_bin" ] && [ -x "$node_bin" ] || die "no node binary (set NODE=/path/to/node)"

node_openssl="$("$node_bin" -p process.versions.openssl)"
case "$node_openssl" in
  3.*) ;;
  *) die "$node_bin links OpenSSL $node_openssl; an OpenSSL 3 FIPS provider needs OpenSSL 3" ;;
esac

# True when Node, with this configuration, is in FIPS mode and refuses a non-FIPS algorithm.
node_accepts() {
  [ -f "$out/fips.so" ] && [ -f "$out/fipsmodule.cnf" ] && [ -f "$out/openssl.cnf" ] || return 1
  OPENSSL_CONF="$out/openssl.cnf" OPENSSL_MODULES="$out" "$node_bin" -e '
    const crypto = require("node:crypto");
    if (crypto.getFips() !== 1) { console.error("crypto.getFips() is " + crypto.getFips()); process.exit(1); }
    try { crypto.createHash("md5"); console.error("md5 worked: not the FIPS provider alone"); process.exit(1); } catch {}
    crypto.createHash("sha512").update("x").digest();
    crypto.pbkdf2Sync(Buffer.alloc(32), Buffer.alloc(64), 1000, 32, "sha512");
  '
}

if [ "${FIPS_REBUILD:-0}" != 1 ] && node_accepts 2>/dev/null; then
  say "cached provider in $out works with $node_bin (OpenSSL $node_openssl): $(cat "$out/VERSION" 2>/dev/null)"
  exit 0
fi

start=$SECONDS
[ "$(id -u)" = 0 ] || die "must run as root: it adds deb-src entries to /etc/apt and runs apt-get"
for tool in apt-get apt-cache gcc make perl; do
  command -v "$tool" >/dev/null || die "'$tool' is missing (apt-get install build-essential perl)"
done
command -v openssl >/dev/null || die "the 'openssl' command is missing (apt-get install openssl); it runs fipsinstall"

# 1. Source entries: Debian's own apt sources, with Types: deb-src (deb822) or deb-src lines.
has_source() { [ -n "$(apt-cache showsrc openssl 2>/dev/null | grep -m1 '^Package: openssl$' || true)" ]; }
if ! has_source; then
  # Debian's own entries only: a third-party repository may have no source packages, and then
  # apt-get update would fail on it.
  list=/etc/apt/sources.list.d/request-crypto-deb-src.sources
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed 's/^Types:.*$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > "$list"
  elif [ -f /etc/apt/sources.list ] && grep -q '^[[:space:]]*deb[[:space:]].*debian' /etc/apt/sources.list; then
    list=/etc/apt/sources.list.d/request-crypto-deb-src.list
    sed -n 's/^[[:space:]]*deb[[:space:]]\(.*debian.*\)$/deb-src \1/p' /etc/apt/sources.list > "$list"
  else
    die "no Debian entries in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list to derive deb-src from"
  fi
  say "added deb-src entries ($list), running apt-get update"
  apt-get update -qq || die "apt-get update failed (network? see above)"
  has_source || die "apt-cache knows no source package 'openssl' even with deb-src entries ($list)"
fi

# Versions to try: the Debian version of Node's own OpenSSL (e.g. 3.0.19-1~deb12u2 for 3.0.19)
# first, then every other 3.0 one, newest first (a mirror's index can list a version whose files
# are gone: then the next one is tried).
versions="$(apt-cache showsrc openssl | awk '/^Version: /{ print $2 }' | sort -Vru)"
versions="$(
  echo "$versions" | awk -v v="$node_openssl" '{ split($1, a, "-"); if (a[1] == v) print }'
  echo "$versions" | awk -v v="$node_openssl" '{ split($1, a, "-"); if (a[1] != v && a[1] ~ /^3\.0\./) print }'
)"
[ -n "$versions" ] || die "Debian has no openssl 3.0.x source package here (found: $(apt-cache showsrc openssl | awk '/^Version: /{ printf "%s ", $2 }'))"

# 2. Fetch and unpack in a temporary folder (removed at the end: only the results are kept).
work="$(mktemp -d "${TMPDIR:-/tmp}/request-crypto-fips.XXXXXX")"
trap 'rm -rf "$work"' EXIT
version=
for candidate in $versions; do
  say "fetching openssl=$candidate source (Node has OpenSSL $node_openssl)"
  if (cd "$work" && apt-get source -qq --download-only "openssl=$candidate" > "$work/apt.log" 2>&1); then
    version="$candidate"
    break
  fi
  grep -E '^E:' "$work/apt.log" | head -n 3 >&2 || true
  rm -f "$work"/openssl_*
done
[ -n "$version" ] || die "apt-get source could fetch none of: $(echo $versions)"
orig="$(ls "$work"/openssl_*.orig.tar.* 2>/dev/null | head -n1)"
[ -n "$orig" ] || die "apt-get source gave no openssl_*.orig.tar.* in $work"
if command -v dpkg-source >/dev/null; then
  # apt-get checked the files against the signed index; dpkg-source's own check of the .dsc
  # signature only warns (no Debian developer keys here).
  (cd "$work" && dpkg-source -q -x openssl_*.dsc src > "$work/dpkg-source.log" 2>&1) ||
    { cat "$work/dpkg-source.log" >&2; die "dpkg-source -x failed"; }
else
  mkdir "$work/src" && tar -xf "$orig" -C "$work/src" --strip-components=1 || die "could not unpack $orig"
fi

# 3. Build only the provider.
say "building providers/fips.so from openssl $version (make -j${FIPS_JOBS:-2})"
(
  cd "$work/src"
  ./Configure enable-fips no-tests > "$work/configure.log" 2>&1 || { tail -n 30 "$work/configure.log"; exit 1; }
  # The generated headers first (crypto/bn_conf.h and others): the provider's rules omit them.
  { make -j"${FIPS_JOBS:-2}" build_generated && make -j"${FIPS_JOBS:-2}" providers/fips.so; } > "$work/make.log" 2>&1 ||
    { tail -n 40 "$work/make.log"; exit 1; }
) || die "building the FIPS provider failed (log above)"

# 4. Install: the module, its fipsinstall configuration, and Node's configuration.
mkdir -p "$out"
rm -f "$out/fips.so" "$out/fipsmodule.cnf" "$out/openssl.cnf" "$out/env.sh" "$out/VERSION"
cp "$work/src/providers/fips.so" "$out/fips.so"
openssl fipsinstall -module "$out/fips.so" -out "$out/fipsmodule.cnf" -provider_name fips -section_name fips_sect \
  > "$work/fipsinstall.log" 2>&1 || { cat "$work/fipsinstall.log" >&2; die "openssl fipsinstall failed"; }

cat > "$out/openssl.cnf" <<EOF
# Node reads the nodejs_conf section of OPENSSL_CONF (other programs read openssl_conf, not set
# here, so tools the tests run, such as git or curl, keep their usual configuration).
# Strict: only the FIPS provider and the base provider (encoders/decoders, no algorithms), and
# every fetch asks for fips=yes. Made by .ci/fips/build-provider.sh.
config_diagnostics = 1
nodejs_conf = nodejs_init

.include $out/fipsmodule.cnf

[nodejs_init]
providers = provider_sect
alg_section = algorithm_sect

[provider_sect]
fips = fips_sect
base = base_sect

[base_sect]
activate = 1

[algorithm_sect]
default_properties = fips=yes
EOF

cat > "$out/env.sh" <<EOF
# source this file: it puts this shell, and every process started from it, in FIPS mode.
export OPENSSL_CONF='$out/openssl.cnf'
export OPENSSL_MODULES='$out'
EOF
echo "openssl $version (Debian source), fips.so for Node's OpenSSL $node_openssl" > "$out/VERSION"

node_accepts || die "Node ($node_bin, OpenSSL $node_openssl) does not run in FIPS mode with $out/openssl.cnf"
say "done in $((SECONDS - start)) s: $(cat "$out/VERSION"); source $out/env.sh to use it"
