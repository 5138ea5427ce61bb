"""`aaa-camera-daemon record` read back with independent decoders: the PyPI `mcap` reader and
`mcap-ros2-support`'s ROS 2 CDR decoder, against what the daemon published (read at the same
time through aaa_camera)."""

import json
import signal
import subprocess
import time

import numpy as np
from conftest import digest, published_digests
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

COLOR = "/camera/color/image_raw"
DEPTH = "/camera/depth/image_rect_raw"
INFO = "/camera/color/camera_info"
METADATA = "/aaa/metadata"


def record(daemon, path, *extra, timeout=60):
    done = subprocess.run(
        daemon.command("record", "--output", str(path), "--json", *extra),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def read_recording(path):
    """Every decoded message by topic, the summary's counts, and the metadata records."""
    by_topic = {}
    with open(path, "rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        header = reader.get_header()
        summary = reader.get_summary()
        counts = {
            channel.topic: summary.statistics.channel_message_counts.get(channel.id, 0)
            for channel in summary.channels.values()
        }
        schemas = {
            channel.topic: summary.schemas[channel.schema_id]
            for channel in summary.channels.values()
        }
        for _schema, channel, message, decoded in reader.iter_decoded_messages():
            by_topic.setdefault(channel.topic, []).append((message, decoded))
        notes = [(note.name, dict(note.metadata)) for note in reader.iter_metadata()]
    return header, counts, schemas, by_topic, notes


def test_recording_holds_what_the_daemon_published(daemon, tmp_path):
    daemon.start()
    path = tmp_path / "session.mcap"
    with published_digests(daemon) as published:
        summary = record(daemon, path, "--seconds", "3")

    frames = summary["frames_written"]
    assert frames >= 30, summary
    assert summary["gaps"] == 0 and summary["frames_missed"] == 0, summary
    header, counts, schemas, by_topic, notes = read_recording(path)
    assert header.profile == "ros2"
    assert counts == {COLOR: frames, DEPTH: frames, INFO: frames, METADATA: frames}
    assert schemas[COLOR].name == "sensor_msgs/msg/Image"
    assert schemas[COLOR].encoding == "ros2msg"
    assert schemas[INFO].name == "sensor_msgs/msg/CameraInfo"
    assert schemas[METADATA].name == "std_msgs/msg/String"

    compared = 0
    for (color_msg, color), (_, depth), (_, info), (_, meta) in zip(
        by_topic[COLOR], by_topic[DEPTH], by_topic[INFO], by_topic[METADATA]
    ):
        metadata = json.loads(meta.data)
        stamp_ns = metadata["capture_wall_ns"]
        for message in (color, depth, info):
            assert message.header.stamp.sec * 10**9 + message.header.stamp.nanosec == stamp_ns
            assert message.header.frame_id == "camera_color_optical_frame"
        assert color_msg.log_time == stamp_ns
        assert (color.encoding, color.width, color.height, color.step) == ("rgb8", 640, 480, 1920)
        assert (depth.encoding, depth.width, depth.height, depth.step) == ("16UC1", 640, 480, 1280)
        assert len(color.data) == 640 * 480 * 3 and len(depth.data) == 640 * 480 * 2
        assert metadata["depth_scale_m"] == 0.001
        intrinsics = metadata["intrinsics"]
        assert (info.width, info.height) == (640, 480)
        assert info.distortion_model == "plumb_bob" and len(info.d) == 5
        assert np.allclose(
            info.k,
            [intrinsics["fx"], 0, intrinsics["ppx"], 0, intrinsics["fy"], intrinsics["ppy"], 0, 0, 1],
        )
        rgb = np.frombuffer(bytes(color.data), np.uint8).reshape(480, 640, 3)
        depth_mm = np.frombuffer(bytes(depth.data), "<u2").reshape(480, 640)
        seen = published.get(metadata["frame_number"])
        if seen is not None:
            assert seen == (digest(rgb), digest(depth_mm)), metadata["frame_number"]
            compared += 1
    # The reader took most of the frames the recorder did.
    assert compared >= frames // 2, (compared, frames)
    assert [name for name, _ in notes] == ["aaa.session", "aaa.recording"]
    assert notes[1][1]["frames"] == str(frames) and notes[1][1]["gaps"] == "0"


def test_recording_goes_on_across_a_mode_change_and_a_restart(daemon, tmp_path):
    daemon.start()
    path = tmp_path / "changes.mcap"
    recorder = subprocess.Popen(
        daemon.command("record", "--output", str(path), "--json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)
    daemon.ctl("mode", "320", "240", "30")
    time.sleep(1.5)
    daemon.stop()
    daemon.start()
    time.sleep(1.5)
    recorder.send_signal(signal.SIGINT)
    out, err = recorder.communicate(timeout=30)
    assert recorder.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["mode_changes"] >= 1 and summary["daemon_restarts"] == 1, summary
    assert summary["sessions"] == 1 + summary["mode_changes"] + 1, summary

    _, counts, _, by_topic, notes = read_recording(path)
    assert counts[COLOR] == summary["frames_written"]
    sizes = {(image.width, image.height) for _, image in by_topic[COLOR]}
    assert sizes == {(640, 480), (320, 240)}, sizes
    reasons = [note["reason"] for name, note in notes if name == "aaa.session"]
    assert reasons[0] == "start" and "mode change" in reasons and reasons[-1] == "daemon restart"
    assert notes[-1][0] == "aaa.recording"
