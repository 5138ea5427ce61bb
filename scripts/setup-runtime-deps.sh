#!/usr/bin/env bash
# Installs the Debian packages the app `aaa` needs to open its window (eframe with glow: OpenGL
# through Mesa, X11 or Wayland), listed in scripts/app-runtime-deps.txt; with --test also what
# the end-to-end tests need: Xvfb (xvfb-run, xauth), python3 (the screenshot check), strace
# (the hardening tests) and dbus-daemon (the tray's tests run a private session bus).
#
# Idempotent: when everything is installed it only checks (well under a second) and touches no
# network. As root it runs apt-get (update first); otherwise it prints the exact command and
# fails. Not a Debian system (macOS, other distributions): prints what to look for and succeeds.
#
# Usage: scripts/setup-runtime-deps.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."

with_test=0
case "${1:-}" in
--test) with_test=1 ;;
"") ;;
*)
    echo "usage: scripts/setup-runtime-deps.sh [--test]" >&2
    exit 2
    ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
    if [[ "$(uname -s)" != Darwin ]]; then
        echo "setup-runtime-deps: not a Debian system: install OpenGL (Mesa), libxkbcommon, the X11 libraries" >&2
        echo "setup-runtime-deps: (Xcursor, Xi, Xrandr) and, for the tests, Xvfb and python3 yourself" >&2
    fi
    exit 0
fi

packages=()
while read -r package; do
    [[ -n "$package" && "$package" != \#* ]] && packages+=("$package")
done <scripts/app-runtime-deps.txt

if ((with_test)); then
    # xvfb-run needs xauth; the screenshot check needs a python3 (any, only its standard library);
    # the hardening tests trace the daemon's system calls with strace; the tray's end-to-end
    # test plays the tray host on a session bus of its own (dbus-daemon --session).
    packages+=(xvfb xauth strace dbus-daemon)
    command -v python3 >/dev/null 2>&1 || packages+=(python3-minimal)
fi

# shellcheck source=lib/debian-packages.sh
source scripts/lib/debian-packages.sh
ensure_debian_packages setup-runtime-deps "${packages[@]}"
