//! Frames written in place (`Writer::publish_with`): read back whole, slots remember what the
//! writer said they hold, and a fill that panics publishes nothing.

use std::panic::{catch_unwind, AssertUnwindSafe};

use shmproto::test_pattern::{fill_planes, metadata, verify};
use shmproto::{FrameBuf, Geometry, Namespace, Reader, Writer, WriterConfig};

fn writer(tag: &str) -> (Writer, Reader) {
    let namespace =
        Namespace::new(&format!("{tag}{}", std::process::id())).expect("test namespace is valid");
    let writer = Writer::create(WriterConfig::new(namespace.clone(), Geometry::rgbd(64, 48)))
        .expect("create writer");
    let reader = Reader::open(&namespace).expect("open reader");
    (writer, reader)
}

fn publish_pattern(writer: &mut Writer, frame_number: u64) -> u64 {
    let mut previous_contents = None;
    writer
        .publish_with(&metadata(frame_number), |planes| {
            previous_contents = Some(*planes.contents_id);
            fill_planes(frame_number, planes.rgb, planes.depth);
            *planes.contents_id = frame_number;
        })
        .expect("publish in place");
    previous_contents.expect("fill was called")
}

fn read_newest(reader: &mut Reader, frame: &mut FrameBuf) -> u64 {
    assert!(reader.read_latest(frame).expect("read"), "no new frame");
    verify(frame).expect("frame is whole");
    frame.frame_number()
}

#[test]
fn frames_written_in_place_read_back_whole_and_slots_remember_their_contents() {
    let (mut writer, mut reader) = writer("inplace");
    let mut frame = FrameBuf::new();
    let previous: Vec<u64> = (1..=10)
        .map(|frame_number| {
            let previous = publish_pattern(&mut writer, frame_number);
            assert_eq!(read_newest(&mut reader, &mut frame), frame_number);
            previous
        })
        .collect();
    // New slots hold nothing known; once the ring wraps, each fill finds the id it left there.
    let slot_count = previous
        .iter()
        .position(|&id| id != 0)
        .expect("the ring wrapped");
    assert!(slot_count >= 2, "{previous:?}");
    for (index, &id) in previous.iter().enumerate().skip(slot_count) {
        assert_eq!(id, (index + 1 - slot_count) as u64, "{previous:?}");
    }

    // A copied frame leaves its slot unknown to the next fill.
    let geometry = writer.geometry();
    let (mut rgb, mut depth) = (Vec::new(), Vec::new());
    shmproto::test_pattern::fill_frame(&geometry, 11, &mut rgb, &mut depth);
    writer
        .publish(&rgb, Some(&depth), &metadata(11))
        .expect("publish");
    assert_eq!(read_newest(&mut reader, &mut frame), 11);
    // Frame 11 + slot_count goes into frame 11's slot.
    let after_copy: Vec<u64> = (12..=11 + slot_count as u64)
        .map(|frame_number| publish_pattern(&mut writer, frame_number))
        .collect();
    assert_eq!(after_copy.last(), Some(&0), "{after_copy:?}");
    assert!(after_copy[..slot_count - 1].iter().all(|&id| id != 0));
}

#[test]
fn a_fill_that_panics_publishes_nothing_and_the_writer_goes_on() {
    let (mut writer, mut reader) = writer("inpanic");
    let mut frame = FrameBuf::new();
    publish_pattern(&mut writer, 1);
    assert_eq!(read_newest(&mut reader, &mut frame), 1);

    let outcome = catch_unwind(AssertUnwindSafe(|| {
        writer.publish_with(&metadata(2), |planes| {
            planes.rgb.fill(0xAB);
            panic!("the source failed half-way through a frame");
        })
    }));
    assert!(outcome.is_err());
    assert!(
        !reader.read_latest(&mut frame).expect("read"),
        "a half-written frame was published"
    );

    // The writer carries on, through the slot that was abandoned and around the ring again.
    for frame_number in 2..=9 {
        publish_pattern(&mut writer, frame_number);
        assert_eq!(read_newest(&mut reader, &mut frame), frame_number);
    }
}
