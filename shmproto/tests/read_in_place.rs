//! Frames read in place (`Reader::read_in_place`, `Reader::wait_next_in_place`): whole frames
//! come back, a writer lapping the reader during the look makes the read `Overwritten` (never a
//! torn frame passed as good), and a truncated segment is `SegmentLost`, not a crash.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{spawn_stress, unique_namespace, wait_ready};
use shmproto::test_pattern::{self, verify_view};
use shmproto::{Geometry, ReadError, Reader, Writer, WriterConfig};

const WAIT: Duration = Duration::from_secs(5);

fn writer_and_reader(tag: &str, geometry: Geometry) -> (Writer, Reader) {
    let namespace = unique_namespace(tag);
    let writer = Writer::create(WriterConfig::new(namespace.clone(), geometry)).expect("writer");
    let reader = Reader::open(&namespace).expect("reader");
    (writer, reader)
}

fn publish(writer: &mut Writer, frame_number: u64) {
    let (mut rgb, mut depth) = (Vec::new(), Vec::new());
    test_pattern::fill_frame(&writer.geometry(), frame_number, &mut rgb, &mut depth);
    writer
        .publish(&rgb, Some(&depth), &test_pattern::metadata(frame_number))
        .expect("publish");
}

#[test]
fn in_place_reads_see_whole_frames_once_each() {
    let (mut writer, mut reader) = writer_and_reader("ipone", Geometry::rgbd(64, 48));
    assert!(matches!(reader.read_in_place(|_| ()), Ok(None)));
    publish(&mut writer, 1);
    let seen = reader
        .read_in_place(|view| (view.frame_number(), verify_view(view).is_ok()))
        .expect("read in place");
    assert_eq!(seen, Some((1, true)));
    // Returned once: nothing newer now, and the closure is not called.
    assert!(matches!(
        reader.read_in_place(|_| panic!("called without a new frame")),
        Ok(None)
    ));
    publish(&mut writer, 2);
    let mut rgb = vec![0u8; writer.geometry().color_len()];
    let header = reader
        .wait_next_in_place(WAIT, |view| {
            assert_eq!(view.rgb().copy_to(&mut rgb), rgb.len());
            *view.header()
        })
        .expect("wait in place")
        .expect("a frame within the timeout");
    assert_eq!((header.frame_number, header.publish_seq), (2, 2));
    let (mut expected_rgb, mut expected_depth) = (Vec::new(), Vec::new());
    test_pattern::fill_frame(
        &writer.geometry(),
        2,
        &mut expected_rgb,
        &mut expected_depth,
    );
    assert_eq!(rgb, expected_rgb);
    // Timeout with the writer alive: `Ok(None)`.
    assert!(matches!(
        reader.wait_next_in_place(Duration::from_millis(20), |_| ()),
        Ok(None)
    ));
}

#[test]
fn rows_and_chunks_cover_the_plane_in_order() {
    let (mut writer, mut reader) = writer_and_reader("iprow", Geometry::rgbd(64, 48));
    publish(&mut writer, 5);
    let geometry = writer.geometry();
    let (mut expected_rgb, mut expected_depth) = (Vec::new(), Vec::new());
    test_pattern::fill_frame(&geometry, 5, &mut expected_rgb, &mut expected_depth);
    let (rgb, depth) = reader
        .read_in_place(|view| {
            let mut rgb = Vec::new();
            let mut rows = 0;
            view.rgb().for_each_row(|y, row| {
                assert_eq!(y, rows);
                assert_eq!(row.len(), 64 * 3);
                rows += 1;
                rgb.extend_from_slice(row);
            });
            assert_eq!(rows, 48);
            let mut depth = Vec::new();
            let plane = view.depth().expect("depth plane");
            // A chunk length that does not divide the plane: the last chunk is shorter.
            plane.for_each_chunk(1000, |start, chunk| {
                assert_eq!(start, depth.len());
                depth.extend_from_slice(chunk);
            });
            let mut outside = [0u8; 2];
            assert!(!plane.copy_range_to(plane.len() - 1, &mut outside));
            (rgb, depth)
        })
        .expect("read in place")
        .expect("a frame");
    assert_eq!(rgb, expected_rgb);
    assert_eq!(depth, expected_depth);
}

#[test]
fn a_writer_lapping_the_slot_during_the_look_makes_the_read_overwritten() {
    let (mut writer, mut reader) = writer_and_reader("iplap", Geometry::rgbd(64, 48));
    let slot_count =
        u64::from(WriterConfig::new(reader.namespace().clone(), writer.geometry()).slot_count);
    publish(&mut writer, 1);
    // The closure itself publishes one frame: another slot, so this one is untouched.
    let read = reader.read_in_place(|view| {
        publish(&mut writer, 2);
        verify_view(view).is_ok()
    });
    assert!(matches!(read, Ok(Some(true))), "{read:?}");
    // Now it publishes a whole ring's worth: the slot it looks at is rewritten under it.
    let mut frame_number = 2;
    let read = reader.read_in_place(|view| {
        let looked_at = view.frame_number();
        for _ in 0..slot_count {
            frame_number += 1;
            publish(&mut writer, frame_number);
        }
        // What it sees now is another frame's bytes under this frame's header.
        (looked_at, verify_view(view).is_ok())
    });
    match read {
        Err(ReadError::Overwritten { publish_seq }) => assert_eq!(publish_seq, 2),
        other => panic!("a lapped slot was not reported overwritten: {other:?}"),
    }
    // Not returned: the next read gets the newest frame, whole.
    let read = reader.read_in_place(|view| (view.frame_number(), verify_view(view).is_ok()));
    assert!(
        matches!(read, Ok(Some((n, true))) if n == frame_number),
        "{read:?}"
    );
}

#[test]
fn a_writer_thread_overwriting_while_the_reader_waits_makes_the_read_overwritten() {
    let (mut writer, mut reader) = writer_and_reader("ipbar", Geometry::rgbd(64, 48));
    let slot_count =
        u64::from(WriterConfig::new(reader.namespace().clone(), writer.geometry()).slot_count);
    publish(&mut writer, 1);
    let looking = Arc::new(Barrier::new(2));
    let overwritten = Arc::new(Barrier::new(2));
    let writer_thread = {
        let (looking, overwritten) = (Arc::clone(&looking), Arc::clone(&overwritten));
        std::thread::spawn(move || {
            looking.wait();
            for frame_number in 2..=1 + slot_count {
                publish(&mut writer, frame_number);
            }
            overwritten.wait();
            writer
        })
    };
    let read = reader.wait_next_in_place(WAIT, |view| {
        looking.wait();
        overwritten.wait();
        verify_view(view).is_ok()
    });
    assert!(
        matches!(read, Err(ReadError::Overwritten { publish_seq: 1 })),
        "{read:?}"
    );
    drop(writer_thread.join().expect("writer thread"));
}

/// Reads in place while `writing` runs; returns (good frames, overwritten reads). Panics on
/// any frame that failed verification but was returned as good.
fn read_against_hammering(reader: &mut Reader, writing: &AtomicBool) -> (u64, u64) {
    let (mut good, mut overwritten) = (0u64, 0u64);
    let mut last = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    // Acquire: pairs with the writer's Release store of false when it stops; nothing else
    // depends on it.
    while writing.load(Ordering::Acquire) && Instant::now() < deadline {
        match reader.wait_next_in_place(Duration::from_millis(200), |view| {
            (view.frame_number(), verify_view(view))
        }) {
            Ok(Some((frame_number, verified))) => {
                if let Err(error) = verified {
                    panic!("a torn frame was returned as good: {error}");
                }
                assert!(frame_number > last, "frame {frame_number} after {last}");
                last = frame_number;
                good += 1;
            }
            Ok(None) => {}
            Err(ReadError::Overwritten { .. }) => overwritten += 1,
            Err(ReadError::WriterGone(_)) => break,
            Err(error) => panic!("read failed: {error}"),
        }
    }
    (good, overwritten)
}

#[test]
fn a_hammering_writer_thread_never_gets_a_torn_frame_through() {
    for (tag, geometry, frames) in [
        ("iphs", Geometry::rgbd(64, 48), 20_000u64),
        ("iphl", Geometry::rgbd(640, 480), 600),
    ] {
        let (mut writer, mut reader) = writer_and_reader(tag, geometry);
        let writing = Arc::new(AtomicBool::new(true));
        let writer_thread = {
            let writing = Arc::clone(&writing);
            std::thread::spawn(move || {
                let (mut rgb, mut depth) = (Vec::new(), Vec::new());
                for frame_number in 1..=frames {
                    test_pattern::fill_frame(&geometry, frame_number, &mut rgb, &mut depth);
                    writer
                        .publish(&rgb, Some(&depth), &test_pattern::metadata(frame_number))
                        .expect("publish");
                }
                // Release: see the load in `read_against_hammering`.
                writing.store(false, Ordering::Release);
            })
        };
        let (good, overwritten) = read_against_hammering(&mut reader, &writing);
        writer_thread.join().expect("writer thread");
        println!("{tag}: {good} frames verified in place, {overwritten} reads overwritten");
        assert!(good > 0, "no frame was read in place");
    }
}

#[test]
fn a_hammering_writer_process_never_gets_a_torn_frame_through() {
    let namespace = unique_namespace("ipproc");
    let ns = namespace.as_str();
    let mut writer = spawn_stress(&[
        "write",
        "--namespace",
        ns,
        "--width",
        "320",
        "--height",
        "240",
        "--seconds",
        "3",
    ]);
    wait_ready(&mut writer);
    let mut reader = Reader::open_waiting(&namespace, WAIT).expect("reader");
    let writing = AtomicBool::new(true);
    let (good, overwritten) = read_against_hammering(&mut reader, &writing);
    let status = writer.wait().expect("writer exits");
    assert!(status.success(), "writer failed: {status}");
    println!("process writer: {good} frames verified in place, {overwritten} reads overwritten");
    assert!(good > 0, "no frame was read in place");
}

#[test]
fn a_segment_truncated_during_an_in_place_read_is_lost_not_fatal() {
    let (mut writer, mut reader) = writer_and_reader("iptrunc", Geometry::rgbd(64, 48));
    publish(&mut writer, 1);
    let rgb_segment = reader.namespace().rgb_segment();
    let read = reader.read_in_place(|view| {
        // The owner truncates the colour segment while we look at it: touching its pages
        // raises SIGBUS, which the guard turns into a detached mapping of zeros.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(Path::new("/dev/shm").join(&rgb_segment))
            .expect("open the colour segment");
        file.set_len(0).expect("truncate");
        let mut rgb = vec![0u8; view.rgb().len()];
        view.rgb().copy_to(&mut rgb);
        rgb.iter().all(|&byte| byte == 0)
    });
    match read {
        Err(ReadError::SegmentLost { segment }) => assert_eq!(segment, rgb_segment),
        other => panic!("the in-place reader did not notice: {other:?}"),
    }
    assert!(matches!(
        reader.read_in_place(|_| ()),
        Err(ReadError::SegmentLost { .. })
    ));
}
