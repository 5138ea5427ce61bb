#!/usr/bin/env bash
# CI for the camera sources behind cargo features (`realsense`, `webcam`), which the default
# workspace build and tests do not compile:
#   1. Debian packages for the build (scripts/setup-build-deps.sh)
#   2. librealsense2 from the pinned pyrealsense2 wheel (scripts/setup-realsense.sh)
#   3. clippy on camera-sources and capture-daemon with both features (warnings are errors)
#   4. the sources' unit tests, and the RealSense playback test, which records a scene with
#      pyrealsense2's software device (scripts/make_recording.py) and plays it back through
#      RealsenseSource
# No camera needed. Honours CARGO_TARGET_DIR. Run from anywhere: bash scripts/ci-realsense.sh
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

bash scripts/setup-build-deps.sh
bash scripts/setup-realsense.sh >/dev/null
# shellcheck source=/dev/null
source .realsense/env.sh

features=realsense,webcam
cargo clippy -p camera-sources -p capture-daemon --all-targets --features "$features" -- -D warnings
cargo test -p camera-sources --features "$features" --lib -- realsense webcam
cargo test -p camera-sources --features "$features" --test realsense_playback

echo "ci-realsense: finished in $(($(date +%s) - started)) s"
