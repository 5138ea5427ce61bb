"""The real daemon binary in a namespace and runtime directory of each test's own.

The binary: $AAA_DAEMON_BIN if set, else built with `cargo build -p capture-daemon --features
zenoh` (the bridge, for the Zenoh receiver's tests) into the workspace's target directory (a
no-op when it is up to date).
"""

import contextlib
import hashlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import aaa_camera

REPO = Path(__file__).resolve().parents[2]
# Generous: two cores shared with other builds and tests.
WITHIN_S = 30.0

_counter = itertools.count()


def _daemon_binary() -> Path:
    explicit = os.environ.get("AAA_DAEMON_BIN")
    if explicit:
        return Path(explicit)
    subprocess.run(
        ["cargo", "build", "--quiet", "-p", "capture-daemon", "--features", "zenoh"],
        cwd=REPO,
        check=True,
    )
    metadata = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    target = Path(json.loads(metadata.stdout)["target_directory"])
    return target / "debug" / "aaa-camera-daemon"


@pytest.fixture(scope="session")
def daemon_binary() -> Path:
    return _daemon_binary()


class Daemon:
    """One namespace and runtime directory; the daemon in it can be started several times."""

    def __init__(self, binary: Path):
        # At most 14 characters: "py", the pid's last 5 digits, a counter.
        self.namespace = f"py{os.getpid() % 100000}x{next(_counter)}"
        self.runtime_dir = tempfile.mkdtemp(prefix="aaa-camera-python-")
        self.binary = binary
        self.process = None

    def command(self, *args: str) -> list:
        return [
            str(self.binary),
            "--namespace",
            self.namespace,
            "--runtime-dir",
            self.runtime_dir,
            *args,
        ]

    def start(self, *extra: str) -> "Daemon":
        env = dict(os.environ, RUST_LOG="info")
        env.pop("AAA_NAMESPACE", None)
        self.process = subprocess.Popen(
            self.command("run", "--source", "synthetic", *extra),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.wait_live()
        return self

    def wait_live(self) -> None:
        deadline = time.monotonic() + WITHIN_S
        while True:
            try:
                aaa_camera.Camera(namespace=self.namespace)
                return
            except aaa_camera.DaemonNotRunning:
                assert time.monotonic() < deadline, "daemon did not come up"
                assert self.process is None or self.process.poll() is None, "daemon exited"
                time.sleep(0.02)

    def camera(self) -> "aaa_camera.Camera":
        return aaa_camera.Camera(namespace=self.namespace, runtime_dir=self.runtime_dir)

    def signal(self, number: int) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def ctl(self, *args: str) -> None:
        subprocess.run(self.command("ctl", *args), check=True, capture_output=True)

    def stop(self) -> None:
        """SIGCONT, SIGTERM, SIGKILL after 10 s; reaps it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        subprocess.run(self.command("cleanup"), capture_output=True)
        shutil.rmtree(self.runtime_dir, ignore_errors=True)


@pytest.fixture
def daemon(daemon_binary):
    """A namespace of the test's own, no daemon started yet."""
    fixture = Daemon(daemon_binary)
    yield fixture
    fixture.close()


def digest(array) -> str:
    """SHA-256 of an array's bytes, to compare frames read by different paths."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


@contextlib.contextmanager
def published_digests(daemon):
    """While the block runs, reads the daemon's frames through aaa_camera on a thread: yields
    a dict frame number -> (colour digest, depth digest), filled as frames come."""
    published = {}
    stop = threading.Event()

    def read_published():
        cam = daemon.camera()
        while not stop.is_set():
            frame = cam.wait_next(timeout=0.5)
            if frame is not None:
                published[frame.frame_number] = (digest(frame.rgb), digest(frame.depth))

    reader = threading.Thread(target=read_published)
    reader.start()
    try:
        yield published
    finally:
        stop.set()
        reader.join()
