//! Bad bytes from other processes: garbage, truncated and wrong-version segments are refused
//! with typed errors that name the segment; clean shutdown and permissions.

use std::time::Duration;

mod common;

use common::{noise, raw_segment, segment_bytes, unique_namespace};
use shmproto::{
    DetectionsWriter, DetectionsWriterConfig, FrameBuf, Geometry, LayoutError, Liveness, Namespace,
    OpenError, ReadError, Reader, SegmentError, Writer, WriterConfig,
};

fn open_error(namespace: &Namespace) -> OpenError {
    Reader::open(namespace).err().expect("open must fail")
}

#[test]
fn random_bytes_are_rejected_with_the_segment_named() {
    let namespace = unique_namespace("rand");
    let noise = noise();
    let _control = raw_segment(&namespace.metadata_segment(), &noise);
    let _rgb = raw_segment(&namespace.rgb_segment(), &noise);
    let error = open_error(&namespace);
    match &error {
        OpenError::Invalid {
            segment,
            problem: LayoutError::Magic { .. },
        } => assert_eq!(segment, &namespace.metadata_segment()),
        other => panic!("unexpected error: {other}"),
    }
    assert!(error.to_string().contains(&namespace.metadata_segment()));
    assert!(
        error.to_string().contains("expected \"AAACAMv1\""),
        "{error}"
    );

    // A writer reclaims a namespace full of garbage and says so.
    let writer = Writer::create(WriterConfig::new(namespace.clone(), Geometry::default()))
        .expect("writer reclaims garbage");
    assert!(writer.reclaimed().unwrap_or_default().contains("invalid"));
}

#[test]
fn truncated_and_wrong_version_segments_are_rejected() {
    let source = unique_namespace("src");
    let _writer = Writer::create(WriterConfig::new(source.clone(), Geometry::default()))
        .expect("create source writer");
    let control = segment_bytes(&source.metadata_segment());
    let rgb = segment_bytes(&source.rgb_segment());
    let depth = segment_bytes(&source.depth_segment());

    // Truncated control segment.
    let truncated = unique_namespace("trunc");
    let _c = raw_segment(
        &truncated.metadata_segment(),
        &control[..control.len() - 4096],
    );
    match open_error(&truncated) {
        OpenError::Invalid {
            segment,
            problem: LayoutError::TooSmall { expected, found },
        } => {
            assert_eq!(segment, truncated.metadata_segment());
            assert_eq!(expected, control.len() as u64);
            assert_eq!(found, control.len() as u64 - 4096);
        }
        other => panic!("unexpected error: {other}"),
    }

    // Wrong major version in the colour segment, valid control and depth.
    let versioned = unique_namespace("ver");
    let mut bad_rgb = rgb.clone();
    bad_rgb[8] = 9;
    let _c = raw_segment(&versioned.metadata_segment(), &control);
    let _r = raw_segment(&versioned.rgb_segment(), &bad_rgb);
    let _d = raw_segment(&versioned.depth_segment(), &depth);
    let error = open_error(&versioned);
    match &error {
        OpenError::Invalid {
            segment,
            problem: LayoutError::Version { found_major: 9, .. },
        } => assert_eq!(segment, &versioned.rgb_segment()),
        other => panic!("unexpected error: {other}"),
    }

    // Impossible geometry (zero width) in an otherwise valid control segment.
    let zero = unique_namespace("zero");
    let mut zero_width = control.clone();
    zero_width[100..104].copy_from_slice(&0u32.to_le_bytes());
    let _c = raw_segment(&zero.metadata_segment(), &zero_width);
    let error = open_error(&zero);
    assert!(
        matches!(&error, OpenError::Invalid { problem: LayoutError::Field { field, .. }, .. } if field.contains("width")),
        "{error}"
    );

    // Segments of two different writer sessions.
    let mixed = unique_namespace("mix");
    let mut other_session = rgb.clone();
    other_session[16] ^= 0xff;
    let _c = raw_segment(&mixed.metadata_segment(), &control);
    let _r = raw_segment(&mixed.rgb_segment(), &other_session);
    assert!(matches!(
        open_error(&mixed),
        OpenError::SessionMismatch { .. }
    ));

    // An empty segment.
    let empty = unique_namespace("empty");
    let _c = raw_segment(&empty.metadata_segment(), &[0]);
    let error = open_error(&empty);
    assert!(
        error.to_string().contains(&empty.metadata_segment()),
        "{error}"
    );
}

#[test]
fn missing_namespace_says_which_segment_is_missing() {
    let namespace = unique_namespace("none");
    assert!(!shmproto::probe(&namespace));
    match open_error(&namespace) {
        OpenError::Segment(SegmentError::NotFound { segment }) => {
            assert_eq!(segment, namespace.metadata_segment())
        }
        other => panic!("unexpected error: {other}"),
    }
}

#[test]
fn clean_shutdown_wakes_readers_and_removes_segments() {
    let namespace = unique_namespace("close");
    let writer = Writer::create(WriterConfig::new(
        namespace.clone(),
        Geometry::rgb_only(320, 240),
    ))
    .expect("create writer");
    assert!(shmproto::probe(&namespace));
    assert!(
        shmproto::inspect(&namespace).segments[1].stat.is_none(),
        "a colour-only writer creates no depth segment"
    );
    let mut reader = Reader::open(&namespace).expect("open reader");
    let waiter = std::thread::spawn(move || {
        let mut frame = FrameBuf::new();
        let started = std::time::Instant::now();
        let result = reader.wait_next(&mut frame, Duration::from_secs(5));
        (result, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(100));
    drop(writer);
    let (result, waited) = waiter.join().expect("waiter thread");
    assert!(
        matches!(result, Err(ReadError::WriterGone(Liveness::Closed { .. }))),
        "{result:?}"
    );
    assert!(waited < Duration::from_secs(1), "woke after {waited:?}");
    assert!(!shmproto::probe(&namespace));
    assert!(shmproto::inspect(&namespace)
        .segments
        .iter()
        .all(|s| s.stat.is_none()));
}

#[test]
fn segments_are_private_and_can_be_handed_to_another_user() {
    let namespace = unique_namespace("perm");
    let writer = Writer::create(WriterConfig::new(namespace.clone(), Geometry::default()))
        .expect("create writer");
    let detections = DetectionsWriter::create(DetectionsWriterConfig::new(namespace.clone()))
        .expect("create detections writer");
    // All four: colour, depth, metadata and detections.
    for segment in shmproto::inspect(&namespace).segments {
        let stat = segment.stat.expect("segment exists");
        assert_eq!(
            stat.mode, 0o600,
            "{} has mode {:o}",
            segment.name, stat.mode
        );
    }
    drop((writer, detections));

    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping hand-over check: needs root to give segments to another user");
        return;
    }
    let nobody = shmproto::SegmentOwner {
        uid: 65534,
        gid: 65534,
    };
    let mut config = WriterConfig::new(namespace.clone(), Geometry::default());
    config.owner = Some(nobody);
    let _writer = Writer::create(config).expect("create handed-over writer");
    let mut config = DetectionsWriterConfig::new(namespace.clone());
    config.owner = Some(nobody);
    let _detections = DetectionsWriter::create(config).expect("create handed-over detections");
    for segment in shmproto::inspect(&namespace).segments {
        let stat = segment.stat.expect("segment exists");
        assert_eq!(
            (stat.uid, stat.gid, stat.mode),
            (65534, 65534, 0o600),
            "{}",
            segment.name
        );
    }
}
