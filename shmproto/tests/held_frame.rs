//! Frames held in place across calls (`Reader::read_held`, `Reader::wait_next_held`), the
//! bindings' in-place read: the addresses show the whole frame, a writer lapping the held slot
//! makes `check` say `Overwritten`, and a held frame keeps its mappings after the reader and the
//! writer are gone.

mod common;

use std::time::Duration;

use common::unique_namespace;
use shmproto::test_pattern;
use shmproto::{Geometry, HeldPlane, ReadError, Reader, Writer, WriterConfig};

const WAIT: Duration = Duration::from_secs(5);

fn publish(writer: &mut Writer, frame_number: u64) {
    let (mut rgb, mut depth) = (Vec::new(), Vec::new());
    test_pattern::fill_frame(&writer.geometry(), frame_number, &mut rgb, &mut depth);
    writer
        .publish(&rgb, Some(&depth), &test_pattern::metadata(frame_number))
        .expect("publish");
}

/// What a foreign reader does with a held plane: reads its bytes through the address.
fn bytes_of(plane: HeldPlane) -> Vec<u8> {
    let mut bytes = vec![0u8; plane.len];
    // SAFETY: the address is valid for `len` bytes while the held frame lives (the caller
    // holds it), and the copy forms no reference over the shared bytes.
    unsafe { std::ptr::copy_nonoverlapping(plane.address.as_ptr(), bytes.as_mut_ptr(), plane.len) };
    bytes
}

fn expected(geometry: &Geometry, frame_number: u64) -> (Vec<u8>, Vec<u8>) {
    let (mut rgb, mut depth) = (Vec::new(), Vec::new());
    test_pattern::fill_frame(geometry, frame_number, &mut rgb, &mut depth);
    (rgb, depth)
}

#[test]
fn a_held_frame_shows_the_whole_frame_and_counts_as_returned() {
    let namespace = unique_namespace("hdone");
    let geometry = Geometry::rgbd(64, 48);
    let mut writer =
        Writer::create(WriterConfig::new(namespace.clone(), geometry)).expect("writer");
    let mut reader = Reader::open(&namespace).expect("reader");
    assert!(matches!(reader.read_held(), Ok(None)));
    publish(&mut writer, 7);
    let held = reader.read_held().expect("read held").expect("a frame");
    assert_eq!(held.header().frame_number, 7);
    assert_eq!(held.geometry(), geometry);
    let rgb = held.rgb().expect("colour plane");
    let depth = held.depth().expect("depth plane");
    assert_eq!((rgb.row_len, depth.row_len), (64 * 3, 64 * 2));
    assert_eq!((bytes_of(rgb), bytes_of(depth)), expected(&geometry, 7));
    assert_eq!(held.metadata().expect("metadata").frame_number, 7);
    held.check().expect("nothing overwrote the slot");
    // Returned once: nothing newer now.
    assert!(matches!(reader.read_held(), Ok(None)));
    assert!(matches!(
        reader.wait_next_held(Duration::from_millis(20)),
        Ok(None)
    ));
    publish(&mut writer, 8);
    let next = reader
        .wait_next_held(WAIT)
        .expect("wait held")
        .expect("a frame within the timeout");
    assert_eq!(next.header().frame_number, 8);
    // Both held at once, each still whole.
    held.check().expect("frame 7's slot is another slot");
    next.check().expect("frame 8 untouched");
}

#[test]
fn a_writer_lapping_the_held_slot_makes_check_overwritten() {
    let namespace = unique_namespace("hdlap");
    let geometry = Geometry::rgbd(64, 48);
    let config = WriterConfig::new(namespace.clone(), geometry);
    let slot_count = u64::from(config.slot_count);
    let mut writer = Writer::create(config).expect("writer");
    let mut reader = Reader::open(&namespace).expect("reader");
    publish(&mut writer, 1);
    let held = reader.read_held().expect("read held").expect("a frame");
    // Everything but a whole ring: the held slot is untouched.
    for frame_number in 2..=slot_count {
        publish(&mut writer, frame_number);
    }
    held.check().expect("the held slot was not reused yet");
    publish(&mut writer, slot_count + 1);
    // Its bytes are another frame's now, under frame 1's header: check says so.
    let rgb = bytes_of(held.rgb().expect("colour plane"));
    assert_ne!(rgb, expected(&geometry, 1).0);
    match held.check() {
        Err(ReadError::Overwritten { publish_seq }) => assert_eq!(publish_seq, 1),
        other => panic!("a lapped held slot passed its check: {other:?}"),
    }
}

#[test]
fn a_held_frame_outlives_its_reader_and_writer() {
    let namespace = unique_namespace("hdlive");
    let geometry = Geometry::rgbd(32, 24);
    let mut writer =
        Writer::create(WriterConfig::new(namespace.clone(), geometry)).expect("writer");
    let mut reader = Reader::open(&namespace).expect("reader");
    publish(&mut writer, 3);
    let held = reader.read_held().expect("read held").expect("a frame");
    drop(reader);
    drop(writer);
    // The segments are unlinked, the reader gone: the held mappings remain, the frame whole.
    assert!(!shmproto::probe(&namespace));
    let (rgb, depth) = (held.rgb().expect("rgb"), held.depth().expect("depth"));
    assert_eq!((bytes_of(rgb), bytes_of(depth)), expected(&geometry, 3));
    held.check().expect("nothing overwrote it");
}

#[test]
fn a_held_frame_copies_into_a_frame_buffer_until_it_is_overwritten() {
    let namespace = unique_namespace("hdcopy");
    let geometry = Geometry::rgbd(64, 48);
    let config = WriterConfig::new(namespace.clone(), geometry);
    let slot_count = u64::from(config.slot_count);
    let mut writer = Writer::create(config).expect("writer");
    let mut reader = Reader::open(&namespace).expect("reader");
    publish(&mut writer, 1);
    let held = reader.read_held().expect("read held").expect("a frame");
    let mut frame = shmproto::FrameBuf::new();
    held.copy_into(&mut frame).expect("copy");
    assert_eq!(frame.frame_number(), 1);
    assert_eq!(
        (frame.rgb().to_vec(), frame.depth().expect("depth").to_vec()),
        expected(&geometry, 1)
    );
    assert_eq!(frame.metadata().expect("metadata").frame_number, 1);
    for frame_number in 2..=slot_count + 1 {
        publish(&mut writer, frame_number);
    }
    assert!(matches!(
        held.copy_into(&mut frame),
        Err(ReadError::Overwritten { publish_seq: 1 })
    ));
}
