#!/usr/bin/env bash
# Installs the Debian packages that building the workspace needs, with every feature:
#   libclang1-14   bindgen in nokhwa's v4l2-sys-mit (feature `webcam`): "Unable to find libclang"
#   pkg-config     realsense-sys finds librealsense2 with it (feature `realsense`)
#   libusb-1.0-0   librealsense2 (from the pyrealsense2 wheel or Intel's packages) links against it
#   python3-venv   scripts/setup-realsense.sh makes a venv (only when `python3 -m venv` lacks ensurepip)
#
# Idempotent: when everything is installed it only checks (well under a second) and touches no
# network. As root it runs apt-get; otherwise it prints the exact command and fails.
#
# Usage: scripts/setup-build-deps.sh
set -euo pipefail

# Not Debian (macOS, other distributions): nothing to install here; say what the build needs.
if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "setup-build-deps: not a Debian system; the features need libclang (webcam) and pkg-config" >&2
    echo "setup-build-deps: with librealsense2 (realsense): e.g. brew install llvm pkg-config librealsense" >&2
    exit 0
fi

packages=(libclang1-14 pkg-config libusb-1.0-0)

# A python without ensurepip (Debian's own python3 without python3-venv) cannot make venvs.
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    packages+=(python3-venv)
fi

# shellcheck source=lib/debian-packages.sh
source "$(dirname "$0")/lib/debian-packages.sh"
ensure_debian_packages setup-build-deps "${packages[@]}"
