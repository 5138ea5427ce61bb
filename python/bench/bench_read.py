"""aaa_camera's read path against the real daemon (synthetic source), two measurements:

1. Copy cost: `cam.wait_next()` + `frame.rgb` + `frame.depth` on a frame already published (so
   no waiting is timed: the call, the copy out of shared memory, the arrays) against numpy
   copies of the same bytes, alternated in the same run: `rgb.copy()` + `depth.copy()` of the
   frame's arrays (a source just written by this process, warm in cache), and `np.copy` of the
   same slot straight out of the mapped segments (the source the reader copies from, written by
   the daemon). Target: ratio of medians <= 1.3.
2. Latency: publish -> ndarray, `aaa_camera.monotonic_ns()` once `frame.rgb` and `frame.depth`
   exist minus `frame.publish_mono_ns` (both CLOCK_MONOTONIC), with a blocking wait. Target:
   p99 < 1 ms at 30 fps. Measured for copied frames (`wait_next`) and for frames held in place
   (`with wait_next_in_place()`: arrays over the daemon's memory, checked at the block's end),
   in alternating one-second rounds of the same run.

Usage (after `bash scripts/setup-python.sh`):
    .venv/bin/python python/bench/bench_read.py [--seconds 10] [--width 640 --height 480]
The daemon: $AAA_DAEMON_BIN, else `cargo build --release -p capture-daemon`.
"""

import argparse
import json
import mmap
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import aaa_camera

REPO = Path(__file__).resolve().parents[2]


def daemon_binary() -> Path:
    explicit = os.environ.get("AAA_DAEMON_BIN")
    if explicit:
        return Path(explicit)
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "capture-daemon"], cwd=REPO, check=True)
    metadata = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=REPO, check=True, capture_output=True, text=True,
    )
    return Path(json.loads(metadata.stdout)["target_directory"]) / "release" / "aaa-camera-daemon"


def percentiles_us(values_ns):
    values = np.asarray(values_ns, dtype=np.float64) / 1e3
    return {p: float(np.percentile(values, p)) for p in (50, 90, 99)} | {"max": float(values.max())}


def show(name, stats):
    print(f"  {name:<44} p50 {stats[50]:8.1f} us   p90 {stats[90]:8.1f} us   "
          f"p99 {stats[99]:8.1f} us   max {stats['max']:8.1f} us")


class Planes:
    """The colour and depth segments mapped read-only, their slots as numpy arrays (header
    fields as docs/protocol.md section 5.1 gives them)."""

    def __init__(self, namespace, width, height):
        self.slots = []
        for suffix, plane_len in (("rgb_frame", width * height * 3), ("depth_frame", width * height * 2)):
            with open(f"/dev/shm/aaa_{namespace}_{suffix}", "rb") as file:
                mapped = mmap.mmap(file.fileno(), 0, prot=mmap.PROT_READ)
            data_offset, slot_count = np.frombuffer(mapped, np.uint32, 2, 24)
            slot_stride = int(np.frombuffer(mapped, np.uint64, 1, 32)[0])
            self.slots.append([
                np.frombuffer(mapped, np.uint8, plane_len, int(data_offset) + s * slot_stride)
                for s in range(int(slot_count))
            ])
        self.count = len(self.slots[0])

    def slot_of(self, rgb):
        """The slot holding this frame (its first row carries the synthetic stamp), or None."""
        first_row = rgb.reshape(-1)[: rgb.shape[1] * 3]
        for index, slot in enumerate(self.slots[0]):
            if np.array_equal(slot[: first_row.size], first_row):
                return index
        return None

    def copy(self, slot):
        return self.slots[0][slot].copy(), self.slots[1][slot].copy()


def timed(function):
    started = time.perf_counter_ns()
    result = function()
    return time.perf_counter_ns() - started, result


def measure_copy(cam, planes, seconds):
    """Reads each frame once it is surely published (5 ms after it), and copies the same bytes
    with numpy. Whichever copies the daemon's freshly written bytes first pays for bringing
    them into this core's cache, so the order alternates: odd frames are read by aaa_camera
    first (then numpy copies the frame's arrays), even frames are copied by numpy out of the
    segments first (then read by aaa_camera). Returns {(who, first or after): [ns]}."""
    samples = {key: [] for key in (("ours", "first"), ("ours", "after"), ("numpy_shm", "first"), ("numpy_arrays", "after"))}
    frame = cam.wait_next(timeout=5)
    slot = planes.slot_of(frame.rgb)
    period_ns = 1e9 / max(frame.metadata["fps"] or 30.0, 1.0)
    deadline = time.monotonic() + seconds
    iteration = 0
    while time.monotonic() < deadline:
        # The next frame is published ~period after this one; read it 5 ms later.
        wake_ns = frame.publish_mono_ns + period_ns + 5e6
        pause = (wake_ns - aaa_camera.monotonic_ns()) / 1e9
        if pause > 0:
            time.sleep(pause)
        iteration += 1
        numpy_first = iteration % 2 == 0 and slot is not None
        if numpy_first:
            # The writer fills the slots in turn: the next frame is in the next one.
            numpy_ns, _ = timed(lambda: planes.copy((slot + 1) % planes.count))
        ours_ns, frame = timed(lambda: read(cam))
        if frame is None:  # late frame: resynchronise without timing
            frame = cam.wait_next(timeout=1.0)
            slot = planes.slot_of(frame.rgb)
            continue
        new_slot = planes.slot_of(frame.rgb)
        if numpy_first:
            if new_slot == (slot + 1) % planes.count:
                samples["numpy_shm", "first"].append(numpy_ns)
                samples["ours", "after"].append(ours_ns)
        else:
            samples["ours", "first"].append(ours_ns)
            rgb, depth = frame.rgb, frame.depth
            numpy_ns, _ = timed(lambda: (rgb.copy(), depth.copy()))
            samples["numpy_arrays", "after"].append(numpy_ns)
        slot = new_slot
    return samples


def read(cam):
    """What the copy cost times: the call and both arrays."""
    frame = cam.wait_next(timeout=0.0)
    if frame is not None:
        frame.rgb, frame.depth
    return frame


def latency_copied(cam):
    frame = cam.wait_next(timeout=1.0)
    if frame is None:
        return None
    rgb, depth = frame.rgb, frame.depth
    in_hand_ns = aaa_camera.monotonic_ns()
    del rgb, depth
    return in_hand_ns - frame.publish_mono_ns


def latency_in_place(cam):
    """Publish -> arrays in hand, of a block that then ended with its check passed."""
    try:
        with cam.wait_next_in_place(timeout=1.0) as frame:
            rgb, depth = frame.rgb, frame.depth
            in_hand_ns = aaa_camera.monotonic_ns()
            del rgb, depth
    except TimeoutError:
        return None
    return in_hand_ns - frame.publish_mono_ns


def measure_latency(cam, seconds):
    """Both ways, in alternating one-second rounds; {way: [ns]} and overwritten blocks."""
    latencies = {"copied": [], "in place": []}
    overwritten = 0
    deadline = time.monotonic() + 2 * seconds
    rounds = 0
    while time.monotonic() < deadline:
        way, measure = (("copied", latency_copied), ("in place", latency_in_place))[rounds % 2]
        round_end = time.monotonic() + 1.0
        while time.monotonic() < round_end:
            try:
                latency = measure(cam)
            except aaa_camera.FrameOverwritten:
                overwritten += 1
                continue
            if latency is not None:
                latencies[way].append(latency)
        rounds += 1
    return latencies, overwritten


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    args = parser.parse_args()

    binary = daemon_binary()
    namespace = f"pybench{os.getpid() % 100000}"
    runtime_dir = tempfile.mkdtemp(prefix="aaa-camera-bench-")
    command = [str(binary), "--namespace", namespace, "--runtime-dir", runtime_dir]
    daemon = subprocess.Popen(
        command + ["run", "--source", "synthetic", "--width", str(args.width), "--height", str(args.height)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                cam = aaa_camera.Camera(namespace=namespace)
                break
            except aaa_camera.DaemonNotRunning:
                if time.monotonic() > deadline or daemon.poll() is not None:
                    sys.exit("bench: the daemon did not come up")
                time.sleep(0.05)
        cam.wait_next(timeout=10)
        frame_bytes = args.width * args.height * (3 + 2)
        print(f"aaa_camera read path: {args.width}x{args.height} RGB8 + Z16 "
              f"({frame_bytes / 1e6:.2f} MB a frame), {binary.parent.name} daemon, "
              f"{args.seconds:.0f} s per measurement")

        planes = Planes(namespace, args.width, args.height)
        samples = measure_copy(cam, planes, args.seconds)
        stats = {key: percentiles_us(values) for key, values in samples.items() if values}
        print("copy cost, frame already published (first: the first copy of the daemon's bytes):")
        for (who, when), label in (
            (("ours", "first"), "wait_next + rgb + depth, first"),
            (("numpy_shm", "first"), "numpy copy out of segments, first"),
            (("ours", "after"), "wait_next + rgb + depth, after"),
            (("numpy_arrays", "after"), "numpy copy of the arrays, after"),
        ):
            if (who, when) in stats:
                show(f"{label} ({len(samples[who, when])})", stats[who, when])
        print(f"  ratio of medians, first copy: "
              f"{stats['ours', 'first'][50] / stats['numpy_shm', 'first'][50]:.2f}; "
              f"after the first: {stats['ours', 'after'][50] / stats['numpy_arrays', 'after'][50]:.2f} "
              f"(target <= 1.3)")

        latencies, overwritten = measure_latency(cam, args.seconds)
        print(f"latency, blocking wait, alternating rounds ({overwritten} in-place blocks overwritten):")
        stats = {way: percentiles_us(values) for way, values in latencies.items()}
        show(f"publish -> ndarray, copied ({len(latencies['copied'])})", stats["copied"])
        show(f"publish -> ndarray, in place ({len(latencies['in place'])})", stats["in place"])
        print(f"  p99 copied {stats['copied'][99] / 1e3:.3f} ms (target < 1 ms); in place / copied: "
              f"p50 {stats['in place'][50] / stats['copied'][50]:.2f}, "
              f"p99 {stats['in place'][99] / stats['copied'][99]:.2f}")
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        subprocess.run(command + ["cleanup"], capture_output=True)
        shutil.rmtree(runtime_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
