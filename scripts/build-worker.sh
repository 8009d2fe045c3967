#!/usr/bin/env bash
# Builds mediasoup's C++ worker from the npm package against Debian 12's libraries, offline.
#
# mediasoup's own install script downloads a prebuilt worker from GitHub, or, failing that, fetches meson
# from PyPI and the C++ dependencies through meson wraps: none of those hosts is reachable here. Instead:
#   1. the package is installed with install scripts off (scripts/setup.sh does `npm ci --ignore-scripts`);
#   2. each wrap's folder under worker/subprojects/ is filled with a small meson.build from
#      scripts/worker-subprojects/ that hands mediasoup the system library (libuv, libsrtp2, usrsctp,
#      abseil, nlohmann-json, OpenSSL 3 with Debian's security fixes);
#   3. the worker's Makefile runs with Debian's meson (>= 1.1, bookworm-backports) and ninja; it skips
#      its pip step because worker/out/pip exists.
# The result is cached per mediasoup version and architecture, so a new clone or `npm ci` reuses it:
#   ${ONAIR_CACHE_DIR:-~/.cache/onair}/mediasoup-worker-<version>-<arch>
# and copied to where mediasoup looks by default (worker/out/Release/mediasoup-worker).
# A user who brings their own worker sets MEDIASOUP_WORKER_BIN and this script only checks it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib.sh"

PKG="${MEDIASOUP_DIR:-$ROOT/node_modules/mediasoup}"
[ -f "$PKG/package.json" ] || die "mediasoup is not installed at $PKG (run npm ci --ignore-scripts first)"
VERSION=$(node -p "require('$PKG/package.json').version")
WORKER_DIR="$PKG/worker"
DEST="$WORKER_DIR/out/Release/mediasoup-worker"
CACHE_DIR="${ONAIR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/onair}"
CACHED="$CACHE_DIR/mediasoup-worker-$VERSION-$(uname -m)"

# An executable ELF file (the worker cannot be run here to ask its version: it needs mediasoup's channel).
check_worker() { [ -x "$1" ] && [ "$(head -c 4 "$1" | tail -c 3)" = ELF ]; }

if [ -n "${MEDIASOUP_WORKER_BIN:-}" ]; then
  check_worker "$MEDIASOUP_WORKER_BIN" || die "MEDIASOUP_WORKER_BIN=$MEDIASOUP_WORKER_BIN is not an executable worker"
  ok "using MEDIASOUP_WORKER_BIN=$MEDIASOUP_WORKER_BIN"
  exit 0
fi

if check_worker "$DEST" && [ -f "$CACHED" ] && cmp -s "$DEST" "$CACHED"; then
  ok "mediasoup $VERSION worker ready ($DEST)"
  exit 0
fi

if ! check_worker "$CACHED"; then
  step "building the mediasoup $VERSION worker from source: this takes about 4 minutes on 2 cores, once"
  # Stand-ins for the wraps: copy each folder to the directory its .wrap names.
  for wrap in "$WORKER_DIR"/subprojects/*.wrap; do
    name=$(basename "$wrap" .wrap)
    [ "$name" = wingetopt ] && continue # Windows only
    src="$ROOT/scripts/worker-subprojects/$name"
    [ -d "$src" ] || die "no stand-in for the '$name' wrap in scripts/worker-subprojects"
    dir=$(sed -nE 's/^directory *= *(.+)$/\1/p' "$wrap" | head -1)
    [ -n "$dir" ] || die "cannot read 'directory =' from $wrap"
    rm -rf "${WORKER_DIR:?}/subprojects/$dir"
    cp -r "$src" "$WORKER_DIR/subprojects/$dir"
  done
  # An existing out/pip makes the Makefile skip its `pip install meson ninja` step.
  mkdir -p "$WORKER_DIR/out/pip"
  log="$CACHE_DIR/worker-build.log"
  mkdir -p "$CACHE_DIR"
  info "compiling (log: $log)…"
  cores=$(nproc 2>/dev/null || echo 2)
  t0=$(date +%s)
  # Show progress: ninja prints [n/N] lines; keep the latest on one line.
  ( cd "$WORKER_DIR" && env -u MEDIASOUP_WORKER_BIN make MESON=/usr/bin/meson NINJA=/usr/bin/ninja CORES="$cores" mediasoup-worker ) \
    > "$log" 2>&1 < /dev/null &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    last=$(grep -oE '^\[[0-9]+/[0-9]+\]' "$log" | tail -1 || true)
    printf '    … %s s %s\n' "$(( $(date +%s) - t0 ))" "${last:-configuring}"
  done
  wait "$pid" || { tail -40 "$log" >&2; die "the worker build failed; full log in $log"; }
  check_worker "$DEST" || die "the build finished but $DEST is missing; see $log"
  tmp="$CACHED.tmp.$$"
  cp "$DEST" "$tmp" && mv "$tmp" "$CACHED"
  ok "worker built in $(( $(date +%s) - t0 )) s, cached at $CACHED"
fi

mkdir -p "$(dirname "$DEST")"
cp "$CACHED" "$DEST"
chmod +x "$DEST"
ok "mediasoup $VERSION worker ready ($DEST)"
