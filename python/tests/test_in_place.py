"""In-place frames (`Camera.wait_next_in_place`) against the real daemon binary: read-only arrays
over the daemon's memory, checked when their `with` block ends."""

import gc

import numpy as np
import pytest

import aaa_camera
from conftest import WITHIN_S

# The daemon's ring holds this many frames (protocol.md, WriterConfig's default slot_count):
# a frame held longer than that many publishes is overwritten.
SLOT_COUNT = 4


def held_and_copied(cam, attempts=50):
    """A frame held in place and its checked copy, taken inside one block. A block that the
    daemon overwrote (a stalled test process on a loaded machine) is tried again."""
    for _ in range(attempts):
        try:
            with cam.wait_next_in_place(timeout=WITHIN_S) as frame:
                copy = frame.copy()
                rgb, depth = np.array(frame.rgb), np.array(frame.depth)
                metadata = frame.metadata
                number = frame.frame_number
            return copy, rgb, depth, metadata, number
        except aaa_camera.FrameOverwritten:
            continue
    raise AssertionError(f"every one of {attempts} in-place reads was overwritten")


def test_in_place_arrays_show_the_verified_frame(daemon):
    daemon.start()
    cam = daemon.camera()
    copy, rgb, depth, metadata, number = held_and_copied(cam)
    copy.verify_synthetic()
    assert copy.frame_number == number == metadata["frame_number"]
    assert rgb.shape == (480, 640, 3) and rgb.dtype == np.uint8
    assert depth.shape == (480, 640) and depth.dtype == np.uint16
    assert np.array_equal(rgb, copy.rgb)
    assert np.array_equal(depth, copy.depth)
    # Returned once: the next frame is a newer one, in place or copied.
    assert cam.wait_next(timeout=WITHIN_S).frame_number > number


def test_in_place_arrays_are_read_only_views_of_the_frame(daemon):
    daemon.start()
    cam = daemon.camera()
    with cam.wait_next_in_place(timeout=WITHIN_S) as frame:
        rgb = frame.rgb
        assert not rgb.flags.writeable
        assert not rgb.flags.owndata
        assert rgb.base is frame
        with pytest.raises(ValueError):
            rgb[0, 0, 0] = 1
        assert frame.depth.base is frame
        assert (frame.width, frame.height) == (640, 480)
        assert frame.publish_mono_ns <= aaa_camera.monotonic_ns()
    assert "closed" in repr(frame)


def test_an_overwritten_frame_raises_when_its_block_ends(daemon):
    daemon.start()
    cam = daemon.camera()
    watcher = daemon.camera()
    with pytest.raises(aaa_camera.FrameOverwritten) as raised:
        with cam.wait_next_in_place(timeout=WITHIN_S) as frame:
            held = frame.frame_number
            # Another reader sees the daemon go round the whole ring meanwhile.
            while watcher.wait_next(timeout=WITHIN_S).frame_number <= held + SLOT_COUNT:
                pass
            with pytest.raises(aaa_camera.FrameOverwritten):
                frame.check()
            with pytest.raises(aaa_camera.FrameOverwritten):
                frame.copy()
    assert "overwritten" in str(raised.value)
    assert isinstance(raised.value, aaa_camera.AaaCameraError)


def test_the_blocks_own_exception_is_not_replaced(daemon):
    daemon.start()
    cam = daemon.camera()
    watcher = daemon.camera()
    with pytest.raises(KeyError):
        with cam.wait_next_in_place(timeout=WITHIN_S) as frame:
            held = frame.frame_number
            while watcher.wait_next(timeout=WITHIN_S).frame_number <= held + SLOT_COUNT:
                pass
            raise KeyError("the block's own error")


def test_after_its_block_a_frame_hands_out_nothing(daemon):
    daemon.start()
    cam = daemon.camera()
    copy, *_ = held_and_copied(cam)
    with cam.wait_next_in_place(timeout=WITHIN_S) as frame:
        rgb = frame.rgb
    for read in (lambda: frame.rgb, lambda: frame.depth, frame.copy, lambda: frame.metadata):
        with pytest.raises(aaa_camera.AaaCameraError, match="inside its with block"):
            read()
    # An array kept past its block still reads mapped memory (never a crash), even after the
    # daemon stopped and its segments were removed.
    daemon.close()
    del frame
    gc.collect()
    assert rgb.shape == (480, 640, 3)
    int(rgb.sum())
    copy.verify_synthetic()


def test_no_frame_in_time_is_a_timeout(daemon):
    daemon.start()
    cam = daemon.camera()
    daemon.ctl("pause")
    # Whatever was published before the pause took effect.
    while cam.wait_next(timeout=1.0) is not None:
        pass
    with pytest.raises(TimeoutError):
        cam.wait_next_in_place(timeout=0.2)
    daemon.ctl("resume")
    with cam.wait_next_in_place(timeout=WITHIN_S) as frame:
        assert frame.frame_number > 0


def test_in_place_after_the_daemon_died_is_daemon_gone(daemon):
    daemon.start()
    cam = daemon.camera()
    with cam.wait_next_in_place(timeout=WITHIN_S):
        pass
    daemon.signal(9)
    with pytest.raises(aaa_camera.DaemonGone):
        for _ in range(1000):
            try:
                with cam.wait_next_in_place(timeout=5):
                    pass
            except aaa_camera.FrameOverwritten:
                pass
