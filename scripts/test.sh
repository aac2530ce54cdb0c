#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the integration tests need (real
# PostgreSQL, registry, DNS servers; tmux), then format, lint, and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -x scripts/install-test-deps.sh ]]; then
  scripts/install-test-deps.sh
fi

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --locked --no-fail-fast
else
  cargo test --locked --no-fail-fast
fi
cargo test --doc --locked
