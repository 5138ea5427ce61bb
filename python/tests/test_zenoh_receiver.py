"""tools/python/aaa_zenoh_receiver.py (eclipse-zenoh + numpy) against the real bridge, on
loopback with explicit endpoints: the frames it decodes (colour, and depth as RVL, zstd or raw)
are the daemon's, bit for bit, read at the same time through aaa_camera."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "python"))

import aaa_zenoh_receiver as receiver  # noqa: E402
from conftest import published_digests  # noqa: E402

RECEIVER = Path(receiver.__file__)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_bridge(daemon, log_path, *args):
    """`bridge ARGS...` with its log in `log_path`; fails at once if it did not start."""
    log = open(log_path, "w")
    bridge = subprocess.Popen(
        daemon.command("bridge", *args), stdout=subprocess.DEVNULL, stderr=log
    )
    log.close()
    try:
        bridge.wait(timeout=1.0)
    except subprocess.TimeoutExpired:
        return bridge
    pytest.fail(f"the bridge exited at start: {Path(log_path).read_text()}")


def stop_bridge(bridge, log_path) -> str:
    bridge.terminate()
    bridge.wait(timeout=30)
    return Path(log_path).read_text()


@pytest.mark.parametrize(
    "codec, depth_format",
    [("rvl", "16UC1; compressedDepth rvl"), ("zstd", "zstd"), ("none", "16UC1")],
)
def test_the_receiver_gets_the_daemons_frames_bit_for_bit(daemon, codec, depth_format, tmp_path):
    daemon.start()
    endpoint = f"tcp/127.0.0.1:{free_port()}"
    key = f"test/py/{codec}"
    log_path = tmp_path / "bridge.log"
    bridge = start_bridge(
        daemon, log_path, "--listen", endpoint, "--key", key, "--depth-codec", codec
    )
    with published_digests(daemon) as published:
        try:
            done = subprocess.run(
                [sys.executable, str(RECEIVER), "--connect", endpoint, "--key", key,
                 "--frames", "20", "--seconds", "60", "--json"],
                capture_output=True,
                text=True,
                timeout=120,
            )
        finally:
            log = stop_bridge(bridge, log_path)
    assert done.returncode == 0, done.stdout + done.stderr + log
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    frames, summary = lines[:-1], lines[-1]
    assert summary["summary"] and summary["frames"] == 20, summary
    assert summary["decode_failures"] == 0 and summary["rejected"] == 0, summary
    assert summary["camera_info"]["width"] == 640, summary
    assert summary["camera_info"]["distortion_model"] == "plumb_bob", summary
    compared = 0
    for frame in frames:
        assert frame["depth_format"] == depth_format, frame
        assert (frame["width"], frame["height"]) == (640, 480), frame
        seen = published.get(frame["frame_number"])
        if seen is not None:
            assert seen == (frame["rgb_sha256"], frame["depth_sha256"]), frame
            compared += 1
    # aaa_camera may skip a frame now and then; most are compared.
    assert compared >= 10, (compared, sorted(published)[-5:], frames[-1])


def test_the_daemons_detections_arrive_with_the_frames(daemon, tmp_path):
    daemon.start("--detect", "depth")
    endpoint = f"tcp/127.0.0.1:{free_port()}"
    log_path = tmp_path / "bridge.log"
    bridge = start_bridge(daemon, log_path, "--listen", endpoint, "--key", "test/py/detect")
    try:
        done = subprocess.run(
            [sys.executable, str(RECEIVER), "--connect", endpoint, "--key", "test/py/detect",
             "--frames", "30", "--seconds", "60", "--json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        log = stop_bridge(bridge, log_path)
    assert done.returncode == 0, done.stdout + done.stderr + log
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["detection_results"] > 0, summary
    latest = summary["latest_detections"]
    # The synthetic scene's objects, found by the daemon's depth-only detector.
    assert latest["count"] >= 1 and latest["frame_number"] > 0, summary


def rvl_encode(depth) -> bytes:
    """A straightforward RVL encoder, written from the format's description, to round-trip
    the receiver's vectorised decoder on awkward images."""
    nibbles = []

    def put(value):
        while True:
            nibble = value & 0x7
            value >>= 3
            nibbles.append(nibble | (0x8 if value else 0))
            if not value:
                return

    depth = [int(unit) for unit in depth]
    previous, at = 0, 0
    while at < len(depth):
        zeros = 0
        while at + zeros < len(depth) and depth[at + zeros] == 0:
            zeros += 1
        at += zeros
        nonzeros = 0
        while at + nonzeros < len(depth) and depth[at + nonzeros] != 0:
            nonzeros += 1
        put(zeros)
        put(nonzeros)
        for unit in depth[at : at + nonzeros]:
            delta = unit - previous
            put(delta << 1 if delta >= 0 else (-delta << 1) - 1)  # zig-zag
            previous = unit
        at += nonzeros
    nibbles += [0] * (-len(nibbles) % 8)
    words = [
        sum(nibble << (28 - 4 * index) for index, nibble in enumerate(nibbles[start : start + 8]))
        for start in range(0, len(nibbles), 8)
    ]
    return np.asarray(words, "<u4").tobytes()


@pytest.mark.parametrize(
    "depth",
    [
        np.zeros(37, np.uint16),
        np.array([65535, 0, 1, 65535, 0, 0, 7, 7, 7, 0], np.uint16),
        np.random.default_rng(1).integers(0, 65536, 500).astype(np.uint16),
        np.where(np.random.default_rng(2).random(700) < 0.3, 0, 800 + np.arange(700)).astype(
            np.uint16
        ),
    ],
)
def test_rvl_round_trips(depth):
    assert np.array_equal(receiver.rvl_decode(rvl_encode(depth), len(depth)), depth)


def test_hostile_rvl_is_a_decode_error_not_a_crash():
    good = rvl_encode(np.array([5, 6, 0, 0, 9], np.uint16))
    for data, pixels in [
        (b"", 5),  # nothing
        (good[:-4], 5),  # truncated
        (good, 4),  # a run longer than the image
        (b"\xff" * 64, 5),  # an overlong code
    ]:
        with pytest.raises(receiver.DecodeError):
            receiver.rvl_decode(data, pixels)
    rng = np.random.default_rng(3)
    for _ in range(200):
        data = rng.integers(0, 256, int(rng.integers(0, 64))).astype(np.uint8).tobytes()
        try:
            receiver.rvl_decode(data, int(rng.integers(1, 50)))
        except receiver.DecodeError:
            pass


def test_a_zstd_header_claiming_a_huge_image_is_refused_before_decompressing():
    import struct

    header = struct.pack("<IIBII", 8192, 8, 0, 2**31, 5) + b"16UC1"
    with pytest.raises(receiver.DecodeError, match="out of bounds"):
        receiver.decode_compressed_depth({"format": "zstd", "data": header + b"\x28\xb5\x2f\xfd"})


def test_messages_that_are_not_cdr_are_decode_errors():
    for data in [b"", b"\x00\x00\x00\x00rest", b"\x00\x01\x00\x00\x01"]:
        with pytest.raises(receiver.DecodeError):
            receiver.decode_image(data)
