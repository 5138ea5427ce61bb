//! End-to-end: `record` from the real synthetic daemon, `run --source recording` replaying the
//! file through the daemon with `watch` verifying every frame and its timing; bad files fail at
//! start with a clear error; MCAP files from other tools play.

mod common;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use common::{fixture, json, sigterm, stderr, Fixture};
use ros_messages::frame_messages::COLOR_TOPIC;
use ros_messages::{image, string_message, Header, Image, StringMessage, Time};
use shmproto::{FrameBuf, Reader};

fn spawn_replay(fixture: &Fixture, extra: &[&str]) -> Child {
    let mut args = vec!["run", "--source", "recording"];
    args.extend_from_slice(extra);
    let child = fixture
        .command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn replay");
    fixture.wait_live();
    child
}

/// The colour images' stamps in a recording, in file order.
fn color_stamps_ns(path: &Path) -> Vec<u64> {
    let bytes = std::fs::read(path).expect("test setup");
    mcap::MessageStream::new(&bytes)
        .expect("test setup")
        .map(|message| message.expect("test setup"))
        .filter(|message| message.channel.topic == COLOR_TOPIC)
        .map(|message| {
            Image::decode(&message.data)
                .expect("test setup")
                .header
                .stamp
                .to_unix_ns()
        })
        .collect()
}

#[test]
fn a_recording_replays_with_its_timing_and_every_frame_verifies() {
    let source = fixture("recsrc");
    let mut daemon = source.spawn_synthetic(&[]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synthetic.mcap");
    let path_text = path.to_str().unwrap();
    let output = source.output(&["record", "--output", path_text, "--seconds", "3", "--json"]);
    assert!(output.status.success(), "record: {}", stderr(&output));
    let summary = json(&output);
    sigterm(&daemon);
    let _ = daemon.wait();
    let frames = summary["frames_written"].as_u64().unwrap();
    assert!(frames >= 30, "{summary}");

    let stamps = color_stamps_ns(&path);
    assert_eq!(stamps.len() as u64, frames);
    let span_ns = stamps.last().unwrap() - stamps.first().unwrap();
    let recorded_fps = (stamps.len() - 1) as f64 / (span_ns as f64 / 1e9);

    let replay = fixture("recplay");
    let mut player = spawn_replay(&replay, &["--recording", path_text, "--loop"]);
    let output = replay.output(&["watch", "--seconds", "4", "--json"]);
    let watched = json(&output);
    sigterm(&player);
    let _ = player.wait();
    assert!(output.status.success(), "watch: {watched}");
    assert_eq!(watched["source_kind"], "synthetic", "{watched}");
    assert_eq!(watched["verify_failures"], 0, "{watched}");
    assert_eq!(
        watched["frames_verified"], watched["frames_received"],
        "{watched}"
    );
    let fps = watched["fps"].as_f64().unwrap();
    assert!(
        (fps - recorded_fps).abs() <= recorded_fps * 0.05,
        "replayed at {fps:.2} fps, recorded at {recorded_fps:.2} fps"
    );
}

/// Writes an MCAP file with `images` (topic, encoding, bytes per pixel) of 8x4 frames, and
/// whatever `extra` adds.
fn write_mcap(
    path: &Path,
    images: &[(&str, &str, usize)],
    frames: u32,
    extra: impl Fn(&mut mcap::Writer<std::io::BufWriter<std::fs::File>>),
) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).expect("test setup"));
    let mut writer = mcap::WriteOptions::new()
        .profile("ros2")
        .create(file)
        .expect("test setup");
    let schema = writer
        .add_schema(image::SCHEMA_NAME, "ros2msg", image::SCHEMA_TEXT.as_bytes())
        .expect("test setup");
    let channels: Vec<u16> = images
        .iter()
        .map(|(topic, _, _)| {
            writer
                .add_channel(schema, topic, "cdr", &BTreeMap::new())
                .expect("test setup")
        })
        .collect();
    extra(&mut writer);
    for index in 0..frames {
        let stamp_ns = 1_700_000_000_000_000_000 + u64::from(index) * 33_333_333;
        for (&(_, encoding, bytes_per_pixel), &channel) in images.iter().zip(&channels) {
            let data: Vec<u8> = (0..8 * 4 * bytes_per_pixel)
                .map(|byte| (byte + index as usize) as u8)
                .collect();
            let message = Image {
                header: Header {
                    stamp: Time::from_unix_ns(stamp_ns),
                    frame_id: "camera".into(),
                },
                height: 4,
                width: 8,
                encoding: encoding.into(),
                is_bigendian: false,
                step: 8 * bytes_per_pixel as u32,
                data: Cow::Owned(data),
            };
            let header = mcap::records::MessageHeader {
                channel_id: channel,
                sequence: index,
                log_time: stamp_ns,
                publish_time: stamp_ns,
            };
            writer
                .write_to_known_channel(&header, &message.encode())
                .expect("test setup");
        }
    }
    writer.finish().expect("test setup");
}

#[test]
fn mcap_from_other_tools_plays_with_named_topics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.mcap");
    write_mcap(
        &path,
        &[
            ("/left/image", "bgr8", 3),
            ("/right/image", "bgr8", 3),
            ("/stereo/depth", "16UC1", 2),
        ],
        60,
        |_| {},
    );
    let replay = fixture("recoth");
    let path_text = path.to_str().unwrap();
    let mut player = spawn_replay(
        &replay,
        &[
            "--recording",
            path_text,
            "--loop",
            "--rate",
            "2",
            "--color-topic",
            "/right/image",
        ],
    );
    // The daemon starts with segments of the default size and moves to the recording's.
    let mut frame = FrameBuf::new();
    let mut reader = Reader::open(&replay.namespace).unwrap();
    loop {
        match reader.wait_next(&mut frame, Duration::from_secs(10)) {
            Ok(true) => break,
            Ok(false) => panic!("no frame within 10 s"),
            Err(shmproto::ReadError::WriterGone(shmproto::Liveness::Replaced { .. })) => {
                reader = Reader::open_waiting(&replay.namespace, Duration::from_secs(10)).unwrap();
            }
            Err(error) => panic!("{error}"),
        }
    }
    sigterm(&player);
    let _ = player.wait();
    let geometry = frame.geometry().unwrap();
    assert_eq!((geometry.width, geometry.height), (8, 4));
    // The file's frame i has byte b = b + i: colour came as BGR and is published as RGB.
    let index = frame.rgb()[2];
    assert_eq!(
        frame.rgb()[..3],
        [index.wrapping_add(2), index.wrapping_add(1), index]
    );
    let depth = frame.depth().unwrap();
    assert_eq!(depth[0], index, "depth of the same frame");
    let metadata = frame.metadata().unwrap();
    assert_eq!(metadata.depth_scale_m, Some(0.001));
    assert_eq!(metadata.source_kind, shmproto::SourceKind::Other);
}

/// `run --source recording --recording FILE` must fail at once with `expected` in its error.
fn assert_fails_at_start(fixture: &Fixture, path: &Path, expected: &str) {
    let output = fixture
        .command(&[
            "run",
            "--source",
            "recording",
            "--recording",
            path.to_str().expect("test setup"),
        ])
        .output()
        .expect("test setup");
    let error = stderr(&output);
    assert!(!output.status.success(), "{path:?} played");
    assert!(error.contains(expected), "{path:?}: {error}");
}

#[test]
fn bad_recordings_fail_at_start_with_a_clear_error() {
    let fixture = fixture("recbad");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.mcap");
    assert_fails_at_start(&fixture, &missing, "No such file");

    let text = dir.path().join("notes.mcap");
    std::fs::write(&text, "not a recording").unwrap();
    assert_fails_at_start(&fixture, &text, "neither an MCAP file");

    let good = dir.path().join("good.mcap");
    write_mcap(&good, &[(COLOR_TOPIC, "rgb8", 3)], 3, |_| {});
    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.path().join("truncated.mcap");
    std::fs::write(&truncated, &bytes[..bytes.len().min(120)]).unwrap();
    assert_fails_at_start(&fixture, &truncated, "truncated");

    let mono = dir.path().join("mono.mcap");
    write_mcap(&mono, &[(COLOR_TOPIC, "mono8", 1)], 3, |_| {});
    assert_fails_at_start(
        &fixture,
        &mono,
        "colour image encoding \"mono8\" is not supported",
    );

    let no_images = dir.path().join("no-images.mcap");
    write_mcap(&no_images, &[], 0, |writer| {
        let schema = writer
            .add_schema(
                string_message::SCHEMA_NAME,
                "ros2msg",
                string_message::SCHEMA_TEXT.as_bytes(),
            )
            .unwrap();
        let channel = writer
            .add_channel(schema, "/chatter", "cdr", &BTreeMap::new())
            .unwrap();
        let message = StringMessage { data: "{}".into() };
        let header = mcap::records::MessageHeader {
            channel_id: channel,
            sequence: 0,
            log_time: 1,
            publish_time: 1,
        };
        writer
            .write_to_known_channel(&header, &message.encode())
            .unwrap();
    });
    assert_fails_at_start(
        &fixture,
        &no_images,
        "no colour images to play: channels /chatter",
    );
}
