//! A writer that changes geometry moves to new segments; readers are told to open again and
//! then read frames of the new size, never a mix of the two.

use std::time::Duration;

use shmproto::{
    test_pattern, FrameBuf, Geometry, Liveness, Namespace, ReadError, Reader, Writer, WriterConfig,
};

fn publish(writer: &mut Writer, frame_number: u64) {
    let geometry = writer.geometry();
    let (mut rgb, mut depth) = (Vec::new(), Vec::new());
    test_pattern::fill_frame(&geometry, frame_number, &mut rgb, &mut depth);
    writer
        .publish(&rgb, Some(&depth), &test_pattern::metadata(frame_number))
        .expect("publish");
}

#[test]
fn readers_follow_a_geometry_change() {
    let namespace = Namespace::new(&format!("geo{}", std::process::id())).expect("namespace");
    let mut writer = Writer::create(WriterConfig::new(
        namespace.clone(),
        Geometry::rgbd(320, 240),
    ))
    .expect("writer");
    let mut reader = Reader::open(&namespace).expect("reader");
    let mut frame = FrameBuf::new();
    publish(&mut writer, 1);
    assert!(reader
        .wait_next(&mut frame, Duration::from_secs(1))
        .expect("read"));
    assert_eq!(frame.geometry(), Some(Geometry::rgbd(320, 240)));

    let mut writer = writer.replace(Geometry::rgbd(640, 480)).expect("replace");
    match reader.wait_next(&mut frame, Duration::from_secs(1)) {
        Err(ReadError::WriterGone(liveness @ Liveness::Replaced { .. })) => {
            assert!(liveness.is_replaced())
        }
        other => panic!("expected Replaced, got {other:?}"),
    }
    let mut reader = Reader::open_waiting(&namespace, Duration::from_secs(1)).expect("reopen");
    assert_eq!(reader.geometry(), Geometry::rgbd(640, 480));
    publish(&mut writer, 2);
    assert!(reader
        .wait_next(&mut frame, Duration::from_secs(1))
        .expect("read"));
    assert_eq!(frame.geometry(), Some(Geometry::rgbd(640, 480)));
    test_pattern::verify(&frame).expect("whole frame of the new geometry");
    assert_eq!(frame.rgb().len(), 640 * 480 * 3);
}
