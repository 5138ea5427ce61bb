#!/usr/bin/env bash
# Installs the ONNX Runtime library that the `detect` crate loads at run time to run ONNX models
# (there is no Debian package): pip downloads the pinned PyPI `onnxruntime` wheel, which carries
# `onnxruntime/capi/libonnxruntime.so.1.*` (macOS: `libonnxruntime.*.dylib`), and the library is
# unpacked into the cache directory as `libonnxruntime.so` (`libonnxruntime.dylib`), where the
# binaries look when neither `--onnxruntime PATH` nor `AAA_ONNXRUNTIME` names one.
#
# With --test it also installs the PyPI `onnx` package (pinned) that the tests use to write small
# models, into `<cache>/python` (pip --target: no venv, no change to any Python installation; the
# tests put that directory on PYTHONPATH).
#
# The cache directory (the rule lives here and in detect/src/onnx/cache.rs; a test checks they
# agree through --print-cache-dir):
#   $AAA_ONNXRUNTIME_CACHE, else $XDG_CACHE_HOME/aaa-camera/onnxruntime (when set and absolute),
#   else $HOME/.cache/aaa-camera/onnxruntime.
#
# Idempotent: when the pinned versions are already there it only checks (no network).
# Needs python3 with pip (Debian: apt-get install python3-pip).
#
# Usage: scripts/setup-onnxruntime.sh [--test] [--print-cache-dir]
set -euo pipefail

# The versions: ONNX Runtime 1.23 is the newest with an x86_64 macOS wheel, and the Rust side is
# built for its API (ort's api-23); any later version loads too (--onnxruntime or AAA_ONNXRUNTIME).
onnxruntime_version=1.23.2
onnx_version=1.23.2

with_test=0
print_cache_dir=0
for argument in "$@"; do
    case "$argument" in
    --test) with_test=1 ;;
    --print-cache-dir) print_cache_dir=1 ;;
    *)
        echo "usage: scripts/setup-onnxruntime.sh [--test] [--print-cache-dir]" >&2
        exit 2
        ;;
    esac
done

cache_dir() {
    local dir
    if [[ -n "${AAA_ONNXRUNTIME_CACHE:-}" ]]; then
        dir="$AAA_ONNXRUNTIME_CACHE"
    elif [[ "${XDG_CACHE_HOME:-}" == /* ]]; then
        dir="$XDG_CACHE_HOME/aaa-camera/onnxruntime"
    elif [[ -n "${HOME:-}" ]]; then
        dir="$HOME/.cache/aaa-camera/onnxruntime"
    else
        echo "setup-onnxruntime: neither AAA_ONNXRUNTIME_CACHE, XDG_CACHE_HOME nor HOME is set" >&2
        return 1
    fi
    # Relative to where the script was started from, as the binaries resolve it.
    [[ "$dir" == /* ]] || dir="$PWD/$dir"
    printf '%s\n' "$dir"
}

cache=$(cache_dir)
if ((print_cache_dir)); then
    printf '%s\n' "$cache"
    exit 0
fi

if [[ "$(uname -s)" == Darwin ]]; then
    library_name=libonnxruntime.dylib
else
    library_name=libonnxruntime.so
fi

# pip only when something is missing: a second run stays quick.
pip() {
    if ! python3 -m pip --version >/dev/null 2>&1; then
        echo "setup-onnxruntime: needs python3 with pip (Debian: apt-get install python3-pip)" >&2
        return 1
    fi
    python3 -m pip --quiet --disable-pip-version-check "$@"
}

mkdir -p "$cache"
work=$(mktemp -d "$cache/.setup.XXXXXX")
trap 'rm -rf "$work"' EXIT

library_stamp="onnxruntime $onnxruntime_version $(uname -s) $(uname -m)"
if [[ -f "$cache/$library_name" && "$(cat "$cache/$library_name.version" 2>/dev/null)" == "$library_stamp" ]]; then
    echo "setup-onnxruntime: ONNX Runtime $onnxruntime_version is in $cache"
else
    echo "setup-onnxruntime: fetching ONNX Runtime $onnxruntime_version (the PyPI wheel) into $cache"
    # The library inside does not depend on the Python version; asking for one that every
    # pinned wheel exists for keeps this working whatever python3 is.
    pip download --no-deps --only-binary=:all: --python-version 3.11 \
        --dest "$work" "onnxruntime==$onnxruntime_version"
    wheels=("$work"/onnxruntime-*.whl)
    python3 - "${wheels[0]}" "$work/$library_name" <<'EOF'
import re, shutil, sys, zipfile

wheel, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as archive:
    names = [n for n in archive.namelist()
             if re.fullmatch(r"onnxruntime/capi/libonnxruntime(\.so\.1\.[0-9.]+|\.1\.[0-9.]+\.dylib)", n)]
    if len(names) != 1:
        sys.exit(f"setup-onnxruntime: expected one libonnxruntime in {wheel}, found {names}")
    with archive.open(names[0]) as source, open(target, "wb") as destination:
        shutil.copyfileobj(source, destination)
EOF
    # Into place atomically: a binary starting meanwhile sees the old library or the new one.
    mv -f "$work/$library_name" "$cache/$library_name"
    printf '%s\n' "$library_stamp" >"$cache/$library_name.version"
    echo "setup-onnxruntime: installed $cache/$library_name"
fi

if ((with_test)); then
    python_version=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    python_stamp="onnx $onnx_version python $python_version"
    if [[ "$(cat "$cache/python/.installed" 2>/dev/null)" == "$python_stamp" ]]; then
        echo "setup-onnxruntime: the onnx package $onnx_version (python $python_version) is in $cache/python"
    else
        echo "setup-onnxruntime: installing the onnx package $onnx_version into $cache/python"
        pip install --root-user-action=ignore --target "$work/python" "onnx==$onnx_version"
        printf '%s\n' "$python_stamp" >"$work/python/.installed"
        rm -rf "$cache/python"
        mv "$work/python" "$cache/python"
    fi
fi
