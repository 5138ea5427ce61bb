#!/usr/bin/env bash
# Installs or removes the capture daemon as a system service (systemd or launchd), with the
# viewer and its desktop entry. Called by `make install-service` / `make uninstall-service`
# (scripts/daemon_control.sh builds the release binaries first).
#
#   scripts/install-service.sh install DAEMON_BIN APP_BIN OWNER_UID:GID SOURCE [DAEMON_ARGS]
#   scripts/install-service.sh uninstall
set -euo pipefail
cd "$(dirname "$0")/.."

systemd_unit=/etc/systemd/system/aaa-camera-daemon.service
systemd_env=/etc/default/aaa-camera-daemon
launchd_plist=/Library/LaunchDaemons/com.aaa.camera-daemon.plist
installed_daemon=/usr/local/bin/aaa-camera-daemon
installed_app=/usr/local/bin/aaa
desktop_entry=/usr/local/share/applications/aaa.desktop
desktop_icon=/usr/local/share/icons/hicolor/256x256/apps/aaa.png

info() { echo "    $*"; }
as_root() {
    [[ "$(id -u)" != 0 ]] || { "$@"; return; }
    command -v sudo >/dev/null 2>&1 || { echo "needs root and sudo is not installed" >&2 && exit 1; }
    sudo "$@"
}

install_desktop_entry() {
    [[ "$(uname -s)" == Linux ]] || return 0
    as_root install -D -m 0644 assets/aaa.desktop "$desktop_entry"
    as_root install -D -m 0644 assets/icon-256.png "$desktop_icon"
    info "$desktop_entry (the viewer in the desktop's application menu)"
    command -v update-desktop-database >/dev/null 2>&1 &&
        as_root update-desktop-database "$(dirname "$desktop_entry")" 2>/dev/null || true
}

install() {
    local daemon_bin="$1" app_bin="$2" owner="$3" source="$4" daemon_args="${5:-}"
    as_root install -m 0755 "$daemon_bin" "$installed_daemon"
    as_root install -m 0755 "$app_bin" "$installed_app"
    info "$installed_daemon, $installed_app"
    install_desktop_entry
    case "$(uname -s)" in
    Linux)
        command -v systemctl >/dev/null 2>&1 || { echo "no systemctl: this installer knows systemd only" >&2 && exit 1; }
        as_root tee "$systemd_env" >/dev/null <<EOF
# Settings of aaa-camera-daemon.service; written by make install-service (again on each install).
# The user whose desktop app reads the frames, as UID:GID (the segments are theirs, mode 0600).
AAA_OWNER=$owner
# realsense, webcam or synthetic (the binary is built with the features of the source installed).
AAA_SOURCE=$source
# More arguments for \`aaa-camera-daemon run\`, e.g. --width 1280 --height 720 --fps 30
AAA_DAEMON_ARGS=$daemon_args
# Another namespace than the default segment names (then start the app with --namespace too):
#AAA_NAMESPACE=cam2
EOF
        info "$systemd_env (AAA_OWNER=$owner, AAA_SOURCE=$source)"
        as_root install -m 0644 deploy/systemd/aaa-camera-daemon.service "$systemd_unit"
        info "$systemd_unit"
        if [[ -d /run/systemd/system ]]; then
            as_root systemctl daemon-reload
            as_root systemctl enable aaa-camera-daemon.service
            as_root systemctl restart aaa-camera-daemon.service
            echo "[✓] installed, enabled at boot and started"
            info "status: systemctl status aaa-camera-daemon; log: journalctl -u aaa-camera-daemon -f"
        else
            as_root systemctl enable aaa-camera-daemon.service 2>/dev/null || true
            echo "[!] systemd is not running here: installed and enabled; it starts at the next boot"
        fi
        ;;
    Darwin)
        local plist
        plist="$(mktemp)"
        sed -e "s|@OWNER@|$owner|g" -e "s|@SOURCE@|$source|g" deploy/launchd/com.aaa.camera-daemon.plist >"$plist"
        as_root install -m 0644 -o root -g wheel "$plist" "$launchd_plist"
        rm -f "$plist"
        as_root launchctl bootout system/com.aaa.camera-daemon 2>/dev/null || true
        as_root launchctl bootstrap system "$launchd_plist"
        echo "[✓] installed and started: $launchd_plist (runs at boot)"
        info "log: /var/log/aaa-camera-daemon.log; status: make daemon-status"
        ;;
    *) echo "install-service: $(uname -s) is not supported (systemd or launchd only)" >&2 && exit 1 ;;
    esac
}

uninstall() {
    case "$(uname -s)" in
    Linux)
        if [[ -d /run/systemd/system ]]; then
            as_root systemctl disable --now aaa-camera-daemon.service 2>/dev/null || true
        else
            as_root systemctl disable aaa-camera-daemon.service 2>/dev/null || true
        fi
        as_root rm -f "$systemd_unit" "$systemd_env" "$desktop_entry" "$desktop_icon"
        [[ ! -d /run/systemd/system ]] || as_root systemctl daemon-reload
        ;;
    Darwin)
        as_root launchctl bootout system/com.aaa.camera-daemon 2>/dev/null || true
        as_root rm -f "$launchd_plist"
        ;;
    *) echo "uninstall-service: $(uname -s) is not supported" >&2 && exit 1 ;;
    esac
    as_root rm -f "$installed_daemon" "$installed_app"
    echo "[✓] removed (segments of a killed daemon: make clean-shm)"
}

case "${1:-}" in
install) shift && install "$@" ;;
uninstall) uninstall ;;
*) sed -n '6,7p' "$0" | sed 's/^# \{0,1\}//' && exit 2 ;;
esac
