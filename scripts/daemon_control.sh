#!/usr/bin/env bash
# Runs the capture daemon and the app for people: what the Makefile's targets call.
#   scripts/daemon_control.sh start|stop|restart|status|clean-shm|run|run-with-daemon|demo
#   scripts/daemon_control.sh install-service|uninstall-service|install-tray|uninstall-tray
# Settings come from the environment (the Makefile exports and documents them). The rules live
# in the daemon binary, called here: where its files are (`paths`), whether a source needs root
# (`needs-root`), stopping (`stop`), state and pid (`status`). This script keeps what only a
# shell does: building, sudo, the log of a daemon started in the background, services.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# --- output ----------------------------------------------------------------------------
if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
    green=$'\e[32m' red=$'\e[31m' yellow=$'\e[33m' bold=$'\e[1m' reset=$'\e[0m'
else
    green='' red='' yellow='' bold='' reset=''
fi
ok() { echo "${green}[✓]${reset} $*"; }
warn() { echo "${yellow}[!]${reset} $*"; }
info() { echo "    $*"; }
fail() { echo "${red}[✗]${reset} $*" >&2; }
heading() { echo "${bold}=== $* ===${reset}"; }
die() { fail "$@" && exit 1; }

# --- settings --------------------------------------------------------------------------
SOURCE="${SOURCE:-realsense}"
NAMESPACE="${NAMESPACE:-${AAA_NAMESPACE:-}}"
RUNTIME_DIR="${RUNTIME_DIR:-${AAA_RUNTIME_DIR:-}}"
PROFILE="${PROFILE:-release}"
USE_SUDO="${USE_SUDO:-auto}"
STOP_TIMEOUT="${STOP_TIMEOUT:-5}"
START_TIMEOUT="${START_TIMEOUT:-15}"
LOG_MAX_BYTES="${LOG_MAX_BYTES:-10485760}"
log_given="${LOG:+1}"
read -r -a daemon_args <<<"${DAEMON_ARGS:-}"
read -r -a app_args <<<"${APP_ARGS:-}"
case "$SOURCE" in realsense | webcam | synthetic) ;; *) die "SOURCE=$SOURCE: use realsense, webcam or synthetic" ;; esac
case "$USE_SUDO" in auto | yes | no) ;; *) die "USE_SUDO=$USE_SUDO: use auto, yes or no" ;; esac
case "$PROFILE" in release) profile_flag=(--release) ;; debug) profile_flag=() ;; *) die "PROFILE=$PROFILE: use release or debug" ;; esac
target_dir="${CARGO_TARGET_DIR:-$root/target}"
daemon_bin="$target_dir/$PROFILE/aaa-camera-daemon"
app_bin="$target_dir/$PROFILE/aaa"
os="$(uname -s)"
my_uid="$(id -u)"

# The daemon's global options.
derive_args() {
    namespace_label="${NAMESPACE:-(default)}"
    global_args=()
    [[ -z "$NAMESPACE" ]] || global_args+=(--namespace "$NAMESPACE")
    [[ -z "$RUNTIME_DIR" ]] || global_args+=(--runtime-dir "$RUNTIME_DIR")
}
derive_args

# --- building: build_daemon, build_app ------------------------------------------------
# shellcheck source=lib/build.sh
source scripts/lib/build.sh

# --- the daemon ------------------------------------------------------------------------
daemon() {
    [[ -x "$daemon_bin" ]] || build_daemon >&2
    "$daemon_bin" "${global_args[@]}" "$@"
}
# 0 running, 1 stale, 3 not running, 4 another user's segments (`aaa-camera-daemon status`).
daemon_state() {
    local code=0
    daemon status >/dev/null 2>&1 || code=$?
    echo "$code"
}
daemon_pid() { daemon status --pid 2>/dev/null || true; }
# The log file (LOG, else where the binary says), in $LOG.
resolve_log() {
    local key value
    [[ -z "$log_given" ]] || return 0
    while IFS='=' read -r key value; do
        [[ "$key" != log ]] || LOG="$value"
    done < <(daemon paths)
}

# Runs "$@" as root: directly when root, else through sudo.
as_root() {
    [[ "$my_uid" != 0 ]] || { "$@"; return; }
    command -v sudo >/dev/null 2>&1 || die "needs root and sudo is not installed: run as root: $*"
    sudo "$@"
}

# Why the daemon must start through sudo, or nothing.
sudo_reason() {
    [[ "$my_uid" != 0 ]] || return 0
    case "$USE_SUDO" in
    no) ;;
    yes) echo "USE_SUDO=yes" ;;
    auto) daemon needs-root --source "$SOURCE" || true ;;
    esac
}

log_tail() {
    resolve_log
    if [[ -s "$LOG" ]]; then
        echo "Recent log entries ($LOG, last $1 lines):"
        tail -n "$1" "$LOG" | sed 's/^/  /'
    else
        echo "No log at $LOG"
    fi
}

# Runs the daemon's command "$@"; again through sudo when its files are root's.
daemon_maybe_as_root() {
    local output code=0
    output="$(daemon "$@" 2>&1)" || code=$?
    if ((code != 0)) && [[ "$my_uid" != 0 ]] && [[ "$output" == *"another user"* || "$output" == *ermission* ]]; then
        warn "the daemon's files belong to root: again through sudo"
        output="$(as_root "$daemon_bin" "${global_args[@]}" "$@" 2>&1)" && code=0 || code=$?
    fi
    while read -r line; do [[ -z "$line" ]] || info "$line"; done <<<"$output"
    return "$code"
}

# --- commands --------------------------------------------------------------------------
cmd_start() {
    build_daemon
    case "$(daemon_state)" in
    0)
        ok "camera daemon already running (pid $(daemon_pid), namespace $namespace_label); not starting another"
        return 0
        ;;
    1)
        warn "a dead daemon left segments or a pid file behind: cleaning up"
        daemon_maybe_as_root cleanup || die "cleanup failed"
        ;;
    esac
    resolve_log
    mkdir -p "$(dirname "$LOG")"
    if [[ -f "$LOG" ]] && (($(wc -c <"$LOG") > LOG_MAX_BYTES)); then
        mv -f "$LOG" "$LOG.1"
        info "log rotated: $LOG.1"
    fi
    local reason launcher=() pid=""
    reason="$(sudo_reason)"
    if [[ -n "$reason" ]]; then
        command -v sudo >/dev/null 2>&1 || die "starting needs root ($reason), and sudo is not installed"
        warn "starting through sudo: $reason"
        info "the daemon hands its segments and files to you (uid $my_uid); the app runs without sudo"
        sudo -v || die "sudo refused"
        launcher=(sudo -n -b)
    elif command -v setsid >/dev/null 2>&1; then
        launcher=(setsid) # its own session: Ctrl-C here later does not reach it
    fi
    echo "Starting camera daemon (source $SOURCE, namespace $namespace_label)..."
    echo "---- $(date '+%Y-%m-%d %H:%M:%S') make daemon-start: source $SOURCE, namespace $namespace_label" >>"$LOG"
    # Your shell opens the log, so the file stays yours under sudo.
    ${launcher[@]+"${launcher[@]}"} nohup env NO_COLOR=1 RUST_LOG="${RUST_LOG:-info}" \
        "$daemon_bin" "${global_args[@]}" run --source "$SOURCE" ${daemon_args[@]+"${daemon_args[@]}"} \
        </dev/null >>"$LOG" 2>&1 &
    [[ "${launcher[0]:-}" == sudo ]] || pid=$!
    local deadline=$((SECONDS + START_TIMEOUT))
    while [[ "$(daemon_state)" != 0 ]]; do
        if [[ -n "$pid" ]] && ! ps -p "$pid" >/dev/null 2>&1; then
            fail "the camera daemon exited at once"
            log_tail 15 >&2
            return 1
        fi
        if ((SECONDS >= deadline)); then
            fail "the camera daemon did not come up within $START_TIMEOUT s"
            log_tail 15 >&2
            return 1
        fi
        sleep 0.1
    done
    ok "camera daemon started (pid $(daemon_pid), namespace $namespace_label)"
    info "log: $LOG; status: make daemon-status; stop: make daemon-stop"
}

# The systemd unit running pid $1, if any.
systemd_unit_of() {
    [[ -r "/proc/$1/cgroup" ]] || return 0
    sed -n 's|.*/\([^/]*\.service\)$|\1|p' "/proc/$1/cgroup" | head -n 1
}

cmd_stop() {
    local pid
    pid="$(daemon_pid)"
    if [[ -n "$pid" && "$(systemd_unit_of "$pid")" == aaa-camera-daemon.service ]]; then
        warn "pid $pid is the system service: stopping it with systemctl (it starts again at boot)"
        as_root systemctl stop aaa-camera-daemon.service && ok "service stopped" && return 0
    fi
    daemon_maybe_as_root stop --timeout "$STOP_TIMEOUT" || die "stopping the daemon failed"
}

cmd_status() {
    heading "Camera daemon status (namespace $namespace_label)"
    local code=0 text pid unit=""
    text="$(daemon status 2>&1)" || code=$?
    case "$code" in
    0) ok "daemon is ${green}RUNNING${reset} (pid $(daemon_pid))" ;;
    1) warn "daemon is ${yellow}NOT RUNNING${reset}, but left segments or a pid file behind: make clean-shm" ;;
    3) echo "${red}[✗]${reset} daemon is ${red}NOT RUNNING${reset}" ;;
    4) warn "the segments belong to another user: run the status as that user or as root" ;;
    *) fail "status failed (exit $code)" ;;
    esac
    echo
    echo "$text"
    pid="$(daemon_pid)"
    if [[ -n "$pid" ]] && ps -p "$pid" >/dev/null 2>&1; then
        echo
        echo "Process:"
        ps -o user,pid,%cpu,%mem,rss,etime,command -p "$pid" | sed 's/^/  /'
        unit="$(systemd_unit_of "$pid")"
    fi
    echo
    if [[ "$unit" == aaa-camera-daemon.service ]]; then
        echo "The system service (systemctl status aaa-camera-daemon); its journal, last 10 lines:"
        journalctl -u aaa-camera-daemon -n 10 --no-pager 2>&1 | sed 's/^/  /' || true
    else
        log_tail 10
    fi
    return "$code"
}

cmd_clean_shm() {
    echo "Cleaning up shared memory of namespace $namespace_label..."
    if [[ "$(daemon_state)" == 0 ]]; then
        fail "the daemon is alive (pid $(daemon_pid)); stop it first: make daemon-stop"
        return 1
    fi
    daemon_maybe_as_root cleanup || die "cleanup failed"
    ok "clean"
}

# Fails with advice when the app cannot open a window here.
require_display() {
    [[ "$os" == Linux && -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]] || return 0
    fail "no display: DISPLAY and WAYLAND_DISPLAY are unset, and the app opens a window."
    cat >&2 <<EOF
    Run it in a desktop session, or on a machine without one under a virtual X server:
        sudo apt-get install xvfb xauth
        xvfb-run -a make ${1:-run} APP_ARGS='--smoke-test 10 --screenshot screenshot.png'
    (--smoke-test 10 closes the app after 10 s; --screenshot saves what it showed.)
EOF
    exit 1
}

run_app() {
    local ns_args=()
    [[ -z "$NAMESPACE" ]] || ns_args=(--namespace "$NAMESPACE")
    "$app_bin" ${ns_args[@]+"${ns_args[@]}"} ${app_args[@]+"${app_args[@]}"}
}

started_here=0
stop_if_started_here() { if ((started_here)); then started_here=0 && echo && { cmd_stop || true; }; fi; }

# $1: the make target (for messages), $2: the app's default features.
cmd_run_with_daemon() {
    require_display "$1"
    bash scripts/setup-runtime-deps.sh >/dev/null
    build_daemon
    build_app "$2"
    if [[ "$(daemon_state)" == 0 ]]; then
        ok "using the running camera daemon (pid $(daemon_pid)); it keeps running after the app"
    else
        trap stop_if_started_here EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        started_here=1 # set first: a daemon that fails to report in time is stopped too
        cmd_start
    fi
    echo "Launching the app..."
    local code=0
    run_app || code=$?
    ((code == 0)) || fail "the app exited with status $code"
    stop_if_started_here
    return "$code"
}

# --- services --------------------------------------------------------------------------
desktop_user() {
    local user="${DESKTOP_USER:-${SUDO_USER:-$(id -un)}}"
    id "$user" >/dev/null 2>&1 || die "DESKTOP_USER=$user: no such user"
    [[ "$(id -u "$user")" != 0 || -n "${DESKTOP_USER:-}" ]] ||
        die "the segments would go to root; say who uses the app: make install-service DESKTOP_USER=<login>"
    echo "$user"
}

cmd_install_service() {
    PROFILE=release profile_flag=(--release) daemon_bin="$target_dir/release/aaa-camera-daemon"
    local user owner
    user="$(desktop_user)"
    owner="$(id -u "$user"):$(id -g "$user")"
    build_daemon
    build_app webcam
    heading "Installing the camera daemon as a system service (source $SOURCE, segments for $user)"
    bash scripts/install-service.sh install "$daemon_bin" "$target_dir/release/aaa" "$owner" "$SOURCE" "${DAEMON_ARGS:-}"
}

# The tray in the desktop session's autostart, with the daemon and viewer it starts beside it.
cmd_install_tray() {
    build_daemon
    build_app webcam
    build_tray
    heading "Adding aaa-tray to your desktop session's autostart (source $SOURCE, namespace $namespace_label)"
    bash scripts/install-tray.sh install "$target_dir/$PROFILE/aaa-tray" "$SOURCE" "$NAMESPACE" "$RUNTIME_DIR"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
restart) build_daemon && cmd_stop && cmd_start ;; # build first: the old one runs meanwhile
status) cmd_status ;;
clean-shm) cmd_clean_shm ;;
run) require_display run && bash scripts/setup-runtime-deps.sh >/dev/null && build_app webcam && run_app ;;
run-with-daemon) cmd_run_with_daemon run-with-daemon webcam ;;
demo) # its own namespace: a camera daemon in the default one is left alone
    NAMESPACE="${NAMESPACE:-demo}" SOURCE=synthetic
    derive_args
    heading "aaa demo: the capture daemon with the synthetic 3D scene, and the viewer"
    cmd_run_with_daemon demo none
    ;;
install-service) cmd_install_service ;;
uninstall-service) heading "Removing the camera daemon service" && bash scripts/install-service.sh uninstall ;;
install-tray) cmd_install_tray ;;
uninstall-tray) heading "Removing aaa-tray from your desktop session's autostart" && bash scripts/install-tray.sh uninstall ;;
*) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' && exit 2 ;;
esac
