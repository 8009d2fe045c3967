#!/usr/bin/env bash
# Builds mediasoup's C++ worker from the npm package against Debian 12's libraries, offline.
#
# mediasoup's own install script downloads a prebuilt worker from GitHub, or, failing that, fetches meson
# from PyPI and the C++ dependencies through meson wraps: none of those hosts is reachable here. Instead:
#   1. the package is installed with install scripts off (scripts/setup.sh does `npm ci --ignore-scripts`);
#   2. each wrap's folder under worker/subprojects/ is filled with a small meson.build from
#      scripts/worker-subprojects/ that hands mediasoup the system library (libuv, usrsctp, abseil,
#      nlohmann-json, OpenSSL 3 with Debian's security fixes); a wrap whose folder there holds a
#      `debian-source` file (libsrtp2) is built from its real source instead, the tarball the .wrap names
#      taken from Debian's archive and put in meson's packagecache, so meson never downloads it;
#   3. the worker's Makefile runs with Debian's meson (>= 1.1, bookworm-backports) and ninja; it skips
#      its pip step because worker/out/pip exists.
# The result is cached per mediasoup version, architecture and recipe (a hash of scripts/worker-subprojects/),
# so a new clone or `npm ci` reuses it, and a changed recipe is rebuilt:
#   ${ONAIR_CACHE_DIR:-~/.cache/onair}/mediasoup-worker-<version>-<arch>-<recipe>
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
STANDINS="$ROOT/scripts/worker-subprojects"
# The recipe: every file of the stand-ins but their documentation.
RECIPE=$(cd "$STANDINS" && find . -type f ! -name '*.md' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
CACHED="$CACHE_DIR/mediasoup-worker-$VERSION-$(uname -m)-$RECIPE"

# An executable ELF file (the worker cannot be run here to ask its version: it needs mediasoup's channel).
check_worker() { [ -x "$1" ] && [ "$(head -c 4 "$1" | tail -c 3)" = ELF ]; }

# `wrap_field <file.wrap> <key>`: a value from a .wrap's [wrap-file] section.
wrap_field() { sed -nE "s/^$2 *= *(.+)$/\1/p" "$1" | head -1; }

# Puts the tarball a .wrap names into meson's packagecache, fetched from Debian's archive (apt's own
# downloader: it honours apt's proxy settings and checks the .wrap's SHA-256) and kept in CACHE_DIR.
fetch_debian_source() {
  local wrap=$1 pool_path=$2 file hash kept
  file=$(wrap_field "$wrap" source_filename); hash=$(wrap_field "$wrap" source_hash)
  [ -n "$file" ] && [ -n "$hash" ] || die "cannot read source_filename/source_hash from $wrap"
  kept="$CACHE_DIR/sources/$file"
  if ! echo "$hash  $kept" | sha256sum -c --status 2>/dev/null; then
    mkdir -p "$CACHE_DIR/sources"
    info "fetching $(archive_uri)/$pool_path"
    /usr/lib/apt/apt-helper -o APT::Sandbox::User=root download-file "$(archive_uri)/$pool_path" "$kept.part" "SHA256:$hash" >/dev/null \
      || die "could not fetch $pool_path from Debian's archive with the SHA-256 that $wrap expects"
    mv "$kept.part" "$kept"
  fi
  mkdir -p "$WORKER_DIR/subprojects/packagecache"
  cp "$kept" "$WORKER_DIR/subprojects/packagecache/$file"
}

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
  # For each wrap: copy its stand-in folder to the directory the .wrap names, or, for a wrap built from
  # source, empty that directory and supply the tarball so that meson unpacks it there.
  for wrap in "$WORKER_DIR"/subprojects/*.wrap; do
    name=$(basename "$wrap" .wrap)
    [ "$name" = wingetopt ] && continue # Windows only
    src="$STANDINS/$name"
    [ -d "$src" ] || die "no stand-in for the '$name' wrap in scripts/worker-subprojects"
    dir=$(wrap_field "$wrap" directory)
    [ -n "$dir" ] || die "cannot read 'directory =' from $wrap"
    rm -rf "${WORKER_DIR:?}/subprojects/$dir"
    if [ -f "$src/debian-source" ]; then
      fetch_debian_source "$wrap" "$(grep -v '^#' "$src/debian-source" | head -1)"
    else
      cp -r "$src" "$WORKER_DIR/subprojects/$dir"
    fi
  done
  # An existing out/pip makes the Makefile skip its `pip install meson ninja` step.
  mkdir -p "$WORKER_DIR/out/pip"
  log="$CACHE_DIR/worker-build.log"
  mkdir -p "$CACHE_DIR"
  info "compiling (log: $log)…"
  cores=$(nproc 2>/dev/null || echo 2)
  t0=$(date +%s)
  # Show progress: ninja prints [n/N] lines; keep the latest on one line.
  # --wrap-mode=nodownload: a wrap that is neither a stand-in nor in the packagecache fails at once
  # (meson would otherwise try GitHub, with retries).
  ( cd "$WORKER_DIR" && env -u MEDIASOUP_WORKER_BIN make MESON=/usr/bin/meson NINJA=/usr/bin/ninja CORES="$cores" \
      MESON_ARGS=--wrap-mode=nodownload mediasoup-worker ) \
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
# Copy, then rename: a running worker keeps its file busy (cp onto it fails with "Text file busy").
cp "$CACHED" "$DEST.tmp.$$"
chmod +x "$DEST.tmp.$$"
mv -f "$DEST.tmp.$$" "$DEST"
ok "mediasoup $VERSION worker ready ($DEST)"
