#!/usr/bin/env bash
# Builds and installs the Python package `aaa_camera` (python/: the Rust reader behind PyO3,
# one abi3 wheel for every CPython >= 3.9) into a virtual environment:
#
#   bash scripts/setup-python.sh            # then: source .venv/bin/activate; python -c 'import aaa_camera'
#
# The environment: the active one ($VIRTUAL_ENV) if there is one, else --venv DIR, else .venv at
# the repository's root (created with `python3 -m venv`; on Debian that needs python3-venv,
# installed with apt-get when root, else the exact command is printed). Into it go maturin
# (pinned, the build tool), the wheel maturin builds from python/ with cargo (under
# $CARGO_TARGET_DIR, else target/) and numpy, which the wheel requires. Idempotent: pinned tools
# already there are not fetched again; the wheel is rebuilt (cargo makes that a no-op when
# nothing changed) and reinstalled.
#
# With --wheelhouse DIR it also puts the wheel and numpy's wheel for this Python into DIR: copy
# DIR to a machine without network (same OS and architecture, CPython >= 3.9; numpy's wheel is
# for this interpreter's version) and install there with
#   python3 -m pip install --no-index --find-links DIR aaa_camera
#
# With --test it also installs pytest, the PyPI `mcap` and `mcap-ros2-support` packages (an
# independent MCAP and ROS 2 CDR decoder for the recordings' tests), and `eclipse-zenoh` with
# `zstandard` (for tools/python/aaa_zenoh_receiver.py against the bridge), all pinned, runs
# python/tests/ against the real daemon binary (built with cargo, with the Zenoh bridge, by the
# tests' conftest.py unless AAA_DAEMON_BIN names one), and checks the offline install: a
# wheelhouse installed with --no-index into a fresh environment.
#
# Needs python3 >= 3.9 ($PYTHON to choose another interpreter) and PyPI the first time.
#
# Usage: scripts/setup-python.sh [--venv DIR] [--wheelhouse DIR] [--test]
set -euo pipefail
cd "$(dirname "$0")/.."

maturin_version=1.16.0
pytest_version=8.3.5
mcap_version=1.6.0
mcap_ros2_support_version=0.6.0
eclipse_zenoh_version=1.10.2
zstandard_version=0.25.0

usage() {
    echo "usage: scripts/setup-python.sh [--venv DIR] [--wheelhouse DIR] [--test]" >&2
    exit 2
}

with_test=0
venv=""
wheelhouse=""
while (($#)); do
    case "$1" in
    --test) with_test=1 ;;
    --venv)
        (($# >= 2)) || usage
        venv=$2
        shift
        ;;
    --wheelhouse)
        (($# >= 2)) || usage
        wheelhouse=$2
        shift
        ;;
    *) usage ;;
    esac
    shift
done
if [[ -z "$venv" ]]; then
    venv=${VIRTUAL_ENV:-.venv}
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
    echo "setup-python: $python is missing or older than 3.9 (install python3, or set PYTHON)" >&2
    exit 1
fi

if [[ ! -x "$venv/bin/python" ]]; then
    if ! "$python" -m venv --help >/dev/null 2>&1 || ! "$python" -c 'import ensurepip' 2>/dev/null; then
        # Debian splits venv (and its ensurepip) from python3.
        # shellcheck source=lib/debian-packages.sh
        source scripts/lib/debian-packages.sh
        ensure_debian_packages setup-python python3-venv
    fi
    echo "setup-python: creating the virtual environment $venv"
    "$python" -m venv "$venv"
fi
venv_python="$venv/bin/python"

# The pinned tools, fetched only when missing or another version.
pip_install_pinned() {
    local name=$1 version=$2
    local installed
    installed=$("$venv_python" -c "import importlib.metadata as m; print(m.version('$name'))" 2>/dev/null || true)
    if [[ "$installed" != "$version" ]]; then
        "$venv_python" -m pip install --quiet --disable-pip-version-check "$name==$version"
    fi
}
pip_install_pinned maturin "$maturin_version"
if ((with_test)); then
    pip_install_pinned pytest "$pytest_version"
    pip_install_pinned mcap "$mcap_version"
    pip_install_pinned mcap-ros2-support "$mcap_ros2_support_version"
    pip_install_pinned eclipse-zenoh "$eclipse_zenoh_version"
    pip_install_pinned zstandard "$zstandard_version"
fi

wheel_dir="${CARGO_TARGET_DIR:-target}/python-wheel"
rm -rf "$wheel_dir"
echo "setup-python: building the wheel (cargo, release)"
"$venv/bin/maturin" build --release --quiet -m python/Cargo.toml --out "$wheel_dir"
wheels=("$wheel_dir"/aaa_camera-*.whl)
if ((${#wheels[@]} != 1)) || [[ ! -f "${wheels[0]}" ]]; then
    echo "setup-python: expected one wheel in $wheel_dir, found: ${wheels[*]}" >&2
    exit 1
fi
# Its dependencies (numpy) if missing, then the wheel itself even when the version is the same.
"$venv_python" -m pip install --quiet --disable-pip-version-check "${wheels[0]}"
"$venv_python" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall "${wheels[0]}"
"$venv_python" -c 'import aaa_camera, numpy; print("setup-python: aaa_camera installed in '"$venv"' (numpy", numpy.__version__ + ")")'

target_dir=${CARGO_TARGET_DIR:-target}
if ((with_test)) && [[ -z "$wheelhouse" ]]; then
    wheelhouse="$target_dir/python-wheelhouse"
fi
if [[ -n "$wheelhouse" ]]; then
    mkdir -p "$wheelhouse"
    rm -f "$wheelhouse"/aaa_camera-*.whl
    cp "${wheels[0]}" "$wheelhouse/"
    numpy_version=$("$venv_python" -c 'import numpy; print(numpy.__version__)')
    "$venv_python" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
        --dest "$wheelhouse" "numpy==$numpy_version"
    echo "setup-python: wheelhouse $wheelhouse (install offline: python3 -m pip install --no-index --find-links $wheelhouse aaa_camera)"
fi

if ((with_test)); then
    echo "setup-python: checking the offline install (--no-index) into a fresh environment"
    offline_venv=$(mktemp -d)
    trap 'rm -rf "$offline_venv"' EXIT
    "$python" -m venv "$offline_venv"
    "$offline_venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index \
        --find-links "$wheelhouse" aaa_camera
    "$offline_venv/bin/python" -c 'import aaa_camera, numpy; assert aaa_camera.Camera and numpy.zeros(1).size == 1'
    echo "setup-python: running python/tests"
    "$venv_python" -m pytest -q -p no:cacheprovider python/tests
fi
