#!/usr/bin/env bash
# The tray `aaa-tray` in the desktop session's autostart (XDG autostart, Linux): called by
# `make install-tray` / `make uninstall-tray` through scripts/daemon_control.sh.
#   scripts/install-tray.sh install TRAY_BINARY SOURCE NAMESPACE RUNTIME_DIR
#   scripts/install-tray.sh uninstall
# install writes $XDG_CONFIG_HOME/autostart/aaa-tray.desktop (default ~/.config/autostart) from
# assets/aaa-tray.desktop, its Exec line running TRAY_BINARY with the daemon's source, namespace
# and runtime directory (empty: the defaults); the tray finds aaa and aaa-camera-daemon next
# to its binary. It takes effect at the next login; the script also says how to start it now.
# uninstall removes that file (nothing to do when it is absent). Per user: no root needed.
set -euo pipefail
cd "$(dirname "$0")/.."

entry="${XDG_CONFIG_HOME:-$HOME/.config}/autostart/aaa-tray.desktop"

# $1 as one word of a desktop entry's Exec line: bare, or in double quotes when it holds
# spaces. Other characters would need the spec's two levels of escaping: refused instead.
exec_word() {
    if [[ "$1" =~ ^[A-Za-z0-9_./:=+,@-]+$ ]]; then
        printf '%s' "$1"
    elif [[ "$1" =~ ^[A-Za-z0-9_./:=+,@\ -]+$ ]]; then
        printf '"%s"' "$1"
    else
        echo "install-tray: '$1' has characters an autostart entry cannot hold plainly; use a simpler path" >&2
        return 1
    fi
}

case "${1:-}" in
install)
    [[ $# == 5 ]] || { sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//' >&2 && exit 2; }
    tray="$2" source="$3" namespace="$4" runtime_dir="$5"
    if [[ "$(uname -s)" == Darwin ]]; then
        echo "install-tray: aaa-tray has no macOS menu-bar backend in this build; nothing installed" >&2
        exit 1
    fi
    [[ -x "$tray" ]] || { echo "install-tray: $tray is not an executable" >&2 && exit 1; }
    command=("$tray" --daemon-source "$source")
    [[ -z "$namespace" ]] || command+=(--namespace "$namespace")
    [[ -z "$runtime_dir" ]] || command+=(--runtime-dir "$runtime_dir")
    exec_line="Exec="
    for word in "${command[@]}"; do
        exec_line+="$(exec_word "$word") "
    done
    exec_line="${exec_line% }"
    mkdir -p "$(dirname "$entry")"
    while IFS= read -r line; do
        [[ "$line" == Exec=* ]] && line="$exec_line"
        printf '%s\n' "$line"
    done <assets/aaa-tray.desktop >"$entry.tmp"
    mv "$entry.tmp" "$entry"
    echo "    $entry (aaa-tray starts with your desktop session)"
    echo "    start it now: ${exec_line#Exec=} &"
    ;;
uninstall)
    if [[ -e "$entry" ]]; then
        rm -f "$entry"
        echo "    removed $entry"
    else
        echo "    $entry: not installed"
    fi
    ;;
*)
    sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
