#!/usr/bin/env bash
# Installs the real servers the integration tests start on loopback, only when missing.
# Debian 12 (bookworm), non-interactive; run as root (or with sudo available).
#   - PostgreSQL 15 server + client (tests/postgres.rs): /usr/lib/postgresql/15/bin
# Package postinst scripts do not start daemons in containers; the tests start each server
# themselves in temporary directories (as user `postgres` when run as root).
set -euo pipefail

need=()
[[ -x /usr/lib/postgresql/15/bin/initdb && -x /usr/lib/postgresql/15/bin/pg_basebackup ]] \
  || need+=(postgresql-15)
command -v psql >/dev/null 2>&1 || need+=(postgresql-client-15)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)

if [[ ${#need[@]} -eq 0 ]]; then
  echo "install-test-deps: PostgreSQL 15 already installed"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
  else
    echo "install-test-deps: need root to install: ${need[*]}" >&2
    exit 1
  fi
fi

echo "install-test-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"

# The tests run the server binaries as `postgres` when they run as root.
id postgres >/dev/null 2>&1 || { echo "install-test-deps: user postgres missing after install" >&2; exit 1; }
echo "install-test-deps: done"
