#!/usr/bin/env python3
"""Makes a RealSense recording without a camera, for tests of the daemon's RealSense source.

A pyrealsense2 `software_device` with a depth sensor ("Stereo Module", Z16, depth units 0.001 m)
and a colour sensor ("RGB Camera", RGB8) is recorded with `rs.recorder`. Depth is already
aligned to colour: both streams share the same intrinsics and the extrinsics between them are
the identity, so librealsense's align block maps every depth pixel onto the same colour pixel.

The scene, identical in every frame except where noted:
  depth   a wall at WALL_DEPTH_MM with a box at BOX_DEPTH_MM covering BOX (x0, y0, x1, y1),
          and a column of "no measurement" (0) at HOLE_X.
  colour  red = x * 255 // (width - 1), green = y * 255 // (height - 1), blue = BLUE
          outside the box; BOX_RGB inside the box. Pixel (0, 0) carries the frame index in
          its blue channel (frame index % 256), so a reader can tell frames apart.

Writes PATH (the extension picks the format: .bag with pyrealsense2 2.56, .db3 with 2.59+)
and PATH + ".json", the sidecar with what a reader must find (see `expected` below).

Usage: make_recording.py PATH [--frames N] [--fps FPS]
"""

import argparse
import json
import sys

import numpy as np
import pyrealsense2 as rs

WIDTH, HEIGHT = 640, 480
DEPTH_UNITS_M = 0.001
WALL_DEPTH_MM = 1500
BOX_DEPTH_MM = 800
BOX = (256, 176, 384, 304)  # x0, y0, x1, y1 (exclusive), around the image centre
HOLE_X = 600
BLUE = 64
BOX_RGB = (255, 128, 0)
# Intrinsics of both streams: a D435-like colour camera, deliberately not "round" numbers so a
# reader that invents intrinsics is caught.
FX, FY, PPX, PPY = 615.25, 615.75, 321.5, 238.25


def make_intrinsics():
    intrinsics = rs.intrinsics()
    intrinsics.width = WIDTH
    intrinsics.height = HEIGHT
    intrinsics.fx = FX
    intrinsics.fy = FY
    intrinsics.ppx = PPX
    intrinsics.ppy = PPY
    intrinsics.model = rs.distortion.brown_conrady
    intrinsics.coeffs = [0.0, 0.0, 0.0, 0.0, 0.0]
    return intrinsics


def make_stream(stream, fmt, bpp, uid, fps):
    video_stream = rs.video_stream()
    video_stream.type = stream
    video_stream.index = 0
    video_stream.uid = uid
    video_stream.width = WIDTH
    video_stream.height = HEIGHT
    video_stream.fps = fps
    video_stream.bpp = bpp
    video_stream.fmt = fmt
    video_stream.intrinsics = make_intrinsics()
    return video_stream


def depth_image():
    depth_mm = np.full((HEIGHT, WIDTH), WALL_DEPTH_MM, dtype=np.uint16)
    x0, y0, x1, y1 = BOX
    depth_mm[y0:y1, x0:x1] = BOX_DEPTH_MM
    depth_mm[:, HOLE_X] = 0
    return depth_mm


def color_image():
    xs = np.arange(WIDTH, dtype=np.uint32) * 255 // (WIDTH - 1)
    ys = np.arange(HEIGHT, dtype=np.uint32) * 255 // (HEIGHT - 1)
    rgb = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    rgb[:, :, 0] = xs[np.newaxis, :]
    rgb[:, :, 1] = ys[:, np.newaxis]
    rgb[:, :, 2] = BLUE
    x0, y0, x1, y1 = BOX
    rgb[y0:y1, x0:x1] = BOX_RGB
    return rgb


def expected_rgb(x, y):
    x0, y0, x1, y1 = BOX
    if x0 <= x < x1 and y0 <= y < y1:
        return list(BOX_RGB)
    return [x * 255 // (WIDTH - 1), y * 255 // (HEIGHT - 1), BLUE]


def expected_depth_mm(x, y):
    x0, y0, x1, y1 = BOX
    if x == HOLE_X:
        return 0
    return BOX_DEPTH_MM if (x0 <= x < x1 and y0 <= y < y1) else WALL_DEPTH_MM


def record(path, frames, fps):
    device = rs.software_device()
    depth_sensor = device.add_sensor("Stereo Module")
    color_sensor = device.add_sensor("RGB Camera")
    depth_profile = depth_sensor.add_video_stream(make_stream(rs.stream.depth, rs.format.z16, 2, 0, fps))
    color_profile = color_sensor.add_video_stream(make_stream(rs.stream.color, rs.format.rgb8, 3, 1, fps))
    depth_sensor.add_read_only_option(rs.option.depth_units, DEPTH_UNITS_M)

    identity = rs.extrinsics()
    identity.rotation = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    identity.translation = [0.0, 0.0, 0.0]
    depth_profile.register_extrinsics_to(color_profile, identity)
    color_profile.register_extrinsics_to(depth_profile, identity)

    device.register_info(rs.camera_info.name, "Software RGB-D test camera")
    device.register_info(rs.camera_info.serial_number, "000000000000")
    device.create_matcher(rs.matchers.dlr_c)

    recorder = rs.recorder(path, device)
    depth_sensor.open(depth_profile)
    color_sensor.open(color_profile)
    # The recorder sees the frames on their way into the sensors; the syncer only drains them.
    syncer = rs.syncer(frames * 2 + 2)
    depth_sensor.start(syncer)
    color_sensor.start(syncer)

    depth_mm = depth_image()
    rgb = color_image()
    for index in range(frames):
        timestamp_ms = index * 1000.0 / fps
        rgb[0, 0, 2] = index % 256
        for sensor, profile, pixels, bpp in (
            (depth_sensor, depth_profile, depth_mm, 2),
            (color_sensor, color_profile, rgb, 3),
        ):
            frame = rs.software_video_frame()
            frame.pixels = np.ascontiguousarray(pixels)
            frame.bpp = bpp
            frame.stride = WIDTH * bpp
            frame.timestamp = timestamp_ms
            frame.domain = rs.timestamp_domain.hardware_clock
            frame.frame_number = index
            frame.profile = profile.as_video_stream_profile()
            if bpp == 2:
                frame.depth_units = DEPTH_UNITS_M
            sensor.on_video_frame(frame)
        while syncer.poll_for_frames():
            pass

    depth_sensor.stop()
    color_sensor.stop()
    depth_sensor.close()
    color_sensor.close()
    # The file is indexed and closed only when the last reference to the recorder goes: a
    # recorder still alive at interpreter exit leaves "Bag unindexed".
    del recorder, syncer, depth_sensor, color_sensor, depth_profile, color_profile, device


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", help="output recording, .bag (pyrealsense2 2.56) or .db3 (2.59+)")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--fps", type=int, default=30)
    args = parser.parse_args()
    if args.frames < 1:
        parser.error("--frames must be at least 1")

    try:
        record(args.path, args.frames, args.fps)
    except RuntimeError as error:
        version = getattr(rs, "__version__", "?")
        print(f"make_recording: {error} (pyrealsense2 {version}; 2.56 writes .bag, 2.59 writes .db3)", file=sys.stderr)
        return 1

    probe_pixels = [(320, 240), (40, 40), (100, 400), (HOLE_X, 240), (BOX[0], BOX[1]), (BOX[2], BOX[3])]
    expected = {
        "librealsense_version": rs.__version__ if hasattr(rs, "__version__") else None,
        "frames": args.frames,
        "fps": args.fps,
        "width": WIDTH,
        "height": HEIGHT,
        "depth_scale_m": DEPTH_UNITS_M,
        "intrinsics": {
            "width": WIDTH,
            "height": HEIGHT,
            "fx": FX,
            "fy": FY,
            "ppx": PPX,
            "ppy": PPY,
            "model": "brown_conrady",
            "coeffs": [0.0] * 5,
        },
        # Pixel (0, 0) carries frame index % 256 in blue instead of BLUE.
        "frame_index_pixel": {"x": 0, "y": 0, "channel": 2},
        "pixels": [
            {"x": x, "y": y, "depth_mm": expected_depth_mm(x, y), "rgb": expected_rgb(x, y)}
            for (x, y) in probe_pixels
        ],
    }
    with open(args.path + ".json", "w", encoding="utf-8") as sidecar:
        json.dump(expected, sidecar, indent=2)
        sidecar.write("\n")
    print(f"make_recording: wrote {args.frames} frames to {args.path} and {args.path}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
