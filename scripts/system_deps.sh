#!/usr/bin/env bash
# Install the Debian packages the tests need, only those that are missing, one tool at a
# time. Node.js and npm are taken from wherever the machine has them: a Node.js from
# another source (NodeSource, nvm) ships its own npm, and Debian's npm conflicts with it,
# so npm is only asked for when no npm is on PATH at all.
# Usage: bash scripts/system_deps.sh   (as root; elsewhere it only says what is missing)
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
[ -x /usr/sbin/nginx ] || need+=(nginx)  # the load balancer of tests/team/test_replicas.py
compgen -G "/usr/lib/*/faketime/libfaketimeMT.so.1" >/dev/null || need+=(faketime)  # a skewed replica clock
[ ${#need[@]} -gt 0 ] || exit 0
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "system_deps: missing ${need[*]}; install them (Debian: apt-get install ${need[*]})" >&2
    exit 0
fi
echo "== apt-get install ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
