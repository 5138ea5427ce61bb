#!/usr/bin/env python3
"""Frames from an `aaa-camera-daemon bridge` over Zenoh, as numpy arrays, on any machine.

Needs only `eclipse-zenoh` and `numpy` from PyPI (and `zstandard` for `--depth-codec zstd`):

    python3 -m pip install eclipse-zenoh numpy
    python3 aaa_zenoh_receiver.py --connect tcp/CAMERA-HOST:7447 --key aaa/CAMERA-HOST/default

or, from Python:

    from aaa_zenoh_receiver import Receiver
    with Receiver("tcp/CAMERA-HOST:7447", "aaa/CAMERA-HOST/default") as receiver:
        frame = receiver.next_frame(timeout=2.0)
        frame.rgb          # (height, width, 3) uint8
        frame.depth        # (height, width) uint16 in the camera's units, or None
        frame.depth_m()    # the same in metres (float32; 0 where nothing was measured)
        frame.metadata     # the daemon's metadata: frame_number, capture_wall_ns, intrinsics, ...

The bridge publishes under its key prefix: `color` (sensor_msgs/msg/Image rgb8), `depth` (Image
16UC1 / 32FC1, or CompressedImage `16UC1; compressedDepth rvl` or `zstd`), `camera_info`
(CameraInfo, also answered to a query) and `metadata` (std_msgs/msg/String, the frame's metadata
JSON), every message CDR-encoded as ROS 2 does and stamped with the frame's capture time. This
module decodes them itself (no ROS installation): the parts of one capture are put together by
their stamp, the newest complete frame wins (a slow consumer skips frames, it never lags), and
decoding happens in `next_frame`, for the frames taken.

Run as a program it prints one JSON line per frame (`--json`: frame number, latency from capture
to receipt, depth format, SHA-256 digests of the planes) and a summary, like
`aaa-camera-daemon watch --remote`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np

try:
    import zenoh
except ImportError:  # pragma: no cover - the message says what to do
    zenoh = None

#: The kinds of message below a key prefix.
COLOR, DEPTH, CAMERA_INFO, METADATA = "color", "depth", "camera_info", "metadata"
#: The daemon's detection results (std_msgs/msg/String JSON), when it detects.
DETECTIONS = "detections"
#: `CompressedImage.format` of lossless RVL depth (ROS's compressed_depth_image_transport).
RVL_FORMAT = "16UC1; compressedDepth rvl"
#: `CompressedImage.format` of zstd depth (ROS 2's zstd_image_transport layout).
ZSTD_FORMAT = "zstd"
#: Incomplete captures kept while their parts arrive; older ones are dropped.
PENDING_CAPTURES = 8
#: The largest image accepted from the network (as the Rust decoders do).
MAX_PIXELS = 8192 * 8192


class DecodeError(ValueError):
    """A message that is not what its key says (truncated, another type, hostile sizes)."""


# --- ROS 2 CDR (XCDR1, little-endian) -------------------------------------------------------


class CdrReader:
    """Reads the fields of one CDR-encoded ROS 2 message, bounds-checked."""

    def __init__(self, data: bytes):
        if len(data) < 4:
            raise DecodeError("shorter than the CDR encapsulation header")
        if data[0:2] != b"\x00\x01":
            raise DecodeError(f"not little-endian CDR (encapsulation {data[0:2].hex()})")
        self.data = memoryview(data)[4:]
        self.offset = 0

    def _take(self, size: int, align: int = 1) -> memoryview:
        self.offset += -self.offset % align
        end = self.offset + size
        if size < 0 or end > len(self.data):
            raise DecodeError(f"truncated: {size} bytes at {self.offset} of {len(self.data)}")
        view = self.data[self.offset : end]
        self.offset = end
        return view

    def u8(self) -> int:
        return self._take(1)[0]

    def u32(self) -> int:
        return struct.unpack("<I", self._take(4, 4))[0]

    def i32(self) -> int:
        return struct.unpack("<i", self._take(4, 4))[0]

    def f64s(self, count: int) -> list:
        return list(struct.unpack(f"<{count}d", self._take(8 * count, 8)))

    def string(self) -> str:
        length = self.u32()  # with its terminating NUL
        raw = bytes(self._take(length))
        return raw[:-1].decode("utf-8", "replace") if raw else ""

    def byte_sequence(self) -> memoryview:
        return self._take(self.u32())

    def header(self) -> tuple[int, str]:
        """std_msgs/Header: the stamp in ns since the epoch, and the frame id."""
        sec, nanosec = self.i32(), self.u32()
        return sec * 1_000_000_000 + nanosec, self.string()


def stamp_of(data: bytes) -> int:
    """The stamp of a message that starts with a std_msgs/Header (images, camera info)."""
    return CdrReader(data).header()[0]


def decode_image(data: bytes) -> dict:
    """sensor_msgs/msg/Image."""
    reader = CdrReader(data)
    stamp_ns, frame_id = reader.header()
    height, width = reader.u32(), reader.u32()
    encoding = reader.string()
    is_bigendian, step = reader.u8(), reader.u32()
    pixels = reader.byte_sequence()
    if width * height > MAX_PIXELS:
        raise DecodeError(f"{width}x{height} is larger than accepted")
    return dict(stamp_ns=stamp_ns, frame_id=frame_id, height=height, width=width,
                encoding=encoding, is_bigendian=bool(is_bigendian), step=step, data=pixels)


def decode_compressed_image(data: bytes) -> dict:
    """sensor_msgs/msg/CompressedImage."""
    reader = CdrReader(data)
    stamp_ns, frame_id = reader.header()
    return dict(stamp_ns=stamp_ns, frame_id=frame_id, format=reader.string(),
                data=reader.byte_sequence())


def decode_string(data: bytes) -> str:
    """std_msgs/msg/String."""
    return CdrReader(data).string()


def decode_camera_info(data: bytes) -> dict:
    """sensor_msgs/msg/CameraInfo (without binning and region of interest)."""
    reader = CdrReader(data)
    stamp_ns, frame_id = reader.header()
    height, width = reader.u32(), reader.u32()
    model = reader.string()
    count = reader.u32()
    if count > 64:
        raise DecodeError(f"{count} distortion coefficients")
    d = reader.f64s(count)
    k, r, p = reader.f64s(9), reader.f64s(9), reader.f64s(12)
    return dict(stamp_ns=stamp_ns, frame_id=frame_id, width=width, height=height,
                distortion_model=model, d=d, k=k, r=r, p=p)


# --- images and depth ------------------------------------------------------------------------


def image_array(image: dict) -> np.ndarray:
    """The pixels of a decoded Image: rgb8/bgr8 as (h, w, 3) RGB uint8, 16UC1/mono16 as (h, w)
    uint16, 32FC1 as (h, w) float32."""
    layouts = {"rgb8": (np.uint8, 3), "bgr8": (np.uint8, 3), "16UC1": (np.uint16, 1),
               "mono16": (np.uint16, 1), "32FC1": (np.float32, 1)}
    if image["encoding"] not in layouts:
        raise DecodeError(f"unsupported image encoding {image['encoding']!r}")
    dtype, channels = layouts[image["encoding"]]
    dtype = np.dtype(dtype).newbyteorder(">" if image["is_bigendian"] else "<")
    height, width, step = image["height"], image["width"], image["step"]
    row = width * channels * dtype.itemsize
    if step < row or len(image["data"]) < step * height:
        raise DecodeError(f"{len(image['data'])} bytes do not hold {height} rows of {step}")
    rows = np.frombuffer(image["data"], np.uint8, count=step * height).reshape(height, step)
    array = rows[:, :row].copy().view(dtype).reshape(height, width, channels)
    array = array.astype(dtype.newbyteorder("="), copy=False)
    if image["encoding"] == "bgr8":
        array = array[:, :, ::-1].copy()
    return array if channels == 3 else array[:, :, 0]


def rvl_decode(words: bytes, pixels: int) -> np.ndarray:
    """RVL (Wilson 2017) as compressed_depth_image_transport writes it: alternating runs of
    zeros and non-zeros, the non-zeros as zig-zag deltas, every number in 4-bit nibbles (3 value
    bits, least significant first, and a continuation bit) packed from the top of little-endian
    32-bit words. The nibbles are taken apart with numpy; only the runs are walked in Python."""
    usable = len(words) - len(words) % 4
    packed = np.frombuffer(words, "<u4", count=usable // 4)
    shifts = np.arange(28, -4, -4, dtype=np.uint32)
    nibbles = ((packed[:, None] >> shifts) & 0xF).astype(np.uint8).ravel()
    ends = np.flatnonzero((nibbles & 0x8) == 0)
    if len(ends) == 0:
        raise DecodeError("RVL data holds no complete number")
    starts = np.concatenate(([0], ends[:-1] + 1))
    if np.any(ends - starts >= 11):
        raise DecodeError("RVL code longer than any number it may carry")
    index = np.arange(ends[-1] + 1)
    position = index - np.repeat(starts, ends - starts + 1)
    bits = (nibbles[: ends[-1] + 1] & 0x7).astype(np.uint64) << (3 * position).astype(np.uint64)
    values = np.add.reduceat(bits, starts).astype(np.int64)

    out = np.zeros(pixels, np.uint16)
    run_starts, run_lengths, delta_chunks = [], [], []
    at, pixel, count = 0, 0, len(values)
    while pixel < pixels:
        if at + 2 > count:
            raise DecodeError("RVL data ends before the image does")
        zeros, nonzeros = int(values[at]), int(values[at + 1])
        at += 2
        if zeros > pixels - pixel or nonzeros > pixels - pixel - zeros or at + nonzeros > count:
            raise DecodeError("RVL run longer than the pixels left")
        pixel += zeros
        run_starts.append(pixel)
        run_lengths.append(nonzeros)
        delta_chunks.append(values[at : at + nonzeros])
        at += nonzeros
        pixel += nonzeros
    coded = np.concatenate(delta_chunks) if delta_chunks else np.zeros(0, np.int64)
    deltas = (coded >> 1) ^ -(coded & 1)
    depth = (np.cumsum(deltas) & 0xFFFF).astype(np.uint16)
    lengths = np.asarray(run_lengths)
    targets = np.repeat(np.asarray(run_starts) - np.concatenate(([0], np.cumsum(lengths)[:-1])),
                        lengths) + np.arange(len(depth))
    out[targets] = depth
    return out


def decode_compressed_depth(message: dict) -> np.ndarray:
    """The (h, w) uint16 depth of a CompressedImage in RVL or zstd."""
    data = bytes(message["data"])
    if message["format"].replace(" ", "") == RVL_FORMAT.replace(" ", ""):
        # compressedDepth's ConfigHeader (format, two depth-quantisation floats), then the size.
        if len(data) < 20:
            raise DecodeError("compressedDepth data shorter than its header")
        width, height = struct.unpack_from("<II", data, 12)
        if width * height > MAX_PIXELS:
            raise DecodeError(f"{width}x{height} is larger than accepted")
        return rvl_decode(data[20:], width * height).reshape(height, width)
    if message["format"] == ZSTD_FORMAT:
        try:
            import zstandard
        except ImportError as error:
            raise DecodeError("zstd depth needs `pip install zstandard`") from error
        if len(data) < 17:
            raise DecodeError("zstd image data shorter than its header")
        height, width, is_bigendian, step, name_len = struct.unpack_from("<IIBII", data, 0)
        # At most 8 bytes per pixel (the widest ROS encodings), as the Rust decoder bounds it:
        # the sender's header must not make this side allocate without limit.
        if width * height > MAX_PIXELS or height * step > MAX_PIXELS * 8 or name_len > 64:
            raise DecodeError("zstd image header out of bounds")
        encoding = data[17 : 17 + name_len].decode("utf-8", "replace")
        raw = zstandard.ZstdDecompressor().decompress(data[17 + name_len :],
                                                      max_output_size=height * step)
        image = dict(height=height, width=width, encoding=encoding,
                     is_bigendian=bool(is_bigendian), step=step, data=raw)
        return image_array(image)
    raise DecodeError(f"unsupported depth format {message['format']!r}")


# --- frames ----------------------------------------------------------------------------------


@dataclass
class Frame:
    metadata: dict
    rgb: np.ndarray
    depth: np.ndarray | None
    depth_format: str | None
    received_wall_ns: int

    @property
    def frame_number(self) -> int:
        return self.metadata["frame_number"]

    def depth_m(self) -> np.ndarray | None:
        scale = self.metadata.get("depth_scale_m")
        if self.depth is None or scale is None:
            return None
        return self.depth.astype(np.float32) * np.float32(scale)


@dataclass
class _Capture:
    parts: dict = field(default_factory=dict)
    needs_depth: bool | None = None

    def complete(self) -> bool:
        return (self.needs_depth is not None and COLOR in self.parts and METADATA in self.parts
                and (not self.needs_depth or DEPTH in self.parts))


def assemble(parts: dict, received_wall_ns: int) -> Frame:
    """Decodes the parts of one capture (raw message bytes by kind) into a Frame."""
    metadata = json.loads(decode_string(parts[METADATA]))
    rgb = image_array(decode_image(parts[COLOR]))
    depth, depth_format = None, None
    if DEPTH in parts:
        payload = parts[DEPTH]
        if parts.get("depth_compressed"):
            message = decode_compressed_image(payload)
            depth, depth_format = decode_compressed_depth(message), message["format"]
        else:
            image = decode_image(payload)
            depth, depth_format = image_array(image), image["encoding"]
            if depth.dtype == np.float32:  # 32FC1 metres: back to the camera's units
                scale = metadata.get("depth_scale_m") or 0.001
                depth = np.where(np.isfinite(depth), np.rint(depth / scale), 0).astype(np.uint16)
        if depth.shape != rgb.shape[:2]:
            raise DecodeError(f"depth {depth.shape} and colour {rgb.shape[:2]} sizes differ")
    return Frame(metadata, rgb, depth, depth_format, received_wall_ns)


class Receiver:
    """One camera's frames from a bridge: subscribes to `key/*` on a peer session that connects
    to `endpoint` (explicit endpoint only, no multicast scouting) and reconnects by itself."""

    def __init__(self, endpoint: str | None, key: str, config_file: str | None = None):
        if zenoh is None:
            raise RuntimeError("the Zenoh Python API is missing: pip install eclipse-zenoh")
        config = zenoh.Config.from_file(config_file) if config_file else zenoh.Config()
        config.insert_json5("mode", '"peer"')
        config.insert_json5("scouting/multicast/enabled", "false")
        if endpoint:
            config.insert_json5("connect/endpoints", json.dumps([endpoint]))
        self.key = key.rstrip("/")
        self._lock = threading.Condition()
        self._pending: dict[int, _Capture] = {}
        self._complete: tuple[dict, int] | None = None
        self._newest_complete = -1
        self.camera_info_bytes: bytes | None = None
        self.detections: dict | None = None
        self.stats = dict(completed=0, replaced=0, rejected=0, discarded=0, detection_results=0)
        self.last_rejection: str | None = None
        self._session = zenoh.open(config)
        self._subscriber = self._session.declare_subscriber(f"{self.key}/*", self._on_sample)

    def close(self) -> None:
        self._subscriber.undeclare()
        self._session.close()

    def __enter__(self) -> "Receiver":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def camera_info(self, timeout: float = 2.0) -> dict | None:
        """The latest camera info: published with the frames, or asked of the bridge."""
        if self.camera_info_bytes is None:
            for reply in self._session.get(f"{self.key}/{CAMERA_INFO}", timeout=timeout):
                if reply.ok is not None:
                    self.camera_info_bytes = reply.ok.payload.to_bytes()
        return decode_camera_info(self.camera_info_bytes) if self.camera_info_bytes else None

    def latest_detections(self) -> dict | None:
        """The daemon's newest detection result (frame_number, detections with label, score,
        box and 3D position), when it detects; None before the first."""
        with self._lock:
            return self.detections

    def _on_sample(self, sample) -> None:
        """Zenoh's callback: sorts a message into its capture; never decodes pixels."""
        kind = str(sample.key_expr)[len(self.key) + 1 :]
        payload = sample.payload.to_bytes()
        try:
            if kind == CAMERA_INFO:
                self.camera_info_bytes = payload
                return
            if kind == DETECTIONS:
                result = json.loads(decode_string(payload))
                with self._lock:
                    self.detections = result
                    self.stats["detection_results"] += 1
                return
            if kind in (COLOR, DEPTH):
                stamp_ns = stamp_of(payload)
            elif kind == METADATA:
                metadata = json.loads(decode_string(payload))
                stamp_ns = int(metadata["capture_wall_ns"])
            else:
                return  # whatever else shares the prefix
        except (DecodeError, ValueError, KeyError, TypeError) as error:
            with self._lock:
                self.stats["rejected"] += 1
                self.last_rejection = f"{sample.key_expr}: {error}"
            return
        with self._lock:
            if stamp_ns <= self._newest_complete:
                self.stats["discarded"] += 1
                return
            capture = self._pending.setdefault(stamp_ns, _Capture())
            capture.parts[kind] = payload
            if kind == DEPTH:
                capture.parts["depth_compressed"] = str(sample.encoding).endswith("CompressedImage")
            if kind == METADATA:
                capture.needs_depth = metadata.get("depth_scale_m") is not None
            if capture.complete():
                del self._pending[stamp_ns]
                if self._complete is not None:
                    self.stats["replaced"] += 1
                self._complete = (capture.parts, time.time_ns())
                self._newest_complete = stamp_ns
                self.stats["completed"] += 1
                for older in [stamp for stamp in self._pending if stamp < stamp_ns]:
                    self.stats["discarded"] += len(self._pending.pop(older).parts)
                self._lock.notify_all()
            while len(self._pending) > PENDING_CAPTURES:
                self.stats["discarded"] += len(self._pending.pop(min(self._pending)).parts)

    def next_frame(self, timeout: float) -> Frame | None:
        """The newest complete frame not taken yet, waiting up to `timeout` s; None if none
        came. A frame whose messages do not decode raises DecodeError."""
        with self._lock:
            if not self._lock.wait_for(lambda: self._complete is not None, timeout):
                return None
            parts, received_wall_ns = self._complete
            self._complete = None
        return assemble(parts, received_wall_ns)


# --- the program -----------------------------------------------------------------------------


def digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def percentile(values: list, fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(np.ceil(fraction * len(ordered))) - 1))]


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connect", metavar="ENDPOINT", help="the bridge, e.g. tcp/HOST:7447")
    parser.add_argument("--key", required=True, help="the bridge's key prefix, aaa/HOST/NAMESPACE")
    parser.add_argument("--zenoh-config", metavar="FILE", help="a Zenoh configuration (TLS, ...)")
    parser.add_argument("--frames", type=int, help="stop after this many frames")
    parser.add_argument("--seconds", type=float, default=10.0, help="stop after this long")
    parser.add_argument("--json", action="store_true", help="one JSON line per frame, then one"
                        " summary line")
    args = parser.parse_args(argv)
    if not args.connect and not args.zenoh_config:
        parser.error("--connect ENDPOINT (or --zenoh-config FILE) names the bridge")

    latencies_ms, received, failures = [], 0, 0
    started = time.monotonic()
    with Receiver(args.connect, args.key, args.zenoh_config) as receiver:
        while time.monotonic() - started < args.seconds:
            if args.frames is not None and received >= args.frames:
                break
            try:
                frame = receiver.next_frame(timeout=0.5)
            except DecodeError as error:
                failures += 1
                print(f"a frame did not decode: {error}", file=sys.stderr)
                continue
            if frame is None:
                continue
            received += 1
            latency_ms = (frame.received_wall_ns - frame.metadata["capture_wall_ns"]) / 1e6
            latencies_ms.append(latency_ms)
            line = dict(frame_number=frame.frame_number, latency_ms=round(latency_ms, 3),
                        width=frame.rgb.shape[1], height=frame.rgb.shape[0],
                        depth_format=frame.depth_format, rgb_sha256=digest(frame.rgb),
                        depth_sha256=None if frame.depth is None else digest(frame.depth))
            if args.json:
                print(json.dumps(line), flush=True)
            else:
                print(f"frame {frame.frame_number}: {line['width']}x{line['height']}, depth "
                      f"{frame.depth_format}, {latency_ms:.1f} ms after capture", flush=True)
        info = receiver.camera_info()
        detections = receiver.latest_detections()
        elapsed = time.monotonic() - started
        summary = dict(summary=True, frames=received, decode_failures=failures,
                       seconds=round(elapsed, 3), fps=round(received / elapsed, 2),
                       latency_p50_ms=percentile(latencies_ms, 0.5),
                       latency_p99_ms=percentile(latencies_ms, 0.99),
                       camera_info=None if info is None else
                       dict(width=info["width"], height=info["height"],
                            distortion_model=info["distortion_model"], k=info["k"]),
                       latest_detections=None if detections is None else
                       dict(frame_number=detections.get("frame_number"),
                            count=len(detections.get("detections", []))),
                       **receiver.stats)
    print(json.dumps(summary) if args.json else
          f"{received} frames in {elapsed:.1f} s ({summary['fps']} fps), latency p50 "
          f"{summary['latency_p50_ms']} ms p99 {summary['latency_p99_ms']} ms, {failures} failed")
    return 0 if received > 0 and failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
