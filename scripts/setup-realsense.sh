#!/usr/bin/env bash
# Makes librealsense2 available for `cargo build -p capture-daemon --features realsense` (and
# camera-sources) on a machine without Intel's packages (Debian 12 has none), and without any
# camera.
#
# Where librealsense2 comes from: the PyPI wheel `pyrealsense2` links librealsense statically
# into its Python extension module, which exports every `rs2_*` C function. This script
#   1. apt-installs what that module and the build need (libusb-1.0-0, libudev1, pkg-config, a
#      venv-capable python3 with its shared libpython), only when something is missing;
#   2. installs the pinned wheel into a project-local venv, .realsense/venv (git-ignored);
#   3. builds a link folder, .realsense/lib: `librealsense2.so` and the module's SONAME as
#      symlinks to the module, libpython's names as symlinks to the interpreter's shared
#      library, and pkgconfig/realsense2.pc, which realsense-sys finds with pkg-config;
#   4. writes .realsense/env.sh and prints the same `export` lines on stdout (everything else
#      goes to stderr), so both of these work:
#          scripts/setup-realsense.sh && source .realsense/env.sh
#          eval "$(scripts/setup-realsense.sh)"
#
# The exported REALSENSE_WHEEL_LIB_DIR and REALSENSE_WHEEL_PYTHON_LIB make camera-sources/
# build.rs add an rpath to the link folder and link libpython with --no-as-needed: the module
# leaves CPython's symbols (PyExc_*) undefined and fails to load without it. On a machine with
# a real librealsense2 (Intel's packages, Homebrew), skip this script: pkg-config finds it and
# build.rs adds nothing.
#
# Pinned: pyrealsense2 2.59.1. It plays .bag (ROS1, what RealSense Viewer <= 2.56 records) and
# .db3 (ROS2) recordings, and records .db3 (only); scripts/make_recording.py therefore writes
# .db3 files. 2.56.5 (the exact version of realsense-sys's bindings) records .bag but cannot
# read .db3, and its recorder drops the first frame. Every enum value the 2.56.5 bindings name
# is unchanged in 2.59.1 (2.59 only appends).
#
# Idempotent: a second run checks and rewrites nothing (about a second).
# Environment: REALSENSE_PYTHON_BASE picks the interpreter for the venv (default: python3).
set -euo pipefail

readonly PYREALSENSE2_VERSION="2.59.1.11053"
readonly NUMPY_VERSION="2.2.6"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="$root/.realsense"
venv="$state/venv"
lib_dir="$state/lib"
base_python="${REALSENSE_PYTHON_BASE:-python3}"

log() { echo "setup-realsense: $*" >&2; }

# --- 1. Debian packages ------------------------------------------------------------------
apt_missing=()
need_deb() {
    local status
    status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || apt_missing+=("$1")
}
need_deb libusb-1.0-0
need_deb libudev1
need_deb pkg-config
if ! command -v "$base_python" >/dev/null 2>&1; then
    need_deb python3
    need_deb python3-venv
    need_deb libpython3.11
elif ! "$base_python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    need_deb python3-venv
fi

python_config() {
    # LIBDIR, the shared library's SONAME (INSTSONAME) and VERSION of the base interpreter.
    "$1" -c 'import sysconfig as s; print(s.get_config_var("LIBDIR") or ""); print(s.get_config_var("INSTSONAME") or ""); print(s.get_config_var("VERSION") or "")'
}
if command -v "$base_python" >/dev/null 2>&1; then
    { read -r py_libdir; read -r py_soname; read -r py_version; } < <(python_config "$base_python")
    if [[ ! -e "$py_libdir/$py_soname" && "$py_libdir" == /usr/lib/* ]]; then
        # Debian's python3.X binary is static; its shared library is a separate package.
        need_deb "libpython$py_version"
    fi
fi

if ((${#apt_missing[@]} > 0)); then
    command_line="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${apt_missing[*]}"
    if [[ "$(id -u)" != 0 ]]; then
        log "missing Debian packages: ${apt_missing[*]}"
        log "run as root, then run this script again: sudo sh -c '$command_line'"
        exit 1
    fi
    log "installing Debian packages: ${apt_missing[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >&2
fi

{ read -r py_libdir; read -r py_soname; read -r py_version; } < <(python_config "$base_python")
if [[ -z "$py_soname" || ! -e "$py_libdir/$py_soname" ]]; then
    log "the interpreter $base_python ($(command -v "$base_python")) has no shared libpython"
    log "(looked for '$py_libdir/$py_soname'); librealsense from the wheel needs one at run time."
    log "Use another interpreter: REALSENSE_PYTHON_BASE=/usr/bin/python3 $0"
    exit 1
fi

# --- 2. The venv with the pinned wheel ----------------------------------------------------
stamp="$venv/.aaa-pyrealsense2"
wanted_stamp="pyrealsense2==$PYREALSENSE2_VERSION numpy==$NUMPY_VERSION python=$py_version"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted_stamp" ]]; then
    log "venv up to date ($wanted_stamp)"
else
    if [[ ! -x "$venv/bin/python" ]] || [[ "$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_config_var("VERSION"))' 2>/dev/null)" != "$py_version" ]]; then
        log "creating venv $venv with $base_python $py_version"
        rm -rf "$venv"
        mkdir -p "$state"
        "$base_python" -m venv "$venv"
    fi
    log "installing pyrealsense2==$PYREALSENSE2_VERSION numpy==$NUMPY_VERSION"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "pyrealsense2==$PYREALSENSE2_VERSION" "numpy==$NUMPY_VERSION" >&2
    echo "$wanted_stamp" >"$stamp"
fi

# --- 3. The link folder ---------------------------------------------------------------------
module=$("$venv/bin/python" - <<'EOF'
import glob, os, sysconfig
candidates = glob.glob(os.path.join(sysconfig.get_paths()["platlib"], "pyrealsense2", "pyrealsense2.*.so"))
print(candidates[0] if candidates else "")
EOF
)
if [[ -z "$module" ]]; then
    log "pyrealsense2 is installed but its extension module was not found in $venv"
    exit 1
fi
# The module's SONAME (e.g. pyrealsense2.cpython-311-x86_64-linux-gnu.so.2.59) is what a
# binary linked against it records as NEEDED, so the link folder must hold that name too.
module_soname=$("$venv/bin/python" - "$module" <<'EOF'
import struct, sys
# Minimal ELF64 little-endian reader: DT_SONAME from the dynamic section (no binutils needed).
with open(sys.argv[1], "rb") as f:
    data = f.read()
assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "not an ELF64 LE file"
shoff, = struct.unpack_from("<Q", data, 0x28)
shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
for _name, sh_type, _flags, _addr, offset, size, link, _info, _align, entsize in sections:
    if sh_type != 6:  # SHT_DYNAMIC
        continue
    strtab_offset = sections[link][4]
    for pos in range(offset, offset + size, entsize or 16):
        tag, value = struct.unpack_from("<qQ", data, pos)
        if tag == 14:  # DT_SONAME
            end = data.index(b"\0", strtab_offset + value)
            print(data[strtab_offset + value:end].decode())
            sys.exit(0)
print("")
EOF
)
librealsense_version="${PYREALSENSE2_VERSION%.*}" # 2.59.1.11053 is librealsense 2.59.1, build 11053
python_lib="python$py_version"

mkdir -p "$lib_dir/pkgconfig"
link() { # link TARGET NAME: (re)point lib_dir/NAME at TARGET unless it already does
    [[ "$(readlink "$lib_dir/$2" 2>/dev/null)" == "$1" ]] || ln -sfn "$1" "$lib_dir/$2"
}
link "$module" librealsense2.so
[[ -z "$module_soname" ]] || link "$module" "$module_soname"
link "$py_libdir/$py_soname" "lib$python_lib.so"
link "$py_libdir/$py_soname" "$py_soname"

write_if_changed() { # write_if_changed PATH: stdin to PATH, keeping the file (and its mtime) if equal
    local content
    content=$(cat)
    [[ -f "$1" && "$(cat "$1")" == "$content" ]] || printf '%s\n' "$content" >"$1"
}
write_if_changed "$lib_dir/pkgconfig/realsense2.pc" <<EOF
# Generated by scripts/setup-realsense.sh: librealsense2 from the pyrealsense2 wheel.
prefix=$state
libdir=$lib_dir

Name: realsense2
Description: Intel RealSense SDK 2.0, linked statically into pyrealsense2 $PYREALSENSE2_VERSION
Version: $librealsense_version
Libs: -L\${libdir} -lrealsense2 -l$python_lib
Cflags:
EOF

write_if_changed "$state/env.sh" <<EOF
# Generated by scripts/setup-realsense.sh; source it before cargo with --features realsense.
case ":\${PKG_CONFIG_PATH:-}:" in
    *":$lib_dir/pkgconfig:"*) ;;
    *) export PKG_CONFIG_PATH="$lib_dir/pkgconfig\${PKG_CONFIG_PATH:+:\$PKG_CONFIG_PATH}" ;;
esac
export REALSENSE_WHEEL_LIB_DIR="$lib_dir"
export REALSENSE_WHEEL_PYTHON_LIB="$python_lib"
export REALSENSE_PYTHON="$venv/bin/python"
EOF

log "librealsense $librealsense_version ready in $lib_dir (python lib $python_lib from $py_libdir)"
log "use it with: source $state/env.sh"
cat "$state/env.sh"
