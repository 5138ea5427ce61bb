#!/usr/bin/env bash
# Runs the capture daemon and the app for people: what the Makefile's targets call.
#
#   scripts/daemon_control.sh start|stop|restart|status|clean-shm
#   scripts/daemon_control.sh run|run-with-daemon|demo
#   scripts/daemon_control.sh install-service|uninstall-service
#
# Settings come from the environment (the Makefile exports its variables of the same names):
#   SOURCE        realsense (default), webcam or synthetic
#   NAMESPACE     the daemon's namespace (default: the seed's segment names)
#   RUNTIME_DIR   directory of the pid file and socket, one only you can write (default:
#                 $AAA_RUNTIME_DIR, else /run/aaa-camera-daemon for a daemon running as root and
#                 $XDG_RUNTIME_DIR/aaa-camera-daemon otherwise; `aaa-camera-daemon paths`)
#   LOG           the daemon's log file (default: in RUNTIME_DIR when that is given, else
#                 ~/.local/state/aaa-camera-daemon/aaa_camera_daemon[.NAMESPACE].log);
#                 moved to $LOG.1 at start when larger than LOG_MAX_BYTES (default 10 MiB)
#   PROFILE       cargo profile of the binaries: release (default) or debug
#   DAEMON_ARGS   more arguments for `aaa-camera-daemon run` (e.g. "--width 1280 --height 720")
#   APP_ARGS      more arguments for the app (e.g. "--smoke-test 5")
#   APP_FEATURES  cargo features of the app, or "none" (default: webcam for run and
#                 run-with-daemon, none for demo)
#   USE_SUDO      auto (default), yes or no: whether to start the daemon through sudo
#   STOP_TIMEOUT  seconds between SIGTERM and SIGKILL (default 5)
#   START_TIMEOUT seconds to wait for a started daemon to report (default 15)
#   DESKTOP_USER  install-service: the user the segments are handed to (default: the sudo user,
#                 else you)
#
# The daemon holds its own pid file (<runtime dir>/aaa_camera_daemon[.NAMESPACE].pid, under a
# lock while it lives); this script never writes one. sudo is used only where it is needed:
# to start a RealSense daemon on macOS (USB access), or on Linux when the camera's device node
# is not accessible to you (no udev rule, not in the video group); to stop a daemon that runs
# as root; and to install a service.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# --- output ----------------------------------------------------------------------------
if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
    green=$'\e[32m' red=$'\e[31m' yellow=$'\e[33m' bold=$'\e[1m' reset=$'\e[0m'
else
    green='' red='' yellow='' bold='' reset=''
fi
if [[ -t 2 && -z "${NO_COLOR:-}" ]]; then
    err_red=$'\e[31m' err_reset=$'\e[0m'
else
    err_red='' err_reset=''
fi
ok() { echo "${green}[✓]${reset} $*"; }
warn() { echo "${yellow}[!]${reset} $*"; }
info() { echo "    $*"; }
fail() { echo "${err_red}[✗]${err_reset} $*" >&2; }
bad() { echo "${red}[✗]${reset} $*"; }
heading() { echo "${bold}=== $* ===${reset}"; }
die() {
    fail "$@"
    exit 1
}

# --- settings --------------------------------------------------------------------------
SOURCE="${SOURCE:-realsense}"
NAMESPACE="${NAMESPACE:-${AAA_NAMESPACE:-}}"
RUNTIME_DIR="${RUNTIME_DIR:-${AAA_RUNTIME_DIR:-}}"
PROFILE="${PROFILE:-release}"
USE_SUDO="${USE_SUDO:-auto}"
STOP_TIMEOUT="${STOP_TIMEOUT:-5}"
START_TIMEOUT="${START_TIMEOUT:-15}"
LOG_MAX_BYTES="${LOG_MAX_BYTES:-10485760}"
read -r -a daemon_args <<<"${DAEMON_ARGS:-}"
read -r -a app_args <<<"${APP_ARGS:-}"

case "$SOURCE" in
realsense | webcam | synthetic) ;;
*) die "SOURCE=$SOURCE: use realsense, webcam or synthetic" ;;
esac
case "$PROFILE" in
release) profile_flag=(--release) ;;
debug) profile_flag=() ;;
*) die "PROFILE=$PROFILE: use release or debug" ;;
esac

# The daemon's global options from the settings. Where its files are is the binary's rule
# (`aaa-camera-daemon paths`): the system directory for a daemon running as root, yours
# otherwise, or RUNTIME_DIR when given.
derive_paths() {
    namespace_label="${NAMESPACE:-(default)}"
    global_args=()
    [[ -z "$NAMESPACE" ]] || global_args+=(--namespace "$NAMESPACE")
    [[ -z "$RUNTIME_DIR" ]] || global_args+=(--runtime-dir "$RUNTIME_DIR")
}
derive_paths

# Sets pid_file and, unless given, LOG from the binary (built first when missing).
resolve_paths() {
    [[ -x "$daemon_bin" ]] || build_daemon >&2
    local key value
    while IFS='=' read -r key value; do
        case "$key" in
        pid_file) pid_file="$value" ;;
        log) [[ -n "$log_given" ]] || LOG="$value" ;;
        esac
    done < <("$daemon_bin" "${global_args[@]}" paths)
}
log_given="${LOG:+1}"
pid_file=""
target_dir="${CARGO_TARGET_DIR:-$root/target}"
daemon_bin="$target_dir/$PROFILE/aaa-camera-daemon"
app_bin="$target_dir/$PROFILE/aaa"
os="$(uname -s)"
my_uid="$(id -u)"


# --- building --------------------------------------------------------------------------
# Cargo features the daemon needs for $SOURCE.
daemon_features() {
    case "$SOURCE" in
    realsense) echo realsense ;;
    webcam) echo webcam ;;
    synthetic) echo "" ;;
    esac
}

# Makes librealsense2 visible to the build: the system's (Intel's packages, Homebrew) when
# pkg-config finds it, else the one from the pyrealsense2 wheel (Linux).
prepare_realsense_build() {
    if pkg-config --exists realsense2 2>/dev/null; then
        return
    fi
    if [[ "$os" == Darwin ]]; then
        die "librealsense2 not found by pkg-config: brew install librealsense pkg-config"
    fi
    info "librealsense2 from the pyrealsense2 wheel (scripts/setup-realsense.sh)"
    bash scripts/setup-realsense.sh >/dev/null
    # shellcheck source=/dev/null
    source .realsense/env.sh
}

daemon_built=0
build_daemon() {
    ((daemon_built)) && return 0
    daemon_built=1
    bash scripts/setup-build-deps.sh >/dev/null
    local features
    features="$(daemon_features)"
    [[ "$SOURCE" == realsense ]] && prepare_realsense_build
    info "building aaa-camera-daemon ($PROFILE${features:+, features: $features})"
    cargo build --quiet ${profile_flag[@]+"${profile_flag[@]}"} -p capture-daemon ${features:+--features "$features"}
}

build_app() {
    local features="${APP_FEATURES:-$1}" feature_flags=()
    # The app's default features include the webcam fallback; "none" builds without them.
    if [[ "$features" == none ]]; then
        features="" feature_flags=(--no-default-features)
    elif [[ -n "$features" ]]; then
        feature_flags=(--features "$features")
    fi
    bash scripts/setup-build-deps.sh >/dev/null
    info "building aaa ($PROFILE${features:+, features: $features})"
    cargo build --quiet ${profile_flag[@]+"${profile_flag[@]}"} -p app ${feature_flags[@]+"${feature_flags[@]}"}
}

# --- the daemon's state ----------------------------------------------------------------
daemon() { "$daemon_bin" "${global_args[@]}" "$@"; }

# 0 running, 1 stale (a dead daemon's leftovers), 3 not running, 4 another user's segments:
# `aaa-camera-daemon status`.
daemon_state() {
    local code=0
    daemon status >/dev/null 2>&1 || code=$?
    echo "$code"
}

daemon_pid() {
    daemon status --json 2>/dev/null | sed -n 's/^  "pid": \([0-9][0-9]*\),*$/\1/p'
}

process_alive() { ps -p "$1" >/dev/null 2>&1; }

# True if pid $1 is an aaa-camera-daemon (the kernel's name is cut to 15 characters).
is_daemon_process() {
    local name
    name="$(ps -o comm= -p "$1" 2>/dev/null || true)"
    [[ "$name" == aaa-camera-daem* ]]
}

process_owner_uid() { ps -o uid= -p "$1" 2>/dev/null | tr -d ' '; }

# The systemd unit running pid $1, if any.
systemd_unit_of() {
    [[ -r "/proc/$1/cgroup" ]] || return 0
    sed -n 's|.*/\([^/]*\.service\)$|\1|p' "/proc/$1/cgroup" | head -n 1
}

# Runs "$@" as root: directly when root, else through sudo (asking for the password once).
as_root() {
    if [[ "$my_uid" == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "needs root and sudo is not installed: run as root: $*"
    fi
}

# --- sudo policy -----------------------------------------------------------------------
# Device nodes of the RealSense cameras plugged in (Linux).
realsense_device_nodes() {
    local device product
    for device in /sys/bus/usb/devices/*; do
        [[ -r "$device/idVendor" && "$(cat "$device/idVendor")" == 8086 ]] || continue
        product="$(cat "$device/product" 2>/dev/null || true)"
        [[ "$product" == *RealSense* ]] || continue
        printf '/dev/bus/usb/%03d/%03d\n' "$(cat "$device/busnum")" "$(cat "$device/devnum")"
    done
}

# Why the daemon must start through sudo, or nothing when it need not.
sudo_reason() {
    case "$USE_SUDO" in
    no) return ;;
    yes)
        [[ "$my_uid" != 0 ]] && echo "USE_SUDO=yes"
        return
        ;;
    auto) ;;
    *) die "USE_SUDO=$USE_SUDO: use auto, yes or no" ;;
    esac
    [[ "$my_uid" == 0 ]] && return
    case "$os/$SOURCE" in
    Darwin/realsense)
        echo "librealsense needs root for USB access to the camera on macOS"
        ;;
    Linux/realsense)
        local node
        while read -r node; do
            if [[ -n "$node" && ! -w "$node" ]]; then
                echo "$node (the RealSense) is not writable by you; install librealsense's udev rules to run without sudo"
                return
            fi
        done < <(realsense_device_nodes)
        ;;
    Linux/webcam)
        local nodes=(/dev/video*) node
        [[ -e "${nodes[0]}" ]] || return
        for node in "${nodes[@]}"; do
            [[ -r "$node" && -w "$node" ]] && return
        done
        echo "no /dev/video* is accessible to you; add yourself to the video group (sudo usermod -aG video $USER, then log in again) to run without sudo"
        ;;
    esac
}

# --- log -------------------------------------------------------------------------------
rotate_log() {
    [[ -f "$LOG" ]] || return 0
    local size
    size="$(wc -c <"$LOG" | tr -d ' ')"
    if ((size > LOG_MAX_BYTES)); then
        mv -f "$LOG" "$LOG.1"
        info "log rotated: $LOG.1 ($size bytes)"
    fi
}

log_tail() {
    local lines="${1:-10}"
    resolve_paths
    if [[ -s "$LOG" ]]; then
        echo "Recent log entries ($LOG, last $lines lines):"
        tail -n "$lines" "$LOG" | sed 's/^/  /'
    else
        echo "No log at $LOG"
    fi
}

# --- commands --------------------------------------------------------------------------
cleanup_leftovers() {
    local output code=0
    output="$(daemon cleanup 2>&1)" || code=$?
    if ((code != 0)) && [[ "$my_uid" != 0 && "$output" == *ermission* ]]; then
        warn "the leftovers belong to root: cleaning up through sudo"
        output="$(as_root "$daemon_bin" "${global_args[@]}" cleanup 2>&1)" && code=0 || code=$?
    fi
    if ((code != 0)); then
        fail "cleanup failed: $output"
        return 1
    fi
    local line
    while read -r line; do
        if [[ -n "$line" ]]; then info "$line"; fi
    done <<<"$output"
}

cmd_start() {
    build_daemon
    case "$(daemon_state)" in
    0)
        ok "camera daemon already running (pid $(daemon_pid), namespace $namespace_label); not starting another"
        return 0
        ;;
    1)
        warn "a dead daemon left segments or a pid file behind: cleaning up"
        cleanup_leftovers
        ;;
    esac
    resolve_paths
    mkdir -p "$(dirname "$LOG")"
    rotate_log
    local reason launcher=() pid=""
    reason="$(sudo_reason)"
    if [[ -n "$reason" ]]; then
        command -v sudo >/dev/null 2>&1 || die "starting needs root ($reason), and sudo is not installed"
        warn "starting through sudo: $reason"
        info "the daemon hands its segments and files to you (uid $my_uid); the app runs without sudo"
        sudo -v || die "sudo refused"
        launcher=(sudo -n -b)
    elif command -v setsid >/dev/null 2>&1; then
        # Its own session: Ctrl-C in this terminal later does not reach it.
        launcher=(setsid)
    fi
    echo "Starting camera daemon (source $SOURCE, namespace $namespace_label)..."
    {
        echo "---- $(date '+%Y-%m-%d %H:%M:%S') make daemon-start: source $SOURCE, namespace $namespace_label"
    } >>"$LOG"
    # Plain log lines (NO_COLOR) in the file; the shell, not the daemon, opens the log, so the
    # file stays yours under sudo.
    ${launcher[@]+"${launcher[@]}"} nohup env NO_COLOR=1 RUST_LOG="${RUST_LOG:-info}" \
        "$daemon_bin" "${global_args[@]}" run --source "$SOURCE" ${daemon_args[@]+"${daemon_args[@]}"} \
        </dev/null >>"$LOG" 2>&1 &
    [[ "${launcher[0]:-}" == sudo ]] || pid=$!
    local deadline=$((SECONDS + START_TIMEOUT))
    while [[ "$(daemon_state)" != 0 ]]; do
        if [[ -n "$pid" ]] && ! process_alive "$pid"; then
            wait "$pid" 2>/dev/null || true
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
    resolve_paths
    info "pid file: $pid_file"
    info "log:      $LOG"
    info "status:   make daemon-status; stop: make daemon-stop"
}

cmd_stop() {
    local state
    state="$(daemon_state)"
    if [[ "$state" == 3 ]]; then
        ok "camera daemon not running (namespace $namespace_label)"
        return 0
    fi
    if [[ "$state" == 1 ]]; then
        warn "camera daemon not running, but a dead daemon left things behind: cleaning up"
        cleanup_leftovers
        return
    fi
    local pid unit
    pid="$(daemon_pid)"
    [[ -n "$pid" ]] || die "the daemon runs but its pid is unknown; see: make daemon-status"
    is_daemon_process "$pid" || die "pid $pid is not an aaa-camera-daemon; not signalling it"
    unit="$(systemd_unit_of "$pid")"
    if [[ "$unit" == aaa-camera-daemon.service ]]; then
        warn "pid $pid is the system service: stopping it with systemctl (it starts again at boot)"
        as_root systemctl stop aaa-camera-daemon.service
        ok "service stopped"
        return 0
    fi
    local signal_as=()
    if [[ "$my_uid" != 0 && "$(process_owner_uid "$pid")" != "$my_uid" ]]; then
        warn "pid $pid runs as another user (root): signalling it through sudo"
        signal_as=(as_root)
    fi
    echo "Stopping camera daemon (pid $pid, namespace $namespace_label)..."
    ${signal_as[@]+"${signal_as[@]}"} kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while process_alive "$pid" && ((SECONDS < deadline)); do
        sleep 0.1
    done
    if process_alive "$pid"; then
        warn "still running after ${STOP_TIMEOUT} s: sending SIGKILL"
        ${signal_as[@]+"${signal_as[@]}"} kill -KILL "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 5))
        while process_alive "$pid" && ((SECONDS < deadline)); do
            sleep 0.1
        done
        process_alive "$pid" && die "pid $pid survived SIGKILL"
        ok "daemon killed"
    else
        ok "daemon stopped"
    fi
    # A clean stop leaves nothing; after SIGKILL the segments and pid file remain.
    if [[ "$(daemon_state)" != 3 ]]; then
        echo "Cleaning up shared memory..."
        cleanup_leftovers
    fi
    return 0
}

cmd_status() {
    [[ -x "$daemon_bin" ]] || build_daemon >&2
    heading "Camera daemon status (namespace $namespace_label)"
    local code=0 text pid unit=""
    text="$(daemon status 2>&1)" || code=$?
    case "$code" in
    0) ok "daemon is ${green}RUNNING${reset} (pid $(daemon_pid))" ;;
    1) warn "daemon is ${yellow}NOT RUNNING${reset}, but left segments or a pid file behind: make clean-shm" ;;
    3) bad "daemon is ${red}NOT RUNNING${reset}" ;;
    4) warn "the segments belong to another user: run the status as that user or as root" ;;
    *) fail "status failed (exit $code)" ;;
    esac
    echo
    echo "$text"
    if [[ "$code" == 0 ]]; then
        pid="$(daemon_pid)"
        if [[ -n "$pid" ]] && process_alive "$pid"; then
            echo
            echo "Process:"
            ps -o user,pid,%cpu,%mem,rss,etime,command -p "$pid" | sed 's/^/  /'
            unit="$(systemd_unit_of "$pid")"
        fi
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
    [[ -x "$daemon_bin" ]] || build_daemon
    echo "Cleaning up shared memory of namespace $namespace_label..."
    if [[ "$(daemon_state)" == 0 ]]; then
        fail "the daemon is alive (pid $(daemon_pid)); stop it first: make daemon-stop"
        return 1
    fi
    cleanup_leftovers
    ok "clean"
}

# Fails with advice when the app cannot open a window here.
require_display() {
    [[ "$os" == Linux ]] || return 0
    [[ -n "${DISPLAY:-}" || -n "${WAYLAND_DISPLAY:-}" ]] && return 0
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

cmd_run() {
    require_display run
    bash scripts/setup-runtime-deps.sh >/dev/null
    build_app webcam
    run_app
}

started_here=0
stop_if_started_here() {
    if ((started_here)); then
        started_here=0
        echo
        cmd_stop || true
    fi
}

# $1: the make target (for messages), $2: the app's default features.
cmd_run_with_daemon() {
    require_display "${1:-run-with-daemon}"
    bash scripts/setup-runtime-deps.sh >/dev/null
    build_daemon
    build_app "${2:-webcam}"
    if [[ "$(daemon_state)" == 0 ]]; then
        ok "using the running camera daemon (pid $(daemon_pid)); it keeps running after the app"
    else
        trap stop_if_started_here EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        # Set first: a daemon that starts but fails to report in time is stopped too.
        started_here=1
        cmd_start
    fi
    echo "Launching the app..."
    local code=0
    run_app || code=$?
    if ((code != 0)); then
        fail "the app exited with status $code"
    fi
    stop_if_started_here
    return "$code"
}

cmd_demo() {
    # Its own namespace, so that a camera daemon in the default one is left alone.
    NAMESPACE="${NAMESPACE:-demo}"
    SOURCE=synthetic
    derive_paths
    heading "aaa demo: the capture daemon with the synthetic 3D scene, and the viewer"
    cmd_run_with_daemon demo none
}

# --- services --------------------------------------------------------------------------
systemd_unit=/etc/systemd/system/aaa-camera-daemon.service
systemd_env=/etc/default/aaa-camera-daemon
launchd_plist=/Library/LaunchDaemons/com.aaa.camera-daemon.plist
installed_bin=/usr/local/bin/aaa-camera-daemon

desktop_user() {
    local user="${DESKTOP_USER:-${SUDO_USER:-$(id -un)}}"
    id "$user" >/dev/null 2>&1 || die "DESKTOP_USER=$user: no such user"
    if [[ "$(id -u "$user")" == 0 && -z "${DESKTOP_USER:-}" ]]; then
        die "the segments would go to root; say who uses the app: make install-service DESKTOP_USER=<login>"
    fi
    echo "$user"
}

cmd_install_service() {
    PROFILE=release
    profile_flag=(--release)
    daemon_bin="$target_dir/release/aaa-camera-daemon"
    local user owner
    user="$(desktop_user)"
    owner="$(id -u "$user"):$(id -g "$user")"
    build_daemon
    heading "Installing the camera daemon as a system service (source $SOURCE, segments for $user)"
    case "$os" in
    Linux)
        command -v systemctl >/dev/null 2>&1 || die "no systemctl: this installer knows systemd only"
        as_root install -m 0755 "$daemon_bin" "$installed_bin"
        info "$installed_bin"
        local env_text
        env_text="# Settings of aaa-camera-daemon.service; written by make install-service (again on each install).
# The user whose desktop app reads the frames, as UID:GID (the segments are theirs, mode 0600).
AAA_OWNER=$owner
# realsense, webcam or synthetic (the binary is built with the features of the source installed).
AAA_SOURCE=$SOURCE
# More arguments for \`aaa-camera-daemon run\`, e.g. --width 1280 --height 720 --fps 30
AAA_DAEMON_ARGS=${DAEMON_ARGS:-}
# Another namespace than the seed's names (then start the app with --namespace too):
#AAA_NAMESPACE=cam2"
        echo "$env_text" | as_root tee "$systemd_env" >/dev/null
        info "$systemd_env (AAA_OWNER=$owner, AAA_SOURCE=$SOURCE)"
        as_root install -m 0644 deploy/systemd/aaa-camera-daemon.service "$systemd_unit"
        info "$systemd_unit"
        if [[ -d /run/systemd/system ]]; then
            as_root systemctl daemon-reload
            as_root systemctl enable aaa-camera-daemon.service
            as_root systemctl restart aaa-camera-daemon.service
            ok "installed, enabled at boot and started"
            info "status: systemctl status aaa-camera-daemon; log: journalctl -u aaa-camera-daemon -f"
        else
            as_root systemctl enable aaa-camera-daemon.service 2>/dev/null || true
            warn "systemd is not running here: installed and enabled; it starts at the next boot"
        fi
        ;;
    Darwin)
        as_root install -m 0755 "$daemon_bin" "$installed_bin"
        local tmp
        tmp="$(mktemp)"
        sed -e "s|@OWNER@|$owner|g" -e "s|@SOURCE@|$SOURCE|g" deploy/launchd/com.aaa.camera-daemon.plist >"$tmp"
        as_root install -m 0644 -o root -g wheel "$tmp" "$launchd_plist"
        rm -f "$tmp"
        as_root launchctl bootout system/com.aaa.camera-daemon 2>/dev/null || true
        as_root launchctl bootstrap system "$launchd_plist"
        ok "installed and started: $launchd_plist (runs at boot)"
        info "log: /var/log/aaa-camera-daemon.log; status: make daemon-status"
        ;;
    *) die "install-service: $os is not supported (systemd or launchd only)" ;;
    esac
}

cmd_uninstall_service() {
    heading "Removing the camera daemon service"
    case "$os" in
    Linux)
        if [[ -d /run/systemd/system ]]; then
            as_root systemctl disable --now aaa-camera-daemon.service 2>/dev/null || true
        else
            as_root systemctl disable aaa-camera-daemon.service 2>/dev/null || true
        fi
        as_root rm -f "$systemd_unit" "$systemd_env"
        [[ -d /run/systemd/system ]] && as_root systemctl daemon-reload
        ;;
    Darwin)
        as_root launchctl bootout system/com.aaa.camera-daemon 2>/dev/null || true
        as_root rm -f "$launchd_plist"
        ;;
    *) die "uninstall-service: $os is not supported" ;;
    esac
    as_root rm -f "$installed_bin"
    ok "removed (segments of a killed daemon: make clean-shm)"
}

usage() {
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

command="${1:-}"
shift || true
case "$command" in
start) cmd_start ;;
stop) cmd_stop ;;
restart)
    # Build first: the old daemon keeps running while the new one compiles.
    build_daemon
    cmd_stop
    cmd_start
    ;;
status) cmd_status ;;
clean-shm) cmd_clean_shm ;;
run) cmd_run ;;
run-with-daemon) cmd_run_with_daemon ;;
demo) cmd_demo ;;
install-service) cmd_install_service ;;
uninstall-service) cmd_uninstall_service ;;
*) usage ;;
esac
