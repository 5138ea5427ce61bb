#!/usr/bin/env bash
# The whole test suite: what `make test` and CI run.
#   1. system packages the build and tests need (apt-get when root, else the exact command)
#   2. every crate's unit, integration and end-to-end tests (cargo-nextest), plus doc tests
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-build-deps.sh

if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast
else
    echo "test.sh: cargo-nextest not found, using cargo test (install: cargo install cargo-nextest)"
    cargo test --workspace --no-fail-fast --lib --bins --tests
fi
cargo test --workspace --doc
