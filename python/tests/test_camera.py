"""aaa_camera against the real daemon binary (synthetic source)."""

import gc
import math
import signal
import threading
import time

import numpy as np
import pytest

import aaa_camera
from conftest import WITHIN_S


def wait_frame(cam, timeout=WITHIN_S):
    frame = cam.wait_next(timeout=timeout)
    assert frame is not None, f"no frame within {timeout} s"
    return frame


def expect_gone(cam):
    """Reads what was published before the daemon went away, until DaemonGone."""
    for _ in range(1000):
        try:
            frame = cam.wait_next(timeout=5)
        except aaa_camera.DaemonGone as gone:
            return gone
        assert frame is not None, "neither a frame nor DaemonGone within 5 s"
    raise AssertionError("frames kept coming from a daemon that went away")


def wait_until(predicate, timeout=WITHIN_S):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_no_daemon_is_a_clear_error(daemon):
    with pytest.raises(aaa_camera.DaemonNotRunning) as raised:
        aaa_camera.Camera(namespace=daemon.namespace)
    # The Rust side's message, naming what is missing.
    assert f"aaa_{daemon.namespace}_" in str(raised.value)
    assert "does not exist" in str(raised.value)
    assert isinstance(raised.value, aaa_camera.AaaCameraError)


def test_invalid_namespace_is_a_value_error():
    with pytest.raises(ValueError):
        aaa_camera.Camera(namespace="no/slashes")


def test_frames_arrive_in_order_and_verify(daemon):
    daemon.start()
    cam = daemon.camera()
    numbers = []
    for _ in range(5):
        frame = wait_frame(cam)
        assert frame.rgb.shape == (480, 640, 3) and frame.rgb.dtype == np.uint8
        assert frame.depth.shape == (480, 640) and frame.depth.dtype == np.uint16
        assert (frame.width, frame.height) == (640, 480)
        frame.verify_synthetic()
        numbers.append(frame.frame_number)
    assert numbers == sorted(set(numbers)), numbers


def test_verify_synthetic_catches_a_changed_pixel(daemon):
    daemon.start()
    frame = wait_frame(daemon.camera())
    frame.verify_synthetic()
    # The arrays are the frame's own memory: writing to them changes what is verified.
    frame.rgb[0, :, :] = 255 - frame.rgb[0, :, :]
    with pytest.raises(aaa_camera.ProtocolError):
        frame.verify_synthetic()


def test_arrays_own_their_memory(daemon):
    daemon.start()
    cam = daemon.camera()
    frame = wait_frame(cam)
    rgb, depth = frame.rgb, frame.depth
    number = frame.frame_number
    expected_rgb, expected_depth = rgb.copy(), depth.copy()
    del frame
    gc.collect()
    # Later frames (the ring is overwritten many times over) do not change them.
    for _ in range(3):
        assert wait_frame(cam).frame_number > number
    time.sleep(0.5)
    assert np.array_equal(rgb, expected_rgb)
    assert np.array_equal(depth, expected_depth)
    # No array points into shared memory: each is a view of its frame's own buffer.
    assert isinstance(rgb.base, aaa_camera.Frame)


def test_metadata_and_clocks(daemon):
    daemon.start()
    cam = daemon.camera()
    frame = wait_frame(cam)
    metadata = frame.metadata
    assert metadata["frame_number"] == frame.frame_number
    assert metadata["source_kind"] == "synthetic"
    assert metadata["capture_mono_ns"] == frame.capture_mono_ns
    assert metadata["intrinsics"]["width"] == 640
    assert metadata["intrinsics"]["height"] == 480
    assert metadata["depth_scale_m"] > 0
    # Ground truth of the synthetic scene: named objects with metric centres.
    assert all("name" in obj and len(obj["center_m"]) == 3 for obj in metadata["ground_truth"])
    # One clock: CLOCK_MONOTONIC, which Python's time.monotonic_ns reads too on Linux.
    now = aaa_camera.monotonic_ns()
    assert frame.capture_mono_ns <= frame.publish_mono_ns <= now
    assert abs(time.monotonic_ns() - now) < 1_000_000_000
    assert now - frame.publish_mono_ns < WITHIN_S * 1e9


def test_depth_in_metres_and_deprojection(daemon):
    daemon.start()
    frame = wait_frame(daemon.camera())
    scale = frame.metadata["depth_scale_m"]
    depth_m = frame.depth_m()
    assert depth_m.dtype == np.float32 and depth_m.shape == (480, 640)
    measured = frame.depth != 0
    assert measured.any()
    assert np.allclose(depth_m[measured], frame.depth[measured] * scale)
    assert np.isnan(depth_m[~measured]).all()

    v, u = np.argwhere(measured)[len(np.argwhere(measured)) // 2]
    x, y, z = frame.deproject(float(u), float(v))
    assert math.isclose(z, depth_m[v, u], rel_tol=1e-6)
    intrinsics = frame.metadata["intrinsics"]
    if intrinsics["model"] == "none":
        assert math.isclose(x, (u - intrinsics["ppx"]) / intrinsics["fx"] * z, abs_tol=1e-5)
        assert math.isclose(y, (v - intrinsics["ppy"]) / intrinsics["fy"] * z, abs_tol=1e-5)
    with pytest.raises(ValueError):
        frame.deproject(640, 0)


def test_iteration(daemon):
    daemon.start()
    cam = daemon.camera()
    seen = []
    for frame in cam:
        seen.append(frame.frame_number)
        if len(seen) == 3:
            break
    assert seen == sorted(set(seen))


def test_liveness_after_sigkill(daemon):
    daemon.start()
    cam = daemon.camera()
    wait_frame(cam)
    assert cam.liveness()["state"] == "live" and cam.liveness()["live"]
    pid = cam.liveness()["pid"]
    assert pid == daemon.process.pid
    daemon.signal(signal.SIGKILL)
    daemon.process.wait()
    # The writer is gone within 250 ms of its death; give a loaded machine room.
    wait_until(lambda: not cam.liveness()["live"], timeout=5)
    assert cam.liveness()["state"] in ("process_gone", "heartbeat_stale")
    assert str(pid) in str(expect_gone(cam))
    assert cam.liveness()["state"] == "not_running"
    # Nothing to reconnect to: a clear error, after the timeout.
    with pytest.raises(aaa_camera.DaemonNotRunning):
        cam.wait_next(timeout=0.2)


def test_liveness_after_sigstop_and_resume(daemon):
    daemon.start()
    cam = daemon.camera()
    wait_frame(cam)
    daemon.signal(signal.SIGSTOP)
    try:
        wait_until(lambda: cam.liveness()["state"] == "heartbeat_stale", timeout=5)
        assert cam.liveness()["heartbeat_age_s"] > 0
        assert "unresponsive" in str(expect_gone(cam))
    finally:
        daemon.signal(signal.SIGCONT)
    # Resumed: the next wait attaches again and frames flow.
    wait_frame(cam).verify_synthetic()
    assert cam.liveness()["live"]


def test_reconnects_to_a_restarted_daemon(daemon):
    daemon.start()
    cam = daemon.camera()
    first_pid = cam.liveness()["pid"]
    wait_frame(cam)
    daemon.stop()
    assert "shut down cleanly" in str(expect_gone(cam))
    daemon.start()
    frame = wait_frame(cam)
    frame.verify_synthetic()
    assert cam.liveness()["pid"] == daemon.process.pid != first_pid


def test_gil_is_released_while_waiting(daemon):
    daemon.start()
    cam = daemon.camera()
    wait_frame(cam)
    daemon.ctl("pause")
    # Drain the frames published before the pause took effect.
    for _ in range(100):
        if cam.wait_next(timeout=0.5) is None:
            break
    done = threading.Event()
    waited = []

    def wait_in_thread():
        waited.append(cam.wait_next(timeout=3.0))
        done.set()

    thread = threading.Thread(target=wait_in_thread)
    started = time.monotonic()
    thread.start()
    ticks = 0
    while not done.is_set() and time.monotonic() - started < 1.0:
        ticks += 1
        time.sleep(0.001)
    # This thread ran while the other waited (it could not, had the wait held the GIL).
    assert not done.is_set() and ticks > 10
    thread.join()
    assert waited == [None]


def test_controls(daemon):
    daemon.start()
    cam = daemon.camera()
    controls = {control["name"]: control for control in cam.controls()}
    assert "brightness" in controls and "speed" in controls
    assert controls["brightness"]["type"] == "range"
    changed = cam.set_control("brightness", 0.5)
    assert changed["name"] == "brightness" and changed["value"] == 0.5
    assert {c["name"]: c for c in cam.controls()}["brightness"]["value"] == 0.5
    with pytest.raises(aaa_camera.ControlError) as raised:
        cam.set_control("no_such_control", 1.0)
    assert "no_such_control" in str(raised.value)
    with pytest.raises(aaa_camera.ControlError):
        cam.set_control("brightness", 1e9)


def test_controls_without_the_socket_is_daemon_not_running(daemon, tmp_path):
    daemon.start()
    cam = aaa_camera.Camera(namespace=daemon.namespace, runtime_dir=str(tmp_path))
    with pytest.raises(aaa_camera.DaemonNotRunning) as raised:
        cam.controls()
    assert "command socket" in str(raised.value)


def test_detections(daemon):
    daemon.start("--detect", "depth")
    cam = daemon.camera()
    result = cam.wait_detections(timeout=WITHIN_S)
    assert result is not None
    assert result["frame_number"] >= 1
    assert result["publish_seq"] >= 1
    assert result["publish_mono_ns"] <= aaa_camera.monotonic_ns()
    assert isinstance(result["detections"], list)
    following = cam.wait_detections(timeout=WITHIN_S)
    assert following is not None and following["publish_seq"] > result["publish_seq"]


def test_no_detections_is_daemon_not_running(daemon):
    daemon.start()
    with pytest.raises(aaa_camera.DaemonNotRunning):
        daemon.camera().wait_detections(timeout=0.1)
