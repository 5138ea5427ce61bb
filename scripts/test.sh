#!/usr/bin/env bash
# The whole test suite: what `make test` and CI run.
#   1. system packages the build and tests need (apt-get when root, else the exact command):
#      build dependencies, the app's run-time libraries, Xvfb and python3 for the end-to-end tests;
#      ONNX Runtime and the Python onnx package for the detect crate's model tests (PyPI wheels)
#   2. every crate's unit, integration and end-to-end tests (cargo-nextest), plus doc tests, with
#      the Zenoh bridge built in (the cargo feature `zenoh` of capture-daemon and app)
#   3. the end-to-end smoke test: the real daemon and the real app under Xvfb, a crash and a
#      reconnection, a screenshot checked not to be blank (scripts/smoke_test.sh)
#   4. the Makefile's targets as people use them (scripts/check_make_targets.sh)
#   5. the Python package aaa_camera, built into .venv, against the real daemon (pytest)
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

bash scripts/setup-build-deps.sh
bash scripts/setup-runtime-deps.sh --test
bash scripts/setup-onnxruntime.sh --test

# The Zenoh bridge (`bridge`, `watch --remote`, `aaa --remote`) is a cargo feature: tested here.
features=capture-daemon/zenoh,app/zenoh
# Tests of other crates and the Python tests run the daemon binary too; left to themselves they
# would rebuild it without the feature while the bridge's tests run it, and the smoke test and
# the make targets rebuild target/debug/aaa-camera-daemon without it before the Python tests.
# Build it once with the feature, keep a copy of its own, and name that.
cargo build -p capture-daemon --features zenoh --bin aaa-camera-daemon
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
mkdir -p "$target_dir/test-bin"
cp "$target_dir/debug/aaa-camera-daemon" "$target_dir/test-bin/aaa-camera-daemon"
export AAA_DAEMON_BIN="$target_dir/test-bin/aaa-camera-daemon"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --features "$features" --no-fail-fast
else
    echo "test.sh: cargo-nextest not found, using cargo test (install: cargo install cargo-nextest)"
    cargo test --workspace --features "$features" --no-fail-fast --lib --bins --tests
fi
cargo test --workspace --doc

bash scripts/smoke_test.sh
bash scripts/check_make_targets.sh
bash scripts/setup-python.sh --test

echo "test.sh: finished in $(($(date +%s) - started)) s"
