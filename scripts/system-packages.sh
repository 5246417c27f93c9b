#!/usr/bin/env bash
# Debian packages dutyline's set-up and tests need: caller voices for tests and the
# simulator and benchmarks (espeak-ng, flite, festival, sox), a browser for the page tests (chromium),
# PostgreSQL and Redis, which `make test` starts throw-away copies of when none answers, and
# nginx, the load balancer of the two-replica test (tests/reliability/replica_stack.py).
# Installs only what is missing, so it is instant when everything is there.
set -euo pipefail
declare -A wanted=(
  [espeak-ng]=espeak-ng
  [flite]=flite
  [sox]=sox
  [chromium]=chromium
  [pg_ctlcluster]=postgresql  # Debian keeps initdb and pg_ctl off PATH
  [redis-server]=redis-server
  [nginx]=nginx
  [text2wave]="festival festvox-kallpc16k festvox-us-slt-hts"
)
missing=()
for cmd in "${!wanted[@]}"; do
  # shellcheck disable=SC2206  # a command may need several packages
  # nginx and pg tools live in /usr/sbin, off a plain user's PATH.
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=(${wanted[$cmd]})
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
  echo "dutyline needs these Debian packages: ${missing[*]} (apt-get install them as root)" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "Installing Debian packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" libsox-fmt-base >/dev/null
