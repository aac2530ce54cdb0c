#!/usr/bin/env bash
# Installs the real servers the integration tests start on loopback (Debian 12, as root).
# apt-get runs only when something is missing; nothing is started here (the tests do that).
set -euo pipefail

missing=()
need() { # need PACKAGE COMMAND-OR-FILE
  if ! command -v "$2" >/dev/null 2>&1 && [[ ! -e "$2" ]]; then missing+=("$1"); fi
}

# --- DNS (tests/dns.rs): PowerDNS Authoritative with the SQLite backend and its HTTP API;
# sqlite3 loads the schema; dig for poking at it by hand.
need pdns-server /usr/sbin/pdns_server
need pdns-backend-sqlite3 /usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql
need sqlite3 sqlite3
need bind9-dnsutils dig
# --- end DNS

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-test-deps: missing ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
