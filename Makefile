# Entry points for people: `make demo` shows the app, `make test` runs every test.
# The logic lives in scripts/daemon_control.sh; `make help` lists the targets and variables.

# Where frames come from: realsense, webcam or synthetic.
SOURCE ?= realsense
# The daemon's namespace; empty = the default segment names (aaa_rgb_frame, ...).
NAMESPACE ?=
# Directory of the daemon's pid file and socket, writable by you only (empty: $AAA_RUNTIME_DIR,
# else /run/aaa-camera-daemon for a daemon running as root, $XDG_RUNTIME_DIR/aaa-camera-daemon
# otherwise).
RUNTIME_DIR ?=
# The daemon's log file (empty: ~/.local/state/aaa-camera-daemon/aaa_camera_daemon[.NAMESPACE].log).
LOG ?=
# Cargo profile of the binaries: release or debug.
PROFILE ?= release
# More arguments for the daemon's `run` and for the app, e.g. APP_ARGS="--smoke-test 5".
DAEMON_ARGS ?=
APP_ARGS ?=
# install-service: who uses the app (the segments are handed to them).
DESKTOP_USER ?=
# Not defined here on purpose, so that the script's defaults apply when they are not given:
# APP_FEATURES (cargo features of the app), DAEMON_FEATURES (more of the daemon's, e.g. zenoh),
# USE_SUDO (auto|yes|no), STOP_TIMEOUT, START_TIMEOUT, LOG_MAX_BYTES.

export SOURCE NAMESPACE RUNTIME_DIR LOG PROFILE DAEMON_ARGS APP_ARGS DESKTOP_USER
export APP_FEATURES DAEMON_FEATURES USE_SUDO STOP_TIMEOUT START_TIMEOUT LOG_MAX_BYTES

CONTROL := bash scripts/daemon_control.sh

.PHONY: help demo test bench run run-with-daemon daemon-start daemon-stop daemon-restart \
	daemon-status clean-shm install-service uninstall-service install-tray uninstall-tray

help:
	@echo "make demo               the viewer on the synthetic 3D scene (no camera needed)"
	@echo "make test               the whole test suite"
	@echo "make daemon-start       start the capture daemon in the background (SOURCE=realsense|webcam|synthetic)"
	@echo "make daemon-stop        stop it (SIGTERM, SIGKILL after STOP_TIMEOUT s), remove its leftovers"
	@echo "make daemon-restart     stop, then start"
	@echo "make daemon-status      is it running, how is it doing, its recent log (no sudo)"
	@echo "make run                the viewer (the daemon if one runs, else a webcam)"
	@echo "make run-with-daemon    start the daemon if needed, run the viewer, stop what it started"
	@echo "make clean-shm          remove segments and pid file left by a dead daemon"
	@echo "make bench              the benchmarks (protocol, synthetic scene, GUI frame preparation)"
	@echo "make install-service    the daemon as a system service (systemd or launchd); DESKTOP_USER=<login>"
	@echo "make uninstall-service  remove that service"
	@echo "make install-tray       aaa-tray (the daemon's state in the system tray) in your desktop session's autostart"
	@echo "make uninstall-tray     remove it from the autostart"
	@echo
	@echo "Variables: SOURCE=$(SOURCE) NAMESPACE=$(NAMESPACE) RUNTIME_DIR=$(RUNTIME_DIR) LOG=$(LOG)"
	@echo "           PROFILE=$(PROFILE) DAEMON_ARGS APP_ARGS APP_FEATURES DAEMON_FEATURES"
	@echo "           USE_SUDO DESKTOP_USER"
	@echo "More: README.md, docs/operations.md"

demo:
	@$(CONTROL) demo

test:
	bash scripts/test.sh

bench:
	cargo bench --workspace

run:
	@$(CONTROL) run

run-with-daemon:
	@$(CONTROL) run-with-daemon

daemon-start:
	@$(CONTROL) start

daemon-stop:
	@$(CONTROL) stop

daemon-restart:
	@$(CONTROL) restart

# The status's exit code (0 running, 1 stale, 3 not running) is for scripts, which call
# `scripts/daemon_control.sh status` directly; here it is only shown.
daemon-status:
	@$(CONTROL) status || true

clean-shm:
	@$(CONTROL) clean-shm

install-service:
	@$(CONTROL) install-service

uninstall-service:
	@$(CONTROL) uninstall-service

install-tray:
	@$(CONTROL) install-tray

uninstall-tray:
	@$(CONTROL) uninstall-tray
