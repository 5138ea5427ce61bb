#!/usr/bin/env bash
# Scripted checks of the Makefile's targets, the way a person uses them, in a namespace, runtime
# directory and log of their own (SOURCE=synthetic, debug binaries):
#   - daemon-start, then daemon-status shows it running; the log is rotated when too big
#   - a second daemon-start does not start a second daemon
#   - daemon-stop leaves no process, pid file or segment; a second daemon-stop is a no-op
#   - daemon-stop of a daemon that ignores SIGTERM (stopped with SIGSTOP) kills it and cleans up
#   - a killed daemon shows as stale in daemon-status, and clean-shm removes its leftovers
#   - run-with-daemon with the app's smoke-test flag exits 0 under Xvfb and stops the daemon it
#     started; with a daemon already running it leaves that daemon running
#   - install-tray writes the tray's XDG autostart entry (for this namespace, running the built
#     aaa-tray), uninstall-tray removes it, and a second uninstall-tray is a no-op
#   - the systemd unit passes systemd-analyze verify, the plist passes plutil -lint (each
#     skipped with a message where the tool is missing)
# Prints `N passed, M failed` last; exit status non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

export NAMESPACE="mk$$"
RUNTIME_DIR="$(mktemp -d "${TMPDIR:-/tmp}/aaa-make.XXXXXX")"
export RUNTIME_DIR
export LOG="$RUNTIME_DIR/daemon.log"
export SOURCE=synthetic PROFILE=debug APP_FEATURES=none NO_COLOR=1
unset APP_ARGS DAEMON_ARGS USE_SUDO AAA_NAMESPACE AAA_RUNTIME_DIR

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
daemon_bin="$target_dir/debug/aaa-camera-daemon"
pid_file="$RUNTIME_DIR/aaa_camera_daemon.$NAMESPACE.pid"
out="$RUNTIME_DIR/out.txt"

passed=0
failed=0
pass() {
    passed=$((passed + 1))
    echo "ok:   $*"
}
flunk() {
    failed=$((failed + 1))
    echo "FAIL: $*"
    if [[ -s "$out" ]]; then
        sed 's/^/      | /' "$out" | tail -n 25
    fi
}
check() { # check "description" command...
    local what="$1"
    shift
    if "$@"; then pass "$what"; else flunk "$what"; fi
}

run_make() { make --no-print-directory "$@" >"$out" 2>&1; }
output_has() { grep -qF -- "$1" "$out"; }
# The daemons of our namespace, by their command line.
daemon_pids() { pgrep -f -- "--namespace $NAMESPACE --runtime-dir $RUNTIME_DIR run" || true; }
daemon_count() { daemon_pids | wc -l | tr -d ' '; }
segments() { ls /dev/shm 2>/dev/null | grep "^aaa_${NAMESPACE}_" || true; }
nothing_left() { [[ "$(daemon_count)" == 0 && ! -e "$pid_file" && -z "$(segments)" ]]; }

finish() {
    # Whatever a failed check left running: our namespace's daemons only, by pid.
    local pid
    for pid in $(daemon_pids); do
        kill -CONT "$pid" 2>/dev/null
        kill -KILL "$pid" 2>/dev/null
    done
    [[ -x "$daemon_bin" ]] && "$daemon_bin" --namespace "$NAMESPACE" --runtime-dir "$RUNTIME_DIR" cleanup >/dev/null 2>&1
    rm -rf "$RUNTIME_DIR"
}
trap finish EXIT

echo "check_make_targets: namespace $NAMESPACE, runtime dir $RUNTIME_DIR"

# --- daemon-start / daemon-status ---------------------------------------------------------
# A log over the limit is rotated at start.
head -c 2048 /dev/zero >"$LOG"
if LOG_MAX_BYTES=1024 run_make daemon-start; then
    pass "daemon-start exits 0"
else
    flunk "daemon-start exits 0"
fi
check "daemon-start: one daemon process" test "$(daemon_count)" == 1
check "daemon-start: pid file $pid_file" test -s "$pid_file"
check "daemon-start: segments in /dev/shm" test -n "$(segments)"
check "daemon-start: the oversized log was rotated to \$LOG.1" test -s "$LOG.1"
check "daemon-start: the daemon logs to \$LOG" grep -q "daemon started" "$LOG"
first_pid="$(daemon_pids | head -n 1)"

run_make daemon-status
check "daemon-status shows RUNNING" output_has "RUNNING (pid $first_pid)"
check "daemon-status shows the log tail" output_has "Recent log entries"
code=0
bash scripts/daemon_control.sh status >/dev/null 2>&1 || code=$?
check "daemon_control.sh status exits 0 while running" test "$code" == 0

# --- a second daemon-start ---------------------------------------------------------------
run_make daemon-start
check "second daemon-start says it is already running" output_has "already running"
check "second daemon-start: still exactly one daemon, the same" \
    test "$(daemon_count)/$(daemon_pids | head -n 1)" == "1/$first_pid"

# --- daemon-stop -------------------------------------------------------------------------
check "daemon-stop exits 0" run_make daemon-stop
check "daemon-stop: SIGTERM was enough" output_has "daemon stopped"
check "daemon-stop: no process, pid file or segment left" nothing_left
check "daemon-stop when not running is a no-op" run_make daemon-stop
check "daemon-stop when not running says so" output_has "not running"
code=0
bash scripts/daemon_control.sh status >/dev/null 2>&1 || code=$?
check "daemon_control.sh status exits 3 when not running" test "$code" == 3

# --- daemon-stop escalates to SIGKILL ----------------------------------------------------
run_make daemon-start
stuck_pid="$(daemon_pids | head -n 1)"
if [[ -n "$stuck_pid" ]]; then
    kill -STOP "$stuck_pid"
    STOP_TIMEOUT=1 run_make daemon-stop
    check "daemon-stop of a daemon deaf to SIGTERM sends SIGKILL" output_has "sending SIGKILL"
    check "daemon-stop after SIGKILL: cleanup left nothing" nothing_left
else
    flunk "daemon-start for the SIGKILL check"
fi

# --- a crashed daemon: stale, then clean-shm ---------------------------------------------
run_make daemon-start
crashed_pid="$(daemon_pids | head -n 1)"
if [[ -n "$crashed_pid" ]]; then
    kill -KILL "$crashed_pid"
    sleep 0.5
    run_make daemon-status
    check "daemon-status of a killed daemon says it left things behind" output_has "left segments or a pid file behind"
    check "clean-shm exits 0" run_make clean-shm
    check "clean-shm: no pid file or segment left" nothing_left
else
    flunk "daemon-start for the stale check"
fi

# --- run-with-daemon ---------------------------------------------------------------------
if command -v xvfb-run >/dev/null 2>&1; then
    code=0
    APP_ARGS="--smoke-test 3 --no-webcam" xvfb-run -a -s "-screen 0 1400x800x24" \
        make --no-print-directory run-with-daemon >"$out" 2>&1 || code=$?
    check "run-with-daemon with --smoke-test exits 0 under Xvfb" test "$code" == 0
    check "run-with-daemon: the app saw the daemon's frames" output_has "smoke test: source=daemon"
    check "run-with-daemon stopped the daemon it started" nothing_left

    run_make daemon-start
    kept_pid="$(daemon_pids | head -n 1)"
    code=0
    APP_ARGS="--smoke-test 2 --no-webcam" xvfb-run -a -s "-screen 0 1400x800x24" \
        make --no-print-directory run-with-daemon >"$out" 2>&1 || code=$?
    check "run-with-daemon with a daemon already running exits 0" test "$code" == 0
    check "run-with-daemon leaves a daemon it did not start running" \
        test "$(daemon_pids | head -n 1)" == "$kept_pid"
    run_make daemon-stop
    check "daemon-stop after run-with-daemon: nothing left" nothing_left
else
    flunk "run-with-daemon: xvfb-run not found (bash scripts/setup-runtime-deps.sh --test)"
fi

# --- a display is required, and said so --------------------------------------------------
code=0
env -u DISPLAY -u WAYLAND_DISPLAY make --no-print-directory run >"$out" 2>&1 || code=$?
check "run without a display fails" test "$code" != 0
check "run without a display says how to use Xvfb" output_has "xvfb-run -a make run"

# --- install-tray / uninstall-tray -------------------------------------------------------
config_home="$RUNTIME_DIR/config"
entry="$config_home/autostart/aaa-tray.desktop"
run_make_in_config() { XDG_CONFIG_HOME="$config_home" run_make "$@"; }
check "install-tray exits 0" run_make_in_config install-tray
check "install-tray: the autostart entry $entry exists" test -s "$entry"
check "install-tray: the entry runs the built aaa-tray for this namespace and runtime directory" \
    grep -qxF "Exec=$target_dir/debug/aaa-tray --daemon-source synthetic --namespace $NAMESPACE --runtime-dir $RUNTIME_DIR" "$entry"
check "install-tray: the aaa-tray it names runs" "$target_dir/debug/aaa-tray" --version
if command -v desktop-file-validate >/dev/null 2>&1; then
    check "desktop-file-validate $entry" desktop-file-validate "$entry"
else
    echo "skip: desktop-file-validate not installed (apt-get install desktop-file-utils); $entry not validated"
fi
check "uninstall-tray exits 0" run_make_in_config uninstall-tray
check "uninstall-tray removed the entry" test ! -e "$entry"
check "uninstall-tray when not installed is a no-op" run_make_in_config uninstall-tray
check "uninstall-tray when not installed says so" output_has "not installed"

# --- service files -----------------------------------------------------------------------
unit=deploy/systemd/aaa-camera-daemon.service
if command -v systemd-analyze >/dev/null 2>&1; then
    # verify wants the ExecStart binary to exist: point a copy at the one just built.
    copy="$RUNTIME_DIR/aaa-camera-daemon.service"
    sed "s|/usr/local/bin/aaa-camera-daemon|$daemon_bin|" "$unit" >"$copy"
    code=0
    systemd-analyze verify "$copy" >"$out" 2>&1 || code=$?
    # Warnings do not change the exit status: any output about the unit is a failure.
    if [[ "$code" == 0 ]] && ! grep -q "aaa-camera-daemon.service" "$out"; then
        pass "systemd-analyze verify $unit"
    else
        flunk "systemd-analyze verify $unit"
    fi
else
    echo "skip: systemd-analyze not installed (apt-get install systemd); $unit not verified"
fi
plist=deploy/launchd/com.aaa.camera-daemon.plist
if command -v plutil >/dev/null 2>&1; then
    check "plutil -lint $plist" plutil -lint "$plist"
else
    echo "skip: plutil not available (macOS only); $plist not linted"
    if command -v python3 >/dev/null 2>&1; then
        check "$plist parses as a property list (python3 plistlib)" \
            python3 -c 'import plistlib, sys; plistlib.load(open(sys.argv[1], "rb"))' "$plist"
    fi
fi

echo "$passed passed, $failed failed"
((failed == 0))
