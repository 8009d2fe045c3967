#!/usr/bin/env bash
# Installs the Debian 12 packages OnAir needs, or tells a non-root user the exact commands to run.
#
#   scripts/system-packages.sh start   # build + runtime packages
#   scripts/system-packages.sh test    # also Chromium (end-to-end tests), PostgreSQL and Redis (cluster tests)
#   scripts/system-packages.sh print   # print the commands, install nothing
#
# meson >= 1.1 (needed by mediasoup 3.12.16's worker build) is only in bookworm-backports, so that
# suite is added to apt's sources, from the same archive as the main suite.
#
# postgresql and redis-server are for the tests only: test/helpers/postgres.ts and redis.ts start private
# servers from their binaries on free loopback ports. Debian's own services are never used. On a first install
# as root, Debian's main PostgreSQL cluster is not even created (postgresql-common's createcluster.d setting
# below), so nothing of it listens on 5432; a machine that already has PostgreSQL keeps its clusters untouched.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib.sh"

MODE="${1:-start}"
# Build tools and the system libraries the mediasoup worker links against (see scripts/worker-subprojects;
# libsrtp2 is built from source there, so it is not in this list).
BUILD_PKGS=(g++ make python3 pkg-config ninja-build libuv1-dev libabsl-dev nlohmann-json3-dev libusrsctp-dev libssl-dev)
RUNTIME_PKGS=(ffmpeg ca-certificates)
TEST_PKGS=(chromium fonts-dejavu-core postgresql redis-server nginx libnginx-mod-rtmp)
BACKPORTS_LIST=/etc/apt/sources.list.d/onair-bookworm-backports.list

wanted=("${BUILD_PKGS[@]}" "${RUNTIME_PKGS[@]}")
[ "$MODE" = test ] || [ "$MODE" = print ] && wanted+=("${TEST_PKGS[@]}")

missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

meson_ok() {
  command -v meson >/dev/null 2>&1 || return 1
  local v; v=$(meson --version 2>/dev/null) || return 1
  # meson >= 1.1
  [ "$(printf '%s\n1.1.0\n' "$v" | sort -V | head -1)" = "1.1.0" ]
}
need_meson=0; meson_ok || need_meson=1

BACKPORTS_LINE="deb $(archive_uri) bookworm-backports main"

print_commands() {
  local sudo=${1:-}
  echo "  echo '$BACKPORTS_LINE' | ${sudo}tee $BACKPORTS_LIST"
  echo "  ${sudo}apt-get update"
  echo "  ${sudo}apt-get install -y --no-install-recommends ${wanted[*]}"
  echo "  ${sudo}apt-get install -y --no-install-recommends -t bookworm-backports meson"
}

if [ "$MODE" = print ]; then print_commands "sudo "; exit 0; fi

if [ ${#missing[@]} -eq 0 ] && [ $need_meson -eq 0 ]; then
  ok "all Debian packages present (meson $(meson --version))"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  printf '\nOnAir needs Debian packages that are not installed: %s%s\n' "${missing[*]}" "$([ $need_meson -eq 1 ] && echo ' meson(>=1.1, bookworm-backports)')" >&2
  printf 'Run these as root (or with sudo), then run this command again:\n\n' >&2
  print_commands "sudo " >&2
  echo >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if ! grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  info "adding the bookworm-backports suite: $BACKPORTS_LIST"
  echo "$BACKPORTS_LINE" > "$BACKPORTS_LIST"
fi
info "apt-get update…"
apt-get update -qq
CREATECLUSTER_DROPIN=/etc/postgresql-common/createcluster.d/onair-no-main-cluster.conf
if [[ " ${missing[*]:-} " == *" postgresql "* ]] && ! dpkg-query -W -f='${Status}' postgresql-common 2>/dev/null | grep -q 'install ok installed'; then
  info "PostgreSQL is for the tests only: not creating Debian's main cluster ($CREATECLUSTER_DROPIN)"
  mkdir -p "$(dirname "$CREATECLUSTER_DROPIN")"
  echo 'create_main_cluster = false' > "$CREATECLUSTER_DROPIN"
fi
info "installing: ${missing[*]:-} meson (about 1-3 minutes on a fresh machine)…"
apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null
apt-get install -y -qq --no-install-recommends -t bookworm-backports meson >/dev/null
meson_ok || die "meson >= 1.1 is still missing after installing it from bookworm-backports"
ok "Debian packages installed (meson $(meson --version))"
