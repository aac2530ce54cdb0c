#!/usr/bin/env bash
# Installs the real servers the integration tests start on loopback, only when missing.
# Debian 12 (bookworm), non-interactive; run as root (or with passwordless sudo).
# Nothing is started here: each test starts its own servers in temporary directories.
#   - PostgreSQL 15 server + client (tests/postgres.rs), run as user `postgres` when root
#   - PowerDNS Authoritative + SQLite backend (tests/dns.rs); sqlite3 loads its schema; dig
#   - Debian's docker-registry (distribution 2.8) + htpasswd for its Basic auth, openssl for a
#     private CA (tests/images.rs)
set -euo pipefail

missing=()
need() { # need PACKAGE COMMAND-OR-FILE
  if ! command -v "$2" >/dev/null 2>&1 && [[ ! -e "$2" ]]; then missing+=("$1"); fi
}

# --- PostgreSQL
need postgresql-15 /usr/lib/postgresql/15/bin/initdb
need postgresql-15 /usr/lib/postgresql/15/bin/pg_basebackup
need postgresql-client-15 psql
need util-linux runuser
# --- DNS
need pdns-server /usr/sbin/pdns_server
need pdns-backend-sqlite3 /usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql
need sqlite3 sqlite3
need bind9-dnsutils dig
# --- OCI registry
need docker-registry /usr/bin/docker-registry
need apache2-utils htpasswd
need openssl openssl

if ((${#missing[@]} == 0)); then
  echo "install-test-deps: everything is installed"
  exit 0
fi
# de-duplicate
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
  else
    echo "install-test-deps: need root to install: ${missing[*]} (apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
fi

echo "install-test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages like pdns-server and docker-registry start their daemon on install; the tests start
# their own instances, and a daemon that cannot start (port 53 taken, no init system) must not
# fail the install. policy-rc.d answering 101 ("action forbidden") is Debian's switch for that.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
  "${SUDO[@]}" chmod 755 "$policy"
  added_policy=1
fi
cleanup() { if ((added_policy)); then "${SUDO[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts pdns on install where it can; the tests use their own instances and ports.
if command -v systemctl >/dev/null 2>&1; then "${SUDO[@]}" systemctl disable --now pdns docker-registry >/dev/null 2>&1 || true; fi
id postgres >/dev/null 2>&1 || { echo "install-test-deps: user postgres missing after install" >&2; exit 1; }
echo "install-test-deps: done"
