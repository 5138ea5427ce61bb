#!/usr/bin/env bash
# End-to-end smoke test of the whole stack: the real daemon (synthetic source) and the real app
# under Xvfb, in a namespace and runtime directory of their own.
#   1. the daemon starts and publishes;
#   2. the app (`aaa --smoke-test S --screenshot P --no-webcam`) connects to it;
#   3. the daemon is killed (SIGKILL: a crash) while the app runs; the app must report it lost,
#      and reconnect by itself to a daemon started again in its place;
#   4. the app exits 0, having received and displayed frames from the daemon, and its
#      screenshot is not blank (pixel statistics of the PNG, python3 standard library only);
#   5. the second daemon stops cleanly on SIGTERM and leaves no segment behind.
# UPDATE_SCREENSHOT=1 copies the screenshot to docs/screenshot.png (the README's picture).
#
# Needs xvfb-run and python3 (scripts/setup-runtime-deps.sh --test). Builds the debug binaries
# (what `cargo test` already built). Exit status 0 when everything held.
#
# Usage: scripts/smoke_test.sh   (SMOKE_SECONDS: how long the app runs, default 12)
set -euo pipefail
cd "$(dirname "$0")/.."

smoke_seconds="${SMOKE_SECONDS:-12}"
namespace="smoke$$"
work="$(mktemp -d "${TMPDIR:-/tmp}/aaa-smoke.XXXXXX")"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
daemon_bin="$target_dir/debug/aaa-camera-daemon"
app_bin="$target_dir/debug/aaa"

say() { echo "smoke_test: $*"; }
daemon_pid=""
app_runner_pid=""

cleanup() {
    local code=$?
    if [[ -n "$app_runner_pid" ]] && kill -0 "$app_runner_pid" 2>/dev/null; then
        # xvfb-run's children (Xvfb, the app) first, then xvfb-run.
        local child
        for child in $(pgrep -P "$app_runner_pid" || true); do
            kill "$child" 2>/dev/null || true
        done
        kill "$app_runner_pid" 2>/dev/null || true
    fi
    if [[ -n "$daemon_pid" ]] && kill -0 "$daemon_pid" 2>/dev/null; then
        kill -TERM "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
    fi
    "$daemon_bin" --namespace "$namespace" --runtime-dir "$work" cleanup >/dev/null 2>&1 || true
    if ((code != 0)); then
        say "FAILED; logs:"
        for log in "$work"/*.log; do
            [[ -f "$log" ]] || continue
            echo "---- $log (last 30 lines)"
            tail -n 30 "$log"
        done
    fi
    rm -rf "$work"
    exit "$code"
}
trap cleanup EXIT

fail() {
    say "FAIL: $*" >&2
    exit 1
}

# Waits up to $1 seconds for the command "${@:2}" to succeed.
wait_for() {
    local seconds="$1"
    shift
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

daemon_status() { "$daemon_bin" --namespace "$namespace" --runtime-dir "$work" status >/dev/null 2>&1; }
app_log_has() { grep -qF -- "$1" "$work/app.log" 2>/dev/null; }

start_daemon() {
    local log="$1"
    NO_COLOR=1 RUST_LOG=info "$daemon_bin" --namespace "$namespace" --runtime-dir "$work" \
        run --source synthetic >"$log" 2>&1 &
    daemon_pid=$!
    wait_for 30 daemon_status || fail "the daemon did not come up (see $log)"
    # Frames flow: a client reads three of them.
    "$daemon_bin" --namespace "$namespace" --runtime-dir "$work" watch --frames 3 --json >/dev/null ||
        fail "no frames from the daemon"
}

command -v xvfb-run >/dev/null 2>&1 || fail "xvfb-run not found: bash scripts/setup-runtime-deps.sh --test"
command -v python3 >/dev/null 2>&1 || fail "python3 not found: bash scripts/setup-runtime-deps.sh --test"

say "building the daemon and the app (debug)"
cargo build --quiet -p capture-daemon -p app

# 1. The daemon.
start_daemon "$work/daemon1.log"
first_pid="$daemon_pid"
say "daemon 1 publishing (pid $first_pid, namespace $namespace)"

# 2. The app, under Xvfb (which sends the app's stderr, its log, to stdout too).
started=$SECONDS
NO_COLOR=1 RUST_LOG=info xvfb-run -a -s "-screen 0 1400x800x24" \
    "$app_bin" --namespace "$namespace" --runtime-dir "$work" --no-webcam --smoke-test "$smoke_seconds" \
    --screenshot "$work/screenshot.png" \
    >"$work/app.log" 2>&1 &
app_runner_pid=$!
wait_for 30 app_log_has "connected to the daemon: writer pid $first_pid" ||
    fail "the app did not connect to daemon 1 within 30 s"
say "app connected to daemon 1 after $((SECONDS - started)) s"
sleep 1

# 3. Crash and restart.
# (The group's stderr takes bash's "Killed" job notice.)
{
    kill -KILL "$first_pid"
    wait "$first_pid" || true
} 2>/dev/null
daemon_pid=""
lost_at=$SECONDS
wait_for 3 app_log_has "daemon lost" || fail "the app did not report the killed daemon within 3 s"
say "app reported daemon 1 lost"
start_daemon "$work/daemon2.log"
second_pid="$daemon_pid"
grep -q "reclaimed shared memory left behind" "$work/daemon2.log" ||
    say "note: daemon 2 did not log reclaiming daemon 1's segments"
wait_for 5 app_log_has "connected to the daemon: writer pid $second_pid" ||
    fail "the app did not reconnect to daemon 2 (pid $second_pid) within 5 s"
say "app reconnected to daemon 2 (pid $second_pid), $((SECONDS - lost_at)) s after the kill"
((SECONDS - started < smoke_seconds - 1)) ||
    say "note: the reconnection came late in the app's ${smoke_seconds} s; raise SMOKE_SECONDS if the next checks fail"

# 4. The app's verdict and its screenshot.
app_code=0
wait "$app_runner_pid" || app_code=$?
app_runner_pid=""
summary="$(grep '^smoke test:' "$work/app.log" || true)"
say "app: ${summary:-no summary line}"
((app_code == 0)) || fail "the app exited with status $app_code"
[[ "$summary" == *"source=daemon "* ]] || fail "the app did not end on the daemon's frames"
received="$(sed -n 's/.*frames_received=\([0-9]*\).*/\1/p' <<<"$summary")"
displayed="$(sed -n 's/.*frames_displayed=\([0-9]*\).*/\1/p' <<<"$summary")"
((${received:-0} > 0 && ${displayed:-0} > 0)) || fail "no frames received/displayed"
[[ -s "$work/screenshot.png" ]] || fail "no screenshot at $work/screenshot.png"

python3 - "$work/screenshot.png" <<'EOF' || fail "the screenshot looks blank"
# Decodes the PNG (8-bit RGB or RGBA, non-interlaced, as the app writes it) with zlib alone
# and checks that it shows a picture: many colours and a real spread of brightness.
import struct, sys, zlib

path = sys.argv[1]
data = open(path, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, header = 8, [], None
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        header = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat.append(body)
    pos += 12 + length
width, height, depth, colour, _, _, interlace = header
channels = {2: 3, 6: 4}.get(colour)
assert depth == 8 and channels and interlace == 0, f"unexpected PNG format {header}"
raw = zlib.decompress(b"".join(idat))
stride = width * channels
previous = bytearray(stride)
colours, lumas = set(), []
for y in range(height):
    kind = raw[y * (stride + 1)]
    row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    if kind == 1:
        for i in range(channels, stride):
            row[i] = (row[i] + row[i - channels]) & 255
    elif kind == 2:
        row = bytearray((a + b) & 255 for a, b in zip(row, previous))
    elif kind == 3:
        for i in range(stride):
            left = row[i - channels] if i >= channels else 0
            row[i] = (row[i] + ((left + previous[i]) >> 1)) & 255
    elif kind == 4:
        for i in range(stride):
            a = row[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    previous = row
    if y % 4 == 0:
        for x in range(0, width, 4):
            r, g, b = row[x * channels:x * channels + 3]
            colours.add((r, g, b))
            lumas.append(0.299 * r + 0.587 * g + 0.114 * b)
mean = sum(lumas) / len(lumas)
spread = (sum((v - mean) ** 2 for v in lumas) / len(lumas)) ** 0.5
print(f"smoke_test: screenshot {width}x{height}: {len(colours)} colours, brightness {mean:.0f} +- {spread:.0f}")
sys.exit(0 if len(colours) >= 200 and spread >= 15 else 1)
EOF

if [[ "${UPDATE_SCREENSHOT:-0}" == 1 ]]; then
    mkdir -p docs
    cp "$work/screenshot.png" docs/screenshot.png
    say "copied the screenshot to docs/screenshot.png"
fi

# 5. A clean stop.
kill -TERM "$second_pid"
wait "$second_pid" 2>/dev/null || true
daemon_pid=""
if ls /dev/shm 2>/dev/null | grep -q "^aaa_${namespace}_"; then
    fail "segments left after SIGTERM: $(ls /dev/shm | grep "^aaa_${namespace}_" | tr '\n' ' ')"
fi
[[ ! -e "$work/aaa_camera_daemon.$namespace.pid" ]] || fail "pid file left after SIGTERM"
say "passed"
