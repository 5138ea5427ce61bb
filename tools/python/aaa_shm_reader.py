#!/usr/bin/env python3
"""A reader of the aaa camera shared-memory protocol, version 1.x (docs/protocol.md).

The specification's executable reference: a second implementation of the protocol,
independent of the Rust `shmproto` (the Python package `aaa_camera` wraps that one), tested
against the real writers (shmproto/tests/python_reader.rs).

Standard library only (Python 3.9 or later; tested with 3.11); numpy is used for
`Frame.rgb_array()` and `Frame.depth_array()` when it can be imported. Linux and macOS,
little-endian machines. On Linux it waits for frames in FUTEX_WAIT through ctypes, elsewhere
(or when that fails, or with `--poll`) it polls the wake word.

    python3 tools/python/aaa_shm_reader.py --namespace NS [--frames N] [--verify-pattern | --verify-synthetic]

prints one JSON summary line on stdout (`--timeout S` per frame, `--wait S` for a writer that
is missing, starting or switching segments). Exit status: 0 success; 1 a frame failed
verification (its metadata included), frame numbers did not increase, or fewer than N frames
arrived (timeout, writer gone); 2 bad arguments or segments that cannot be used (missing, not a
regular file, untrusted, invalid, writer not live), also when found while reading (a corrupt
slot or status record, an invalid writer status).

    python3 tools/python/aaa_shm_reader.py --namespace NS --detections [--frames N] [--verify-pattern]

reads N detection results from the namespace's detections segment instead, prints each as one
JSON line and then the summary; same exit statuses (2 also for a result that is not valid).

As a library:

    from aaa_shm_reader import Frame, open_waiting
    with open_waiting("cam2", timeout_s=2.0) as reader:
        frame = Frame()                    # reuse it for every read
        if reader.wait_next(frame, timeout_s=1.0):
            print(frame.frame_number, frame.metadata()["source_kind"])

    from aaa_shm_reader import open_detections_waiting
    with open_detections_waiting("cam2", timeout_s=2.0) as detections:
        published = detections.wait_next(timeout_s=1.0)   # a dict, or None on timeout
        if published is not None:
            for detection in published["result"]["detections"]:
                print(detection["label"], detection["score"], detection.get("position"))

This reader never writes to shared memory (it maps the segments read-only) and never unlinks a
segment. It refuses anything at a segment's path that is not a regular file (a FIFO, say), and
segments that group or others may access, or that belong to a user other than itself and root
(docs/protocol.md, "Permissions"). No open blocks (O_NONBLOCK), and no wait outlasts its timeout.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import mmap
import os
import stat
import struct
import sys
import threading
import time
from array import array

try:  # shm_open, as multiprocessing.shared_memory uses it; only needed outside Linux.
    import _posixshmem
except ImportError:  # pragma: no cover - depends on the platform
    _posixshmem = None

try:  # Optional: only for returning planes as arrays.
    import numpy
except ImportError:  # pragma: no cover - depends on the machine
    numpy = None

# --- Constants (docs/protocol.md, "Byte layout") -------------------------------------------

MAGIC = b"AAACAMv1"
VERSION_MAJOR = 1
# The minor version this reader implements (1.1: the REPLACED state; 1.2: the detections
# segment). Readers accept any minor.
VERSION_MINOR = 2

KIND_METADATA, KIND_RGB, KIND_DEPTH, KIND_DETECTIONS = 1, 2, 3, 4

SEGMENT_HEADER_LEN = 64
CONTROL_OFFSET = 64
SLOT_TABLE_OFFSET = 256
SLOT_RECORD_LEN = 64
STATUS_RECORD_LEN = 64
SLOT_ALIGN = 64
MIN_SLOTS, MAX_SLOTS = 2, 64
MIN_JSON_CAPACITY, MAX_JSON_CAPACITY = 1024, 1 << 20
MAX_DIMENSION_PX = 16_384
MAX_NAMESPACE_LEN = 14
NAMESPACE_ENV = "AAA_NAMESPACE"

# Control block fields (absolute offsets in the metadata segment).
OFF_STATE = 64
OFF_WRITER_PID = 68
OFF_HEARTBEAT = 72
OFF_STARTED_WALL = 80
OFF_LATEST = 88
OFF_WAKE = 96
OFF_WIDTH = 100
OFF_HEIGHT = 104
OFF_COLOR_FORMAT = 108
OFF_COLOR_STRIDE = 112
OFF_DEPTH_FORMAT = 116
OFF_DEPTH_STRIDE = 120
OFF_METADATA_CAPACITY = 124
OFF_STATUS_CAPACITY = 128
# The detections segment's control block: the words above up to OFF_WAKE, then this.
OFF_RESULT_CAPACITY = 100

# Slot record fields (relative to the record).
SLOT_SEQ = 0
SLOT_PUBLISH_SEQ = 8
SLOT_FRAME_NUMBER = 16
SLOT_CAPTURE_WALL = 24
SLOT_CAPTURE_MONO = 32
SLOT_PUBLISH_MONO = 40
SLOT_METADATA_LEN = 48  # the slot's JSON length: frame metadata, or a detection result
# Detections segment only: session_id of the frame segments the source frame came from.
SLOT_FRAME_SESSION = 56

# Status record fields (relative to the record).
STATUS_SEQ = 0
STATUS_LEN = 8

STATE_INITIALIZING, STATE_LIVE, STATE_CLOSED, STATE_REPLACED = 0, 1, 2, 3

COLOR_RGB8 = 1
DEPTH_NONE, DEPTH_Z16 = 0, 1

HEARTBEAT_TIMEOUT_NS = 200_000_000
LIVENESS_CHECK_INTERVAL_S = 0.025
# Where the futex cannot be used (not Linux, no ctypes, an unknown architecture, a failed
# call), waiting polls the wake word this often.
POLL_INTERVAL_S = 0.0005
# Seqlock read attempts before giving up until the next publish (as the Rust reader does):
# a `latest` word that names a frame no slot holds (a broken or hostile writer) must not make
# the reader spin.
MAX_READ_ATTEMPTS = 64

M64 = (1 << 64) - 1


# --- Errors ---------------------------------------------------------------------------------


class ProtocolError(Exception):
    """Base class of every error this module raises on purpose."""


class NamespaceError(ProtocolError):
    pass


class SegmentNotFound(ProtocolError):
    may_appear_soon = True

    def __init__(self, segment: str):
        super().__init__(f"shared-memory segment {segment} does not exist")
        self.segment = segment


class SegmentUnavailable(ProtocolError):
    """The segment exists but cannot be opened or mapped (permissions, empty, ...)."""


class SegmentUntrusted(ProtocolError):
    """The segment belongs to another (non-root) user, or group or others may access it: its
    frames cannot be trusted to come from our daemon."""

    def __init__(self, segment: str, uid: int, mode: int, expected_uid: int):
        super().__init__(
            f"shared-memory segment {segment} is not trustworthy: owned by uid {uid} with mode "
            f"{mode:o} (expected owner uid {expected_uid} or root, mode 600)"
        )
        self.segment, self.uid, self.mode, self.expected_uid = segment, uid, mode, expected_uid


class LayoutError(ProtocolError):
    """What is wrong with a segment's bytes (without the segment name)."""


class InvalidSegment(ProtocolError):
    def __init__(self, segment: str, problem: LayoutError):
        super().__init__(f"shared-memory segment {segment} is invalid: {problem}")
        self.segment = segment
        self.problem = problem


class SessionMismatch(ProtocolError):
    may_appear_soon = True

    def __init__(self, segment: str, expected: int, found: int):
        super().__init__(
            f"shared-memory segment {segment} belongs to writer session {found:#x}, "
            f"expected {expected:#x} (writer restarted; try again)"
        )


class NotLive(ProtocolError):
    def __init__(self, namespace: str, liveness: "Liveness"):
        super().__init__(f"segments of namespace {namespace} are not usable: {liveness}")
        self.liveness = liveness
        # A writer that is starting, or moving to new segments, is there again shortly.
        self.may_appear_soon = liveness.kind in ("starting", "replaced")


class WriterGone(ProtocolError):
    def __init__(self, liveness: "Liveness"):
        super().__init__(str(liveness))
        self.liveness = liveness


class Corrupt(ProtocolError):
    def __init__(self, segment: str, problem: str):
        super().__init__(f"shared-memory segment {segment} is corrupt: {problem}")


class RecordError(ProtocolError, ValueError):
    """A JSON record in shared memory (a frame's metadata, the writer status) that does not
    parse or does not have the expected shape. Also a ValueError, which is what
    `Frame.metadata()` raised for bad JSON before."""

    def __init__(self, record: str, problem: str):
        super().__init__(f"{record} is not valid: {problem}")
        self.record, self.problem = record, problem


FRAME_METADATA = "frame metadata"


def writer_status_record(segment: str) -> str:
    return f"writer status (shared-memory segment {segment})"


def detection_result_record(segment: str) -> str:
    return f"detection result in shared-memory segment {segment}"


def decode_json(data, record: str):
    """Parses the JSON of `record` (`FRAME_METADATA`, `writer_status_record(...)`). Whatever
    the bytes, the only error is a RecordError naming the record: also for nesting too deep
    for Python's parser (RecursionError), invalid UTF-8 and over-long integers."""
    try:
        return json.loads(data)
    except RecursionError:
        problem = "JSON nested too deeply to parse"
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, integer digit limit
        problem = f"not JSON ({error})"
    raise RecordError(record, problem)


# --- Names ----------------------------------------------------------------------------------


def validate_namespace(namespace: str) -> str:
    ok = len(namespace) <= MAX_NAMESPACE_LEN and all(
        c.isascii() and (c.isalnum() or c == "-") for c in namespace
    )
    if not ok:
        raise NamespaceError(
            f"invalid namespace {namespace!r}: use at most {MAX_NAMESPACE_LEN} characters "
            "from a-z, A-Z, 0-9 and '-'"
        )
    return namespace


def segment_names(namespace: str) -> dict[str, str]:
    """The segment names (without the leading slash that shm_open adds): the frame writer's
    three, and the detections segment."""
    validate_namespace(namespace)
    prefix = "aaa_" if namespace == "" else f"aaa_{namespace}_"
    return {
        "rgb": prefix + "rgb_frame",
        "depth": prefix + "depth_frame",
        "metadata": prefix + "metadata",
        "detections": prefix + "detections",
    }


# --- Opening segments -----------------------------------------------------------------------

# Where Linux keeps POSIX shared memory: shm_open("/NAME") opens the file SHM_DIR/NAME (glibc
# and musl alike).
SHM_DIR = "/dev/shm"
_LINUX = sys.platform.startswith("linux")
# O_NONBLOCK: opening a FIFO (or a device) planted at a segment's path returns at once instead
# of waiting for a writer for ever; it changes nothing for a regular file. O_NOFOLLOW: a
# symbolic link is refused, never followed.
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC


class SegmentNotRegular(ProtocolError):
    """Something other than a shared-memory segment is at a segment's path: a FIFO, a
    directory, a socket, a symbolic link, a device. None of them can be a writer's segment
    (the writer creates regular files), so they are refused for good, like untrusted ones."""

    def __init__(self, segment: str, path: str, what: str, uid: int | None):
        owner = "" if uid is None else f" owned by {_describe_user(uid)}"
        super().__init__(
            f"shared-memory segment {segment} is not a regular file: {path} is a {what}{owner}; "
            "refusing it"
        )
        self.segment, self.path, self.what, self.uid = segment, path, what, uid


def _describe_user(uid: int) -> str:
    """The owner as `uid 1000 (alice)`, or `uid 1000` when the user database does not know
    the uid."""
    try:
        import pwd

        return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    except (ImportError, KeyError, OSError):
        return f"uid {uid}"


def _file_type(mode: int) -> str:
    for is_type, what in (
        (stat.S_ISFIFO, "FIFO (named pipe)"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISLNK, "symbolic link"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
    ):
        if is_type(mode):
            return what
    return f"file of type {stat.S_IFMT(mode):o}"


def _is_regular(mode: int) -> bool:
    # Outside Linux, segments are not files of a file system and a FIFO cannot appear under a
    # shm_open name; some systems leave the file-type bits of a segment's mode zero.
    return stat.S_ISREG(mode) or (not _LINUX and stat.S_IFMT(mode) == 0)


def check_trusted(segment: str, st: os.stat_result) -> None:
    """Refuses a segment that group or others may access, or whose owner is neither this
    process's effective uid nor root. A root reader trusts any owner (a daemon run through sudo
    hands its segments to the desktop user). Same rule as `check_trusted` in segment.rs."""
    euid = os.geteuid()
    mode = stat.S_IMODE(st.st_mode)
    owner_ok = euid == 0 or st.st_uid in (euid, 0)
    if not owner_ok or mode & 0o077:
        raise SegmentUntrusted(segment, st.st_uid, mode, euid)


# --- Waiting on the wake word with a futex (Linux, through ctypes) -------------------------

# FUTEX_WAIT without FUTEX_PRIVATE_FLAG: the word is shared between processes, so the kernel
# must key the wait on the shared page (inode and offset), which is where the writer's
# FUTEX_WAKE reaches it. FUTEX_WAIT only reads the word: a PROT_READ mapping is enough.
FUTEX_WAIT = 0
# SYS_futex by machine (the same number for FUTEX_WAIT with a 32-bit `long` timespec).
_SYS_FUTEX = {
    "x86_64": 202,
    "amd64": 202,
    "aarch64": 98,
    "arm64": 98,
    "riscv64": 98,
    "i386": 240,
    "i686": 240,
    "armv7l": 240,
    "armv6l": 240,
    "ppc64le": 221,
    "s390x": 238,
}
# Whether readers opened from now on wait with the futex where they can (`--poll` clears it).
USE_FUTEX = True


class _Futex:
    """`mmap`, `munmap` and `syscall(SYS_futex, ...)` from libc through ctypes.

    Python's `mmap` module does not give the address of a read-only mapping, so the page of
    the wake word is mapped a second time with libc's `mmap` (read-only, `MAP_SHARED`, the
    same descriptor): both mappings show the same shared page."""

    def __init__(self, ctypes, sys_futex: int):
        self._ctypes = ctypes
        self._sys_futex = sys_futex
        libc = ctypes.CDLL(None, use_errno=True)
        self._mmap, self._munmap, self._syscall = libc.mmap, libc.munmap, libc.syscall
        self._mmap.restype = ctypes.c_void_p
        self._mmap.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
            ctypes.c_long,
        ]
        self._munmap.restype = ctypes.c_int
        self._munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        self._syscall.restype = ctypes.c_long

        class Timespec(ctypes.Structure):
            _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]

        self._timespec = Timespec
        self._map_failed = ctypes.c_void_p(-1).value

    def map_read_only(self, fd: int, length: int) -> int | None:
        """The address of a read-only shared mapping of the first `length` bytes, or None."""
        address = self._mmap(None, length, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if address is None or address == self._map_failed:
            return None
        return address

    def unmap(self, address: int, length: int):
        self._munmap(address, length)

    def wait(self, address: int, expected: int, timeout_s: float) -> str:
        """FUTEX_WAIT on the 32-bit word at `address` while it holds `expected`, for at most
        `timeout_s`: "woken" (a FUTEX_WAKE, or a spurious return), "changed" (EAGAIN: the word
        no longer held `expected`), "timeout", "interrupted", or "failed" (any other error:
        the caller polls instead)."""
        c = self._ctypes
        seconds = max(timeout_s, 0.0)
        timeout = self._timespec(int(seconds), int((seconds - int(seconds)) * 1e9))
        result = self._syscall(
            c.c_long(self._sys_futex),
            c.c_long(address),
            c.c_long(FUTEX_WAIT),
            c.c_long(expected & 0xFFFF_FFFF),
            c.c_long(c.addressof(timeout)),
            c.c_long(0),
            c.c_long(0),
        )
        if result == 0:
            return "woken"
        code = c.get_errno()
        if code == errno.EAGAIN:
            return "changed"
        if code == errno.ETIMEDOUT:
            return "timeout"
        if code == errno.EINTR:
            return "interrupted"
        return "failed"


def _load_futex() -> _Futex | None:
    if not _LINUX:
        return None
    try:
        import ctypes
        import platform

        sys_futex = _SYS_FUTEX.get(platform.machine().lower())
        if sys_futex is None:
            return None
        return _Futex(ctypes, sys_futex)
    except (ImportError, OSError, AttributeError):
        return None


_FUTEX: _Futex | None = None
_FUTEX_LOADED = False


def _futex() -> _Futex | None:
    global _FUTEX, _FUTEX_LOADED
    if not _FUTEX_LOADED:
        _FUTEX, _FUTEX_LOADED = _load_futex(), True
    return _FUTEX


class Mapping:
    """A read-only `MAP_SHARED` mapping of a whole segment. `buf` is a read-only memoryview,
    so nothing in this module can write to shared memory by mistake. `futex_address`: where
    a second, libc-made read-only mapping of the first page starts (control segments on
    Linux, for FUTEX_WAIT), or None."""

    def __init__(self, name: str, mapped: mmap.mmap, size: int):
        self.name, self.size, self._mmap = name, size, mapped
        self.buf = memoryview(mapped)
        self.futex_address: int | None = None
        self._futex_len = 0

    def close(self):
        self.buf.release()
        self._mmap.close()
        futex = _FUTEX
        if self.futex_address is not None and futex is not None:
            futex.unmap(self.futex_address, self._futex_len)
            self.futex_address = None


def _open_descriptor(name: str) -> tuple[int, str]:
    """Opens a segment read-only without blocking and without following a link: the
    descriptor and the path it was opened at (for messages)."""
    if _LINUX:
        path = os.path.join(SHM_DIR, name)
        return os.open(path, _OPEN_FLAGS), path
    if _posixshmem is None:
        raise SegmentUnavailable(
            f"shared-memory segment {name}: this Python cannot open POSIX shared memory "
            "(no _posixshmem module)"
        )
    # macOS, the BSDs: shm_open names are no file-system paths; nothing but a segment can be
    # there, and shm_open does not block.
    return _posixshmem.shm_open("/" + name, os.O_RDONLY, mode=0), "/" + name


def _not_regular_at(name: str, path: str) -> SegmentNotRegular | None:
    """After an open that failed: what is at `path` if it is not a regular file (a symbolic
    link fails with ELOOP under O_NOFOLLOW, a socket with ENXIO). For the message only; the
    segment is refused whatever this finds."""
    if not _LINUX:
        return None
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if _is_regular(st.st_mode):
        return None
    return SegmentNotRegular(name, path, _file_type(st.st_mode), st.st_uid)


def _open_segment(name: str, futex: bool = False) -> Mapping:
    """Checks the segment's type, owner, mode and size, then maps it read-only
    (docs/protocol.md, section 6, step 1).

    The name is opened once: every check and the mapping use that one descriptor, so a name
    replaced in between cannot slip through. The open never blocks (O_NONBLOCK: a FIFO at the
    path would otherwise wait for a writer for ever) and never follows a symbolic link.
    Mapping with `mmap` instead of `multiprocessing.shared_memory.SharedMemory` also keeps
    Python's resource tracker out: it never learns of the segment, so it cannot unlink it
    when this process exits (bpo-39959)."""
    try:
        fd, path = _open_descriptor(name)
    except FileNotFoundError:
        raise SegmentNotFound(name) from None
    except PermissionError:
        raise SegmentUnavailable(
            f"permission denied on shared-memory segment {name} (owned by another user; "
            "run as that user or give the segments to yours)"
        ) from None
    except OSError as error:
        not_regular = _not_regular_at(name, os.path.join(SHM_DIR, name))
        if not_regular is not None:
            raise not_regular from None
        raise SegmentUnavailable(f"shared-memory segment {name}: {error}") from None
    try:
        st = os.fstat(fd)
        if not _is_regular(st.st_mode):
            raise SegmentNotRegular(name, path, _file_type(st.st_mode), st.st_uid)
        check_trusted(name, st)
        if st.st_size == 0:
            raise SegmentUnavailable(f"shared-memory segment {name}: segment is empty (0 bytes)")
        try:
            mapped = mmap.mmap(fd, st.st_size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
        except (OSError, ValueError, OverflowError) as error:
            raise SegmentUnavailable(f"shared-memory segment {name}: {error}") from None
        mapping = Mapping(name, mapped, st.st_size)
        futex_lib = _futex() if futex else None
        if futex_lib is not None:
            # The first page, read-only, from the same descriptor: the wake word's address.
            length = min(st.st_size, mmap.PAGESIZE)
            mapping.futex_address = futex_lib.map_read_only(fd, length)
            mapping._futex_len = length
    finally:
        os.close(fd)  # the mappings keep the memory (and mmap its own duplicate descriptor)
    return mapping


# --- Header parsing (pure functions on private copies of the bytes) -------------------------


def _field(field: str, expected: str, found: int) -> LayoutError:
    return LayoutError(f"field {field}: expected {expected}, found {found}")


def parse_segment_header(data: bytes, kind: int, mapped_len: int) -> dict:
    """Validates the common 64-byte header; `mapped_len` is the segment size the OS reports."""
    if len(data) < SEGMENT_HEADER_LEN or mapped_len < SEGMENT_HEADER_LEN:
        raise LayoutError(
            f"too small: expected at least {SEGMENT_HEADER_LEN} bytes, "
            f"found {min(mapped_len, len(data))}"
        )
    magic = data[0:8]
    if magic != MAGIC:
        raise LayoutError(
            f'bad magic: expected "{MAGIC.decode()}", found {magic.decode("utf-8", "replace")!r}'
        )
    major, minor, found_kind, session_id = struct.unpack_from("<HHIQ", data, 8)
    if major != VERSION_MAJOR:
        raise LayoutError(
            f"unsupported protocol version: expected {VERSION_MAJOR}.x, found {major}.{minor}"
        )
    if found_kind != kind:
        raise LayoutError(f"wrong segment kind: expected {kind}, found {found_kind}")
    if session_id == 0:
        raise _field("session_id", "non-zero", 0)
    data_offset, slot_count, slot_stride, total_len = struct.unpack_from("<IIQQ", data, 24)
    with_control_block = kind in (KIND_METADATA, KIND_DETECTIONS)
    min_data_offset = SLOT_TABLE_OFFSET if with_control_block else SEGMENT_HEADER_LEN
    if data_offset < min_data_offset or data_offset % SLOT_ALIGN:
        raise _field(
            "data_offset", f"a multiple of {SLOT_ALIGN} of at least {min_data_offset}", data_offset
        )
    if not MIN_SLOTS <= slot_count <= MAX_SLOTS:
        raise _field("slot_count", f"{MIN_SLOTS}..={MAX_SLOTS}", slot_count)
    if slot_stride == 0 or slot_stride % SLOT_ALIGN:
        raise _field("slot_stride", f"a non-zero multiple of {SLOT_ALIGN}", slot_stride)
    computed = data_offset + slot_count * slot_stride
    if computed != total_len:
        raise _field("total_len", f"data_offset + slot_count * slot_stride = {computed}", total_len)
    if total_len > mapped_len:
        raise LayoutError(f"too small: expected at least {total_len} bytes, found {mapped_len}")
    return {
        "version_minor": minor,
        "session_id": session_id,
        "data_offset": data_offset,
        "slot_count": slot_count,
        "slot_stride": slot_stride,
        "total_len": total_len,
    }


def status_record_offset(slot_count: int) -> int:
    return SLOT_TABLE_OFFSET + slot_count * SLOT_RECORD_LEN


def parse_control_header(data: bytes, segment: dict) -> dict:
    """Validates the immutable control-block fields (first 256 bytes of the metadata segment)."""
    if len(data) < SLOT_TABLE_OFFSET:
        raise LayoutError(f"too small: expected at least {SLOT_TABLE_OFFSET} bytes, found {len(data)}")

    def u32(offset: int) -> int:
        return struct.unpack_from("<I", data, offset)[0]

    width, height = u32(OFF_WIDTH), u32(OFF_HEIGHT)
    color_format = u32(OFF_COLOR_FORMAT)
    if color_format != COLOR_RGB8:
        raise _field("color_format", "1 (rgb8)", color_format)
    depth_format = u32(OFF_DEPTH_FORMAT)
    if depth_format not in (DEPTH_NONE, DEPTH_Z16):
        raise _field("depth_format", "0 (none) or 1 (z16)", depth_format)
    for field, side in (("width", width), ("height", height)):
        if not 1 <= side <= MAX_DIMENSION_PX:
            raise _field(field, f"1..={MAX_DIMENSION_PX}", side)
    color_stride = u32(OFF_COLOR_STRIDE)
    if color_stride != width * 3:
        raise _field("color_stride", str(width * 3), color_stride)
    expected_depth_stride = width * 2 if depth_format == DEPTH_Z16 else 0
    depth_stride = u32(OFF_DEPTH_STRIDE)
    if depth_stride != expected_depth_stride:
        raise _field("depth_stride", str(expected_depth_stride), depth_stride)
    metadata_capacity, status_capacity = u32(OFF_METADATA_CAPACITY), u32(OFF_STATUS_CAPACITY)
    capacities = (("metadata_capacity", metadata_capacity), ("status_capacity", status_capacity))
    for field, capacity in capacities:
        if not MIN_JSON_CAPACITY <= capacity <= MAX_JSON_CAPACITY:
            raise _field(field, f"{MIN_JSON_CAPACITY}..={MAX_JSON_CAPACITY}", capacity)
    if segment["slot_stride"] < metadata_capacity:
        raise _field(
            "slot_stride", f"at least metadata_capacity = {metadata_capacity}", segment["slot_stride"]
        )
    status_end = status_record_offset(segment["slot_count"]) + STATUS_RECORD_LEN + status_capacity
    if segment["data_offset"] < status_end:
        raise _field(
            "data_offset",
            f"at least {status_end} (after the slot table and status record)",
            segment["data_offset"],
        )
    return {
        "writer_pid": u32(OFF_WRITER_PID),
        "started_wall_ns": struct.unpack_from("<Q", data, OFF_STARTED_WALL)[0],
        "width": width,
        "height": height,
        "color_stride": color_stride,
        "has_depth": depth_format == DEPTH_Z16,
        "depth_stride": depth_stride,
        "metadata_capacity": metadata_capacity,
        "status_capacity": status_capacity,
    }


def parse_detections_header(data: bytes, segment: dict) -> dict:
    """Validates the immutable fields of the detections segment's control block (its first
    256 bytes; docs/protocol.md, section 19)."""
    if len(data) < SLOT_TABLE_OFFSET:
        raise LayoutError(f"too small: expected at least {SLOT_TABLE_OFFSET} bytes, found {len(data)}")
    capacity = struct.unpack_from("<I", data, OFF_RESULT_CAPACITY)[0]
    if not MIN_JSON_CAPACITY <= capacity <= MAX_JSON_CAPACITY:
        raise _field("result_capacity", f"{MIN_JSON_CAPACITY}..={MAX_JSON_CAPACITY}", capacity)
    if segment["slot_stride"] < capacity:
        raise _field("slot_stride", f"at least result_capacity = {capacity}", segment["slot_stride"])
    table_end = SLOT_TABLE_OFFSET + segment["slot_count"] * SLOT_RECORD_LEN
    if segment["data_offset"] < table_end:
        raise _field(
            "data_offset", f"at least {table_end} (after the slot table)", segment["data_offset"]
        )
    return {
        "writer_pid": struct.unpack_from("<I", data, OFF_WRITER_PID)[0],
        "started_wall_ns": struct.unpack_from("<Q", data, OFF_STARTED_WALL)[0],
        "result_capacity": capacity,
    }


# --- Liveness -------------------------------------------------------------------------------


def monotonic_now_ns() -> int:
    """CLOCK_MONOTONIC, the clock of the heartbeat and of every *_mono_ns field."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def process_exists(pid: int) -> bool:
    """kill(pid, 0): ESRCH means gone; EPERM means alive but someone else's (a root daemon)."""
    if pid <= 0 or pid > 0x7FFF_FFFF:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return not is_zombie(pid)
    except OSError:
        return False
    return not is_zombie(pid)


def is_zombie(pid: int) -> bool:
    """Linux: a dead process not yet reaped still has a pid; /proc says it is a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            text = stat.read()
    except OSError:
        return False
    # The state is the first field after the *last* ")": the command name may contain ")".
    end = text.rfind(")")
    fields = text[end + 1 :].split() if end >= 0 else []
    return bool(fields) and fields[0] in ("Z", "X")


class Liveness:
    """One of: live, starting, closed, replaced, process_gone, heartbeat_stale, unknown_state."""

    def __init__(self, kind: str, pid: int, age_ns: int | None = None, state: int | None = None):
        self.kind, self.pid, self.age_ns, self.state = kind, pid, age_ns, state

    @property
    def is_live(self) -> bool:
        return self.kind == "live"

    @staticmethod
    def judge(state: int, pid: int, heartbeat_mono_ns: int, now_mono_ns: int) -> "Liveness":
        if state == STATE_CLOSED:
            return Liveness("closed", pid)
        if state == STATE_REPLACED:
            return Liveness("replaced", pid)
        if state == STATE_INITIALIZING:
            return Liveness("starting" if process_exists(pid) else "process_gone", pid)
        if not process_exists(pid):
            return Liveness("process_gone", pid)
        age_ns = max(0, now_mono_ns - heartbeat_mono_ns)
        if age_ns > HEARTBEAT_TIMEOUT_NS:
            return Liveness("heartbeat_stale", pid, age_ns)
        if state != STATE_LIVE:
            # A value this version does not know (a newer writer, alive): not usable.
            return Liveness("unknown_state", pid, state=state)
        return Liveness("live", pid)

    def __str__(self) -> str:
        return {
            "live": f"writer alive (pid {self.pid})",
            "starting": f"writer starting (pid {self.pid})",
            "closed": f"writer stopped (pid {self.pid} shut down cleanly)",
            "replaced": f"writer (pid {self.pid}) moved to new segments with a new geometry",
            "process_gone": f"writer gone (process {self.pid} no longer exists)",
            "heartbeat_stale": f"writer unresponsive (pid {self.pid}, no heartbeat for "
            f"{(self.age_ns or 0) // 1_000_000} ms)",
            "unknown_state": f"writer (pid {self.pid}) is in state {self.state}, "
            "unknown to this protocol version",
        }[self.kind]


# --- Frames ---------------------------------------------------------------------------------


class Frame:
    """One frame copied out of shared memory; create once and pass to every read.

    The buffers are allocated on the first read (or when the geometry changes) and reused.
    Reads copy straight into them: after a read that returned False or raised, the planes may
    hold a torn mix and must not be used (the header fields still name the last good frame).
    """

    def __init__(self):
        self.width = self.height = 0
        self.has_depth = False
        self.publish_seq = 0
        self.frame_number = 0
        self.capture_wall_ns = 0
        self.capture_mono_ns = 0
        self.publish_mono_ns = 0
        self.rgb = bytearray()
        self.depth = bytearray()
        self._metadata = bytearray()
        self.metadata_len = 0

    def _prepare(self, width: int, height: int, has_depth: bool, metadata_capacity: int):
        self.width, self.height, self.has_depth = width, height, has_depth
        rgb_len, depth_len = width * height * 3, (width * height * 2 if has_depth else 0)
        if len(self.rgb) != rgb_len:
            self.rgb = bytearray(rgb_len)
        if len(self.depth) != depth_len:
            self.depth = bytearray(depth_len)
        if len(self._metadata) < metadata_capacity:
            self._metadata = bytearray(metadata_capacity)

    @property
    def metadata_json(self) -> bytes:
        return bytes(self._metadata[: self.metadata_len])

    def metadata(self) -> dict:
        """The frame's metadata JSON, parsed (see docs/protocol.md, "Frame metadata").
        Raises RecordError (a ValueError) naming the frame metadata if it does not parse."""
        return decode_json(bytes(self._metadata[: self.metadata_len]), FRAME_METADATA)

    def rgb_array(self):
        """The colour plane as a (height, width, 3) uint8 numpy array.

        A view of this frame's buffer, no copy: the next read overwrites it (`.copy()` keeps it).
        """
        if numpy is None:
            raise RuntimeError("numpy is not installed; use Frame.rgb (bytes, RGB8 rows)")
        rgb = numpy.frombuffer(self.rgb, dtype=numpy.uint8)
        return rgb.reshape(self.height, self.width, 3)

    def depth_array(self):
        """The depth plane as a (height, width) uint16 array of depth units (a view, like
        `rgb_array`), or None without depth. Metres = units * metadata()["depth_scale_m"]."""
        if not self.has_depth:
            return None
        if numpy is None:
            raise RuntimeError("numpy is not installed; use Frame.depth (little-endian u16 bytes)")
        return numpy.frombuffer(self.depth, dtype="<u2").reshape(self.height, self.width)


# --- The slot ring (what the frame reader and the detections reader share) ---------------


class _Ring:
    """A client of one control segment with a slot ring (the frame writer's metadata segment,
    or the detections segment): its shared words, liveness, waiting on the wake word (futex or
    polling), and the retry loop of the per-slot seqlock. Subclasses open their segments (`_open`) and
    copy one slot (`_try_read_slot`)."""

    def __init__(self, namespace: str = ""):
        if sys.byteorder != "little":
            raise ProtocolError("the protocol is only defined for little-endian machines")
        self.namespace = namespace
        self.names = segment_names(namespace)
        self._segments: list[Mapping] = []
        self._views: list[memoryview] = []
        self.last_returned = 0
        # Where FUTEX_WAIT can wait on the wake word (None: poll), and how often each way a
        # futex wait ended ("woken": a FUTEX_WAKE reached it; informational).
        self._wake_address: int | None = None
        self.futex_waits = {"woken": 0, "changed": 0, "timeout": 0, "interrupted": 0}
        # Seqlock reads that raced a write and were retried (informational).
        self.retries = 0
        # Since the last slot returned: failed read attempts, and the publish number and
        # slot of the last one (for `stall_reason`).
        self._failed_attempts = 0
        self._failed_publish = self._failed_slot = 0
        # Held except inside `_order`; see there.
        self._order_lock = threading.Lock()
        self._order_lock.acquire()
        try:
            self._open()
        except BaseException:
            self.close()
            raise
        liveness = self.liveness()
        if not liveness.is_live:
            self.close()
            raise NotLive(self._namespace_label(), liveness)

    def _open(self):
        raise NotImplementedError

    def _try_read_slot(self, publish_seq: int, target) -> bool:
        raise NotImplementedError

    def _namespace_label(self) -> str:
        return self.namespace or "(default)"

    def _view(self, segment, start: int, end: int, fmt: str | None = None) -> memoryview:
        view = segment.buf[start:end]
        self._views.append(view)
        if fmt is not None:
            view = view.cast(fmt)
            self._views.append(view)
        return view

    def _open_control(self, name: str, kind: int) -> tuple[Mapping, dict, bytes]:
        """Opens control segment `name` of `kind` and checks its common header and state
        (docs/protocol.md, section 6, steps 1 to 3): the mapping, the header, and the first
        256 bytes copied after the state was seen past INITIALIZING."""
        control = _open_segment(name, futex=USE_FUTEX)
        self._segments.append(control)
        mapped_len = control.size
        head = bytes(control.buf[: min(mapped_len, SLOT_TABLE_OFFSET)])
        try:
            header = parse_segment_header(head, kind, mapped_len)
        except LayoutError as problem:
            raise InvalidSegment(name, problem) from None
        # The header passed: the segment holds at least data_offset >= 256 bytes.
        self._q = self._view(control, 0, header["data_offset"], "Q")
        self._i = self._view(control, 0, header["data_offset"], "I")
        if self._q.itemsize != 8 or self._i.itemsize != 4:
            raise ProtocolError("this Python's native Q/I formats are not 8/4 bytes")
        # Load the state first, then re-read the header: a writer makes the header complete
        # before it stores LIVE.
        state = self._i[OFF_STATE // 4]
        self._order()  # the Acquire of the state load
        head = bytes(control.buf[:SLOT_TABLE_OFFSET])
        if state == STATE_INITIALIZING:
            pid = struct.unpack_from("<I", head, OFF_WRITER_PID)[0]
            raise NotLive(self._namespace_label(), Liveness.judge(state, pid, 0, 0))
        self._control = control
        if control.futex_address is not None and control.size >= OFF_WAKE + 4:
            self._wake_address = control.futex_address + OFF_WAKE
        self.slot_count = header["slot_count"]
        self.session_id = header["session_id"]
        return control, header, head

    def close(self):
        """Unmaps the segments (never unlinks them)."""
        for view in reversed(self._views):
            view.release()
        self._views.clear()
        for segment in self._segments:
            with contextlib.suppress(Exception):
                segment.close()
        self._segments.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # Shared words. Reading them as native 'Q'/'I' items of a memoryview makes CPython do one
    # 8- or 4-byte load (a memcpy of a fixed size); struct's '<Q' would load byte by byte and
    # could combine bytes of two different values.
    def _u64(self, offset: int) -> int:
        return self._q[offset // 8]

    def _u32(self, offset: int) -> int:
        return self._i[offset // 4]

    def _order(self):
        """Stands in for the acquire fences of the read algorithm, which Python lacks.

        Releasing and re-acquiring an uncontended lock executes an atomic store-release and
        an atomic read-modify-write with acquire semantics in CPython's implementations
        (glibc semaphores or pthread mutexes up to 3.12, PyMutex from 3.13). Loads before the
        call then complete before loads after it, also on ARM. This is how CPython happens to
        work, not something the language promises; on x86-64 loads are never reordered with
        each other, so there it costs ~50 ns and changes nothing.
        """
        self._order_lock.release()
        self._order_lock.acquire()

    def published(self) -> int:
        """Publish number of the newest complete slot (frames or results published)."""
        return self._u64(OFF_LATEST)

    def liveness(self) -> Liveness:
        state = self._u32(OFF_STATE)
        heartbeat = self._u64(OFF_HEARTBEAT)
        return Liveness.judge(state, self.writer_pid, heartbeat, monotonic_now_ns())

    def wait_for_publish(self, timeout_s: float) -> bool:
        """Blocks until a slot newer than the last returned one is published (True) or the
        timeout passes (False); raises WriterGone when the writer stops or dies."""
        deadline = time.monotonic() + timeout_s
        next_liveness_check = 0.0
        while True:
            # The wake word is loaded before `latest` is checked, so a publish between the
            # check and the sleep changes the word and ends the sleep.
            observed = self._u32(OFF_WAKE)
            latest = self._u64(OFF_LATEST)
            # A publish whose slot could not be read is not waited for again (section 8).
            unreadable = self._failed_attempts > 0 and latest == self._failed_publish
            if latest > self.last_returned and not unreadable:
                return True
            now = time.monotonic()
            if now >= next_liveness_check:
                self._check_live()
                next_liveness_check = now + LIVENESS_CHECK_INTERVAL_S
            if now >= deadline:
                return False
            self._sleep_while_wake_is(observed, min(deadline, next_liveness_check), POLL_INTERVAL_S)

    @property
    def wait_method(self) -> str:
        """How this reader waits for a publish: "futex" or "poll"."""
        return "poll" if self._wake_address is None else "futex"

    def _sleep_while_wake_is(self, observed: int, until: float, interval: float):
        """Sleeps while the wake word equals `observed`, until the monotonic time `until` at
        the latest: in FUTEX_WAIT on Linux (docs/protocol.md, section 9), else, or once a
        futex call failed, polling the word every `interval` seconds. May return early."""
        futex = _FUTEX
        if self._wake_address is not None and futex is not None:
            how = futex.wait(self._wake_address, observed, until - time.monotonic())
            if how != "failed":
                self.futex_waits[how] += 1
                return
            self._wake_address = None  # poll from now on
        while self._u32(OFF_WAKE) == observed:
            now = time.monotonic()
            if now >= until:
                return
            time.sleep(min(interval, until - now))

    def _check_live(self):
        liveness = self.liveness()
        if not liveness.is_live:
            raise WriterGone(liveness)

    def _read_newer(self, target) -> bool:
        """At most MAX_READ_ATTEMPTS seqlock reads of the newest slot; never waits."""
        for _ in range(MAX_READ_ATTEMPTS):
            latest = self._u64(OFF_LATEST)
            if latest <= self.last_returned:
                return False
            if self._try_read_slot(latest, target):
                self.last_returned = latest
                self._failed_attempts = 0
                return True
            self.retries += 1
            self._failed_attempts += 1
            self._failed_publish, self._failed_slot = latest, (latest - 1) % self.slot_count
        return False

    def stall_reason(self) -> str | None:
        """Why nothing could be read since the last slot returned although the writer
        announced a newer one (None if no read attempt failed since)."""
        if self._failed_attempts == 0 or self._u64(OFF_LATEST) <= self.last_returned:
            return None
        record = SLOT_TABLE_OFFSET + self._failed_slot * SLOT_RECORD_LEN
        held, seq = self._u64(record + SLOT_PUBLISH_SEQ), self._u64(record + SLOT_SEQ)
        return (
            f"the writer announced publish {self._failed_publish} (latest), but "
            f"{self._failed_attempts} read attempts of its slot {self._failed_slot} failed (the "
            f"slot holds publish {held}, sequence {seq}): the writer lapped every copy, or its "
            "latest word is wrong"
        )


# --- The frame reader -----------------------------------------------------------------------


class Reader(_Ring):
    """A client of one namespace's frames. Opens and validates the three segments, reads
    frames with the per-slot seqlock, and waits for new frames by polling the wake word."""

    def _open(self):
        control_name = self.names["metadata"]
        control, metadata, head = self._open_control(control_name, KIND_METADATA)
        try:
            header = parse_control_header(head, metadata)
        except LayoutError as problem:
            raise InvalidSegment(control_name, problem) from None

        def open_plane(name: str, kind: int, plane_len: int):
            segment = _open_segment(name)
            self._segments.append(segment)
            plane_head = bytes(segment.buf[: min(segment.size, SEGMENT_HEADER_LEN)])
            try:
                plane = parse_segment_header(plane_head, kind, segment.size)
            except LayoutError as problem:
                raise InvalidSegment(name, problem) from None
            if plane["session_id"] != metadata["session_id"]:
                raise SessionMismatch(name, metadata["session_id"], plane["session_id"])
            if plane["slot_count"] != metadata["slot_count"]:
                raise InvalidSegment(
                    name,
                    _field(
                        "slot_count",
                        f"{metadata['slot_count']} (the control segment's)",
                        plane["slot_count"],
                    ),
                )
            if plane["slot_stride"] < plane_len:
                raise InvalidSegment(
                    name,
                    _field("slot_stride", f"at least the plane size {plane_len}", plane["slot_stride"]),
                )
            return segment, plane

        width, height = header["width"], header["height"]
        self._rgb_segment, self._rgb_header = open_plane(
            self.names["rgb"], KIND_RGB, width * height * 3
        )
        self._depth_segment = self._depth_header = None
        if header["has_depth"]:
            self._depth_segment, self._depth_header = open_plane(
                self.names["depth"], KIND_DEPTH, width * height * 2
            )
        self._metadata_header = metadata
        self.header = header
        self.writer_pid = header["writer_pid"]

    @property
    def geometry(self) -> dict:
        h = self.header
        depth = "z16" if h["has_depth"] else None
        return {"width": h["width"], "height": h["height"], "color": "rgb8", "depth": depth}

    def frames_published(self) -> int:
        return self.published()

    def read_latest(self, frame: Frame) -> bool:
        """Copies the newest frame into `frame` if it is newer than the last one returned.
        False: nothing newer (writer alive). Raises WriterGone when the writer is gone."""
        if self._read_newer(frame):
            return True
        liveness = self.liveness()
        if not liveness.is_live:
            raise WriterGone(liveness)
        return False

    def wait_next(self, frame: Frame, timeout_s: float) -> bool:
        """Waits for a frame newer than the last returned one and copies it into `frame`.

        When every read attempt fails although `latest` names a newer frame (the writer lapped
        the ring during each copy, or `latest` names a frame that no slot holds), that publish
        is not waited for again: the reader sleeps until the next one, as docs/protocol.md
        section 8 says, so a broken writer costs little CPU until the timeout.
        `stall_reason()` then says what went wrong."""
        deadline = time.monotonic() + timeout_s
        while True:
            if not self.wait_for_publish(max(0.0, deadline - time.monotonic())):
                return False
            if self._read_newer(frame):
                return True

    def _try_read_slot(self, publish_seq: int, frame: Frame) -> bool:
        """One seqlock read of the slot holding `publish_seq`. False: raced, try again."""
        slot = (publish_seq - 1) % self.slot_count
        record = SLOT_TABLE_OFFSET + slot * SLOT_RECORD_LEN
        before = self._u64(record + SLOT_SEQ)
        if before & 1:
            return False  # being written
        self._order()  # the Acquire of the sequence load: nothing below is read before it
        if self._u64(record + SLOT_PUBLISH_SEQ) != publish_seq:
            return False  # the writer lapped the ring past this frame
        frame_number = self._u64(record + SLOT_FRAME_NUMBER)
        capture_wall_ns = self._u64(record + SLOT_CAPTURE_WALL)
        capture_mono_ns = self._u64(record + SLOT_CAPTURE_MONO)
        publish_mono_ns = self._u64(record + SLOT_PUBLISH_MONO)
        metadata_len = self._u32(record + SLOT_METADATA_LEN)
        h = self.header
        capacity = h["metadata_capacity"]
        frame._prepare(h["width"], h["height"], h["has_depth"], capacity)

        # The ranges come from headers validated against the mapped sizes at open.
        offset = self._rgb_header["data_offset"] + slot * self._rgb_header["slot_stride"]
        frame.rgb[:] = self._rgb_segment.buf[offset : offset + len(frame.rgb)]
        if self._depth_segment is not None:
            offset = self._depth_header["data_offset"] + slot * self._depth_header["slot_stride"]
            frame.depth[:] = self._depth_segment.buf[offset : offset + len(frame.depth)]
        copied = min(metadata_len, capacity)
        offset = self._metadata_header["data_offset"] + slot * self._metadata_header["slot_stride"]
        frame._metadata[:copied] = self._control.buf[offset : offset + copied]

        # The Acquire fence: every byte above is read before the sequence is read again.
        # See docs/protocol.md, "Readers without fences".
        self._order()
        if self._u64(record + SLOT_SEQ) != before:
            return False
        if metadata_len > capacity:
            raise Corrupt(
                self.names["metadata"],
                f"slot {slot} metadata length {metadata_len} exceeds its capacity {capacity}",
            )
        frame.publish_seq = publish_seq
        frame.frame_number = frame_number
        frame.capture_wall_ns = capture_wall_ns
        frame.capture_mono_ns = capture_mono_ns
        frame.publish_mono_ns = publish_mono_ns
        frame.metadata_len = metadata_len
        return True

    def writer_status(self) -> dict | None:
        """The writer-status record, None if the writer never wrote one (or rewrote it during
        every attempt). Raises Corrupt or RecordError (naming the writer status) when it is
        not a valid status (docs/protocol.md, "Writer status")."""
        capacity = self.header["status_capacity"]
        record = status_record_offset(self.slot_count)
        for _ in range(MAX_READ_ATTEMPTS):
            before = self._u64(record + STATUS_SEQ)
            if before == 0:
                return None
            if before & 1:
                time.sleep(0)
                continue
            self._order()
            length = self._u32(record + STATUS_LEN)
            start = record + STATUS_RECORD_LEN
            data = bytes(self._control.buf[start : start + min(length, capacity)])
            self._order()
            if self._u64(record + STATUS_SEQ) != before:
                continue
            if length > capacity:
                raise Corrupt(
                    self.names["metadata"],
                    f"writer status length {length} exceeds its capacity {capacity}",
                )
            record_name = writer_status_record(self.names["metadata"])
            status = decode_json(data, record_name)
            problem = status_problem(status)
            if problem is not None:
                raise RecordError(record_name, problem)
            return status
        return None


# --- The detections reader ------------------------------------------------------------------


class _SlotCopy:
    """What one seqlock read of a detections slot copied (valid only if it succeeded)."""

    def __init__(self):
        self.publish_seq = self.publish_mono_ns = self.frame_number = 0
        self.capture_wall_ns = self.capture_mono_ns = self.frame_session_id = 0
        self.length = 0
        self.data = b""


class DetectionsReader(_Ring):
    """A client of one namespace's detections segment (docs/protocol.md, section 19): one
    detection result JSON per slot, read with the same seqlock, liveness and waiting as
    frames. Results are returned as dicts:

        {"publish_seq": 7, "publish_mono_ns": ..., "source_frame": {"session_id": ...,
         "capture_wall_ns": ..., "capture_mono_ns": ...}, "result": {...DetectionResult...}}
    """

    def __init__(self, namespace: str = ""):
        self._latest: dict | None = None
        super().__init__(namespace)

    def _open(self):
        name = self.names["detections"]
        _control, segment, head = self._open_control(name, KIND_DETECTIONS)
        try:
            header = parse_detections_header(head, segment)
        except LayoutError as problem:
            raise InvalidSegment(name, problem) from None
        self._segment_header = segment
        self.header = header
        self.writer_pid = header["writer_pid"]
        self.result_capacity = header["result_capacity"]

    def results_published(self) -> int:
        return self.published()

    def read_latest(self) -> dict | None:
        """The newest complete result: one published since the last call if there is one,
        else the one returned last (compare `publish_seq`); None before the first. Raises
        WriterGone when the writer is gone, RecordError or Corrupt (once) for a result that is
        not valid."""
        newer = self._read_result()
        if newer is not None:
            return newer
        self._check_live()
        return self._latest

    def wait_next(self, timeout_s: float) -> dict | None:
        """Waits for a result newer than the last returned one (None on timeout)."""
        deadline = time.monotonic() + timeout_s
        while True:
            if not self.wait_for_publish(max(0.0, deadline - time.monotonic())):
                return None
            result = self._read_result()
            if result is not None:
                return result

    def _read_result(self) -> dict | None:
        """Reads the newest result if newer than the last returned one. The reader moves past
        it before checking it, so a broken result is reported once (as the Rust reader)."""
        copy = _SlotCopy()
        if not self._read_newer(copy):
            return None
        name = self.names["detections"]
        slot = (copy.publish_seq - 1) % self.slot_count
        if copy.length > self.result_capacity:
            raise Corrupt(
                name,
                f"slot {slot} result length {copy.length} exceeds its capacity "
                f"{self.result_capacity}",
            )
        record = detection_result_record(name)
        result = decode_json(copy.data, record)
        problem = detection_result_problem(result)
        if problem is not None:
            raise RecordError(record, problem)
        if result["frame_number"] != copy.frame_number:
            raise Corrupt(
                name,
                f"slot {slot} names frame {copy.frame_number} but its result frame "
                f"{result['frame_number']}",
            )
        published = {
            "publish_seq": copy.publish_seq,
            "publish_mono_ns": copy.publish_mono_ns,
            "source_frame": {
                "session_id": copy.frame_session_id,
                "capture_wall_ns": copy.capture_wall_ns,
                "capture_mono_ns": copy.capture_mono_ns,
            },
            "result": result,
        }
        self._latest = published
        return published

    def _try_read_slot(self, publish_seq: int, copy: _SlotCopy) -> bool:
        """One seqlock read of the slot holding `publish_seq`. False: raced, try again."""
        slot = (publish_seq - 1) % self.slot_count
        record = SLOT_TABLE_OFFSET + slot * SLOT_RECORD_LEN
        before = self._u64(record + SLOT_SEQ)
        if before & 1:
            return False  # being written
        self._order()  # the Acquire of the sequence load: nothing below is read before it
        if self._u64(record + SLOT_PUBLISH_SEQ) != publish_seq:
            return False  # the writer lapped the ring past this result
        frame_number = self._u64(record + SLOT_FRAME_NUMBER)
        capture_wall_ns = self._u64(record + SLOT_CAPTURE_WALL)
        capture_mono_ns = self._u64(record + SLOT_CAPTURE_MONO)
        publish_mono_ns = self._u64(record + SLOT_PUBLISH_MONO)
        length = self._u32(record + SLOT_METADATA_LEN)
        frame_session_id = self._u64(record + SLOT_FRAME_SESSION)
        # The range comes from the header validated against the mapped size at open.
        h = self._segment_header
        offset = h["data_offset"] + slot * h["slot_stride"]
        data = bytes(self._control.buf[offset : offset + min(length, self.result_capacity)])
        self._order()  # the Acquire fence before the sequence is read again
        if self._u64(record + SLOT_SEQ) != before:
            return False
        copy.publish_seq, copy.publish_mono_ns = publish_seq, publish_mono_ns
        copy.frame_number, copy.frame_session_id = frame_number, frame_session_id
        copy.capture_wall_ns, copy.capture_mono_ns = capture_wall_ns, capture_mono_ns
        copy.length, copy.data = length, data
        return True


def open_detections_waiting(namespace: str, timeout_s: float) -> DetectionsReader:
    """Opens the namespace's detections segment, retrying for up to `timeout_s` seconds while
    it is missing (detection not on yet) or its writer is starting."""
    return _open_waiting(DetectionsReader, namespace, timeout_s)


def _open_waiting(kind, namespace: str, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return kind(namespace)
        except ProtocolError as error:
            if not getattr(error, "may_appear_soon", False) or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)


def open_waiting(namespace: str, timeout_s: float) -> Reader:
    """Opens the namespace, retrying for up to `timeout_s` seconds while a writer may appear
    soon: segments missing, writer starting, or writer moving to new segments (replaced,
    session mismatch). Other errors are raised at once."""
    return _open_waiting(Reader, namespace, timeout_s)


# --- Metadata schema ------------------------------------------------------------------------

# The values this version knows; any other string reads as "other" (docs/protocol.md, 10).
SOURCE_KINDS = ("realsense", "webcam", "synthetic", "other")
DISTORTION_MODELS = ("none", "brown_conrady", "modified_brown_conrady", "inverse_brown_conrady", "other")


def _is_uint(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= M64


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def metadata_problem(metadata) -> str | None:
    """What is wrong with a parsed frame-metadata object, None if it has the 1.x schema.
    Unknown fields are allowed (a later minor version may add them)."""
    if not isinstance(metadata, dict):
        return "not a JSON object"
    checks = {
        "frame_number": _is_uint,
        "capture_wall_ns": _is_uint,
        "capture_mono_ns": _is_uint,
        "fps": _is_number,
        # Any string: a kind this reader does not know reads as "other" (docs/protocol.md,
        # section 10), as a newer writer may add kinds.
        "source_kind": lambda v: isinstance(v, str),
        "source_description": lambda v: isinstance(v, str),
        "depth_aligned_to_color": lambda v: isinstance(v, bool),
    }
    for field, ok in checks.items():
        if field not in metadata:
            return f"missing field {field}"
        if not ok(metadata[field]):
            return _invalid(field, metadata[field])
    scale = metadata.get("depth_scale_m")
    if scale is not None and not _is_number(scale):
        return _invalid("depth_scale_m", scale)
    intrinsics = metadata.get("intrinsics")
    if intrinsics is not None:
        if not isinstance(intrinsics, dict):
            return "field intrinsics is not an object"
        for field in ("width", "height"):
            if not (_is_uint(intrinsics.get(field)) and intrinsics[field] <= 0xFFFF_FFFF):
                return _invalid(f"intrinsics.{field}", intrinsics.get(field))
        for field in ("fx", "fy", "ppx", "ppy"):
            if not _is_number(intrinsics.get(field)):
                return _invalid(f"intrinsics.{field}", intrinsics.get(field))
        # Any string: an unknown model reads as "other" (not interpreted).
        if not isinstance(intrinsics.get("model"), str):
            return _invalid("intrinsics.model", intrinsics.get("model"))
        coeffs = intrinsics.get("coeffs")
        if not (isinstance(coeffs, list) and len(coeffs) == 5 and all(map(_is_number, coeffs))):
            return _invalid("intrinsics.coeffs", coeffs)
    # Since 1.2, optional (omitted when empty): the scene's objects where the source knows them.
    ground_truth = metadata.get("ground_truth", [])
    if not isinstance(ground_truth, list):
        return _invalid("ground_truth", ground_truth)
    for index, item in enumerate(ground_truth):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            return _invalid(f"ground_truth[{index}]", item)
        for field in ("center_m", "size_m"):
            if not _is_numbers(item.get(field), 3):
                return _invalid(f"ground_truth[{index}].{field}", item.get(field))
    return None


STATUS_STATES = ("starting", "streaming", "paused", "error")


def status_problem(status) -> str | None:
    """What is wrong with a parsed writer status, None if it has the 1.x schema
    (docs/protocol.md, "Writer status"; `extra` may be anything, unknown fields are allowed)."""
    if not isinstance(status, dict):
        return "not a JSON object"
    checks = {
        "state": lambda v: isinstance(v, str) and v in STATUS_STATES,
        "source_kind": lambda v: isinstance(v, str),  # unknown kinds read as "other"
        "source_description": lambda v: isinstance(v, str),
        "updated_wall_ns": _is_uint,
    }
    for field, ok in checks.items():
        if field not in status:
            return f"missing field {field}"
        if not ok(status[field]):
            return _invalid(field, status[field])
    message = status.get("message")
    if message is not None and not isinstance(message, str):
        return _invalid("message", message)
    return None


def _is_numbers(value, count: int) -> bool:
    return isinstance(value, list) and len(value) == count and all(map(_is_number, value))


def _detection_problem(detection) -> str | None:
    if not isinstance(detection, dict):
        return "not a JSON object"
    checks = {
        "class_id": lambda v: _is_uint(v) and v <= 0xFFFF_FFFF,
        "label": lambda v: isinstance(v, str),
        "score": _is_number,
        "box_px": lambda v: _is_numbers(v, 4),
    }
    for field, ok in checks.items():
        if field not in detection:
            return f"missing field {field}"
        if not ok(detection[field]):
            return _invalid(field, detection[field])
    missing = detection.get("position_missing")
    if missing is not None and not isinstance(missing, str):
        return _invalid("position_missing", missing)
    position = detection.get("position")
    if position is None:
        return None
    if not isinstance(position, dict):
        return "field position is not an object"
    for field, ok in (
        ("depth_m", _is_number),
        ("point_m", lambda v: _is_numbers(v, 3)),
        ("distance_m", _is_number),
    ):
        if not ok(position.get(field)):
            return _invalid(f"position.{field}", position.get(field))
    extent = position.get("extent_m")
    if extent is not None and not (
        isinstance(extent, list) and len(extent) == 2 and all(_is_numbers(c, 3) for c in extent)
    ):
        return _invalid("position.extent_m", extent)
    return None


def detection_result_problem(result) -> str | None:
    """What is wrong with a parsed detection result, None if it has the schema of
    docs/protocol.md, section 19 (unknown fields are allowed)."""
    if not isinstance(result, dict):
        return "not a JSON object"
    checks = {
        "frame_number": _is_uint,
        "frame_publish_mono_ns": _is_uint,
        "detector": lambda v: isinstance(v, dict),
        "score_threshold": _is_number,
        "inference_ms": _is_number,
        "detections": lambda v: isinstance(v, list),
    }
    for field, ok in checks.items():
        if field not in result:
            return f"missing field {field}"
        if not ok(result[field]):
            return _invalid(field, result[field])
    detector = result["detector"]
    if not isinstance(detector.get("format"), str):
        return _invalid("detector.format", detector.get("format"))
    model = detector.get("model")
    if model is not None and not isinstance(model, str):
        return _invalid("detector.model", model)
    for index, detection in enumerate(result["detections"]):
        problem = _detection_problem(detection)
        if problem is not None:
            return f"detections[{index}]: {problem}"
    return None


def _invalid(field: str, value) -> str:
    return f"field {field} has an invalid value {_short_repr(value)}"


def _short_repr(value) -> str:
    """repr() of a value from shared memory, at most 80 characters; arrays and objects only by
    their type (they may be huge, or nested too deeply for repr)."""
    if isinstance(value, (list, dict)):
        return "(a JSON array)" if isinstance(value, list) else "(a JSON object)"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --- The self-verifying test pattern (shmproto/src/test_pattern.rs) -------------------------

GOLDEN = 0x9E37_79B9_7F4A_7C15


def splitmix64(x: int) -> int:
    x = (x + GOLDEN) & M64
    x = ((x ^ (x >> 30)) * 0xBF58_476D_1CE4_E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D0_49BB_1331_11EB) & M64
    return x ^ (x >> 31)


def plane_seeds(frame_number: int) -> tuple[int, int]:
    """(colour seed, depth seed) of a frame."""
    return splitmix64(frame_number), splitmix64(~frame_number & M64)


_index_products: dict[int, int] = {}


def _index_product_bytes(length: int) -> int:
    """`length` bytes of the words (index * GOLDEN) mod 2^64, little-endian, as an integer.

    A plane is these words XOR its seed word, so one cached sequence per plane size makes
    verification a big-integer XOR instead of a Python loop per word."""
    cached = _index_products.get(length)
    if cached is None:
        words = array("Q", ((i * GOLDEN) & M64 for i in range(length // 8 + 1)))
        if sys.byteorder != "little":
            words.byteswap()
        cached = int.from_bytes(words.tobytes()[:length], "little")
        _index_products[length] = cached
    return cached


def pattern_matches(plane, seed: int) -> bool:
    """Whether `plane` is the pattern of `seed`: word i is (seed ^ (i * GOLDEN)) as 8 bytes
    little-endian, the last word truncated to the plane's length."""
    length = len(plane)
    seeds = (seed.to_bytes(8, "little") * (length // 8 + 1))[:length]
    found = int.from_bytes(plane, "little") ^ int.from_bytes(seeds, "little")
    return found == _index_product_bytes(length)


def verify_pattern_of(frame: Frame) -> str | None:
    """Why `frame` is not the test pattern of its frame number, None if it is."""
    n = frame.frame_number
    rgb_seed, depth_seed = plane_seeds(n)
    if not pattern_matches(frame.rgb, rgb_seed):
        return f"colour plane does not belong to frame {n}"
    if frame.has_depth and not pattern_matches(frame.depth, depth_seed):
        return f"depth plane does not belong to frame {n}"
    try:
        metadata = frame.metadata()
    except ValueError as error:
        return f"metadata does not belong to frame {n}: {error}"
    problem = metadata_problem(metadata)
    if problem is None and metadata["frame_number"] != n:
        problem = f"frame_number {metadata['frame_number']}"
    elif problem is None and metadata["source_description"] != f"test pattern frame {n}":
        problem = f"description {_short_repr(metadata['source_description'])}"
    elif problem is None and metadata["capture_mono_ns"] != frame.capture_mono_ns:
        problem = "capture time differs from the slot's"
    return None if problem is None else f"metadata does not belong to frame {n}: {problem}"


# --- The synthetic source's frame stamp (docs/protocol.md, Appendix C) --------------------

STAMP_MIN_WIDTH_PX = 160  # 80 colour stamp bits, 2 pixels each
STAMP_MIN_CONTRAST = 255  # brightness (sum of channels) difference of a readable bit
_COLOR_STAMP_BITS = 80
_COLOR_STAMP_LEN = _COLOR_STAMP_BITS * 2 * 3
_DEPTH_STAMP_LEN = 5 * 2


def stamp_checksum(frame_number: int) -> int:
    """The stamp's 16-bit checksum: the top 16 bits of a SplitMix64-like finaliser whose
    second multiplier is 0xBF58_4765_1CE4_E5B9 (not SplitMix64's 0xBF58_476D_1CE4_E5B9)."""
    z = (frame_number + GOLDEN) & M64
    z = ((z ^ (z >> 30)) * 0xBF58_4765_1CE4_E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB) & M64
    z ^= z >> 31
    return z >> 48


def read_color_stamp(stamp) -> int | None:
    """The frame number in one 480-byte colour stamp, None if a bit is unreadable or the
    checksum does not match."""
    bits = 0
    for i in range(0, _COLOR_STAMP_LEN, 6):
        first = stamp[i] + stamp[i + 1] + stamp[i + 2]
        second = stamp[i + 3] + stamp[i + 4] + stamp[i + 5]
        if first >= second + STAMP_MIN_CONTRAST:
            bits = (bits << 1) | 1
        elif second >= first + STAMP_MIN_CONTRAST:
            bits <<= 1
        else:
            return None
    frame_number, checksum = bits >> 16, bits & 0xFFFF
    return frame_number if checksum == stamp_checksum(frame_number) else None


def read_depth_stamp(stamp) -> int | None:
    """The frame number in one 10-byte depth stamp, None if the checksum does not match."""
    words = struct.unpack("<5H", bytes(stamp))
    frame_number = words[0] | words[1] << 16 | words[2] << 32 | words[3] << 48
    return frame_number if words[4] == stamp_checksum(frame_number) else None


def verify_synthetic_of(frame: Frame) -> str | None:
    """Why `frame` is not a whole synthetic frame (camera_sources::synthetic::verify_frame):
    all four stamps (both ends of the colour plane and, with depth, of the depth plane) must
    carry the slot's frame number; None if they do. Frames of other sources are not checked
    (their metadata is); a synthetic frame's metadata must be valid and name the slot's frame
    number."""
    n = frame.frame_number
    try:
        metadata = frame.metadata()
    except RecordError as error:
        return f"frame {n}: {error}"
    problem = metadata_problem(metadata)
    if problem is not None:
        return f"frame {n}: {RecordError(FRAME_METADATA, problem)}"
    if metadata["frame_number"] != n:
        return f"frame {n}: the metadata names frame {metadata['frame_number']}"
    if metadata["source_kind"] != "synthetic":
        return None
    if frame.width < STAMP_MIN_WIDTH_PX or frame.height < 2:
        return (
            f"a {frame.width}x{frame.height} frame cannot carry the frame stamp: it needs at "
            f"least {STAMP_MIN_WIDTH_PX}x2 pixels"
        )
    rgb, depth = memoryview(frame.rgb), memoryview(frame.depth)
    stamps = [
        ("colour", "first", read_color_stamp(rgb[:_COLOR_STAMP_LEN])),
        ("colour", "last", read_color_stamp(rgb[len(rgb) - _COLOR_STAMP_LEN :])),
    ]
    if frame.has_depth:
        stamps += [
            ("depth", "first", read_depth_stamp(depth[:_DEPTH_STAMP_LEN])),
            ("depth", "last", read_depth_stamp(depth[len(depth) - _DEPTH_STAMP_LEN :])),
        ]
    for plane, row, found in stamps:
        if found is None:
            return f"frame {n}: the {row} row of the {plane} plane carries no readable frame stamp"
        if found != n:
            return f"frame {n}: the {row} row of the {plane} plane is stamped frame {found}"
    return None


def detection_pattern(frame_number: int) -> dict:
    """The self-verifying detection result of a frame number (test_pattern::detection_result,
    docs/protocol.md, Appendix A), as its JSON parses."""
    n = frame_number
    detections = []
    for i in range(1 + n % 5):
        depth_m = (i + 1) * 0.5
        top = float(n % 1000)
        detection = {
            "class_id": i,
            "label": f"pattern {n} #{i} " + "x" * (((n * 7 + i) & M64) % 50),
            "score": ((n + i) % 64) / 64.0,
            "box_px": [float(i * 10), top, float(i * 10 + 5), top + 5.0],
        }
        if i % 2 == 0:
            detection["position"] = {
                "depth_m": depth_m,
                "point_m": [0.0, 0.0, depth_m],
                "distance_m": depth_m,
            }
        else:
            detection["position_missing"] = "no valid depth in the box"
        detections.append(detection)
    return {
        "frame_number": n,
        "frame_publish_mono_ns": (n * 1000) & M64,
        "detector": {"format": "pattern", "model": f"pattern-{n % 3}.onnx"},
        "score_threshold": 0.25,
        "inference_ms": (n % 16) * 0.5,
        "detections": detections,
    }


# --- Command line ---------------------------------------------------------------------------


def _check_frame(frame: Frame, verify_pattern: bool, verify_synthetic: bool = False) -> str | None:
    if verify_pattern:
        return verify_pattern_of(frame)
    if verify_synthetic:
        return verify_synthetic_of(frame)
    try:
        problem = metadata_problem(frame.metadata())
    except RecordError as error:
        return f"frame {frame.frame_number}: {error}"
    if problem is None:
        return None
    return f"frame {frame.frame_number}: {RecordError(FRAME_METADATA, problem)}"


def _main_detections(args, namespace: str) -> int:
    """`--detections`: reads results as `main` reads frames, with the same exit statuses."""
    summary = {"namespace": namespace, "segment": "detections", "results": 0, "failures": 0}
    started = time.monotonic()
    try:
        reader = open_detections_waiting(namespace, args.wait)
    except ProtocolError as error:
        summary["error"] = str(error)
        print(json.dumps(summary))
        print(f"aaa_shm_reader: {error}", file=sys.stderr)
        return 2
    summary.update(
        writer_pid=reader.writer_pid,
        session_id=f"{reader.session_id:#x}",
        slot_count=reader.slot_count,
        result_capacity=reader.result_capacity,
    )
    publish_seqs: list[int] = []
    frame_numbers: list[int] = []
    first_failure = error = None
    unusable = False
    try:
        while len(publish_seqs) < args.frames:
            published = reader.wait_next(args.timeout)
            if published is None:
                stall = reader.stall_reason()
                error = f"no new result within {args.timeout} s" + (
                    "" if stall is None else f": {stall}"
                )
                break
            print(json.dumps(published))
            publish_seqs.append(published["publish_seq"])
            result = published["result"]
            frame_numbers.append(result["frame_number"])
            if args.verify_pattern and result != detection_pattern(result["frame_number"]):
                summary["failures"] += 1
                first_failure = first_failure or (
                    f"detection result does not belong to frame {result['frame_number']}"
                )
    except WriterGone as gone:
        error = str(gone)
    except ProtocolError as exc:  # a corrupt slot, a result that is not valid
        error, unusable = str(exc), True
    finally:
        summary["retries"] = reader.retries
        reader.close()
    increasing = all(a < b for a, b in zip(publish_seqs, publish_seqs[1:]))
    summary.update(
        results=len(publish_seqs),
        publish_seqs=publish_seqs,
        frame_numbers=frame_numbers,
        strictly_increasing=increasing,
        first_failure=first_failure,
        verified=args.verify_pattern,
        seconds=round(time.monotonic() - started, 3),
    )
    if error is not None:
        summary["error"] = error
        print(f"aaa_shm_reader: {error}", file=sys.stderr)
    print(json.dumps(summary))
    if unusable:
        return 2
    failed = summary["failures"] > 0 or not increasing or len(publish_seqs) < args.frames
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Read frames of the aaa camera shared-memory protocol.")
    parser.add_argument("--namespace", help=f"segment namespace (default: ${NAMESPACE_ENV}, else none)")
    parser.add_argument("--frames", type=int, default=1, help="frames to read (default 1)")
    parser.add_argument(
        "--verify-pattern", action="store_true", help="check the self-verifying test pattern"
    )
    parser.add_argument(
        "--verify-synthetic",
        action="store_true",
        help="check the frame stamps of the daemon's synthetic source (docs/protocol.md, "
        "Appendix C); frames of other sources are only checked for valid metadata",
    )
    parser.add_argument(
        "--poll",
        action="store_true",
        help="wait by polling the wake word even where the futex could be used",
    )
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="seconds to wait for each frame (default 5)"
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=2.0,
        help="seconds to wait for a writer that is missing, starting or replacing its segments "
        "(default 2)",
    )
    parser.add_argument(
        "--detections",
        action="store_true",
        help="read detection results from the detections segment instead of frames: print each "
        "as one JSON line, then the summary (--frames counts results, --verify-pattern checks "
        "test_pattern::detection_result)",
    )
    args = parser.parse_args(argv)
    global USE_FUTEX
    USE_FUTEX = not args.poll
    namespace = args.namespace if args.namespace is not None else os.environ.get(NAMESPACE_ENV, "")
    if args.detections:
        return _main_detections(args, namespace)

    summary = {"namespace": namespace, "frames": 0, "failures": 0}
    started = time.monotonic()
    try:
        reader = open_waiting(namespace, args.wait)
    except ProtocolError as error:
        summary["error"] = str(error)
        print(json.dumps(summary))
        print(f"aaa_shm_reader: {error}", file=sys.stderr)
        return 2

    frame = Frame()
    frame_numbers: list[int] = []
    first_failure = None
    errors: list[str] = []
    # Exit status 2 also when the segments turn out unusable while reading: a corrupt slot or
    # status record, an invalid writer status, segments that cannot be opened again after
    # the writer moved to new ones. A writer gone or a timeout is status 1 (too few frames).
    unusable = False
    retries = reopened = 0
    try:
        while True:
            summary.update(
                writer_pid=reader.writer_pid,
                session_id=f"{reader.session_id:#x}",
                geometry=reader.geometry,
                slot_count=reader.slot_count,
            )
            try:
                while len(frame_numbers) < args.frames:
                    if not reader.wait_next(frame, args.timeout):
                        stall = reader.stall_reason()
                        errors.append(
                            f"no new frame within {args.timeout} s"
                            + ("" if stall is None else f": {stall}")
                        )
                        break
                    frame_numbers.append(frame.frame_number)
                    problem = _check_frame(frame, args.verify_pattern, args.verify_synthetic)
                    if problem is not None:
                        summary["failures"] += 1
                        first_failure = first_failure or problem
                status = reader.writer_status()
                summary["writer_status"] = status and status["state"]
                break
            except WriterGone as gone:
                if gone.liveness.kind != "replaced":
                    raise
                # The writer moved to new segments (new geometry): follow it.
                retries += reader.retries
                reader.retries = 0
                reader.close()
                reader = open_waiting(namespace, args.wait)
                reopened += 1
    except WriterGone as gone:
        errors.append(str(gone))
    except ProtocolError as exc:
        errors.append(str(exc))
        unusable = True
    finally:
        retries += reader.retries
        reader.close()
    summary.update(retries=retries, reopened=reopened, wait=reader.wait_method)
    summary["futex_waits"] = reader.futex_waits
    increasing = all(a < b for a, b in zip(frame_numbers, frame_numbers[1:]))
    summary.update(
        frames=len(frame_numbers),
        frame_numbers=frame_numbers,
        strictly_increasing=increasing,
        first_failure=first_failure,
        verified=args.verify_pattern,
        verified_synthetic=args.verify_synthetic,
        seconds=round(time.monotonic() - started, 3),
    )
    error = "; ".join(errors) or None
    if error is not None:
        summary["error"] = error
    print(json.dumps(summary))
    if error is not None:
        print(f"aaa_shm_reader: {error}", file=sys.stderr)
    if unusable:
        return 2
    failed = summary["failures"] > 0 or not increasing or len(frame_numbers) < args.frames
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
