#!/usr/bin/env bash
# OnAir set-up: everything `npm start` and `npm test` need on a Debian 12 machine, offline-friendly.
#
#   scripts/setup.sh start   # system packages for serving, npm packages, mediasoup worker, build
#   scripts/setup.sh test    # the same, plus what the test suite needs (Chromium)
#
# Every step checks whether it is already done and skips itself, so a second run takes seconds.
# Only the npm registry and Debian's archive are used: nothing is downloaded from GitHub or PyPI.
# The Dockerfile runs the same steps (scripts/system-packages.sh, scripts/build-worker.sh).
set -euo pipefail

MODE="${1:-start}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

started=$(date +%s)

step "1/4 system packages ($MODE)"
bash "$ROOT/scripts/system-packages.sh" "$MODE"

step "2/4 npm packages"
lock_hash=$(sha256sum package-lock.json package.json | sha256sum | cut -c1-16)
stamp=node_modules/.onair-installed
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
  ok "node_modules up to date"
else
  # Install scripts are off: mediasoup's own would try to download a prebuilt worker from GitHub.
  # Packages whose install scripts we do need are rebuilt by name below.
  info "npm ci (install scripts off)…"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  info "building better-sqlite3 against Node $(node -v) (node-gyp, about a minute)…"
  npm rebuild better-sqlite3 esbuild --loglevel=error
  echo "$lock_hash" > "$stamp"
  ok "npm packages installed"
fi

step "3/4 mediasoup worker"
bash "$ROOT/scripts/build-worker.sh"

step "4/4 build OnAir (TypeScript server, browser bundle)"
if [ -f dist/.built ] && [ -z "$(find server shared client scripts/build.mjs tsconfig.json package-lock.json -newer dist/.built -print -quit 2>/dev/null)" ]; then
  ok "dist/ up to date"
else
  node scripts/build.mjs
  touch dist/.built
  ok "built into dist/"
fi

ok "set-up done in $(( $(date +%s) - started )) s"
