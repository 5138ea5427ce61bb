"""Frames from the aaa camera daemon, read from shared memory by the Rust reader (shmproto).

    import aaa_camera
    cam = aaa_camera.Camera()            # namespace=None, runtime_dir=None: the daemon's defaults
    frame = cam.wait_next(timeout=1.0)   # None on timeout; the GIL is released while waiting
    frame.rgb                            # H x W x 3 uint8
    frame.depth                          # H x W uint16 (depth units), or None
    frame.depth_m()                      # H x W float32 metres, NaN: no measurement
    frame.deproject(u, v)                # (x, y, z) metres, or None
    for frame in cam: ...                # every new frame
    with cam.wait_next_in_place() as f:  # no copy: read-only arrays over the daemon's memory,
        f.rgb.mean()                     # checked when the block ends (FrameOverwritten)

Errors: AaaCameraError, and its subclasses DaemonNotRunning, DaemonGone, ProtocolError,
ControlError, FrameOverwritten, each with the Rust side's message.
"""

from ._native import (
    AaaCameraError,
    Camera,
    ControlError,
    DaemonGone,
    DaemonNotRunning,
    Frame,
    FrameOverwritten,
    InPlaceFrame,
    ProtocolError,
    monotonic_ns,
)

__all__ = [
    "AaaCameraError",
    "Camera",
    "ControlError",
    "DaemonGone",
    "DaemonNotRunning",
    "Frame",
    "FrameOverwritten",
    "InPlaceFrame",
    "ProtocolError",
    "monotonic_ns",
]
