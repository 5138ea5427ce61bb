//! What another process can do to a namespace's files, and what readers and writers make of
//! it: a FIFO under a segment's name, a segment truncated under its mappings, a `latest` word
//! naming no frame, a state word of a newer protocol, a status record that is not JSON.
//! Offsets are the ones docs/protocol.md gives, poked through a mapping of our own.

use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod common;

use common::unique_namespace;
use shared_memory::ShmemConf;
use shmproto::{
    FrameBuf, FrameMetadata, Geometry, Namespace, OpenError, PublishError, ReadError, Reader,
    SegmentError, SourceKind, Writer, WriterConfig,
};
use test_support::thread_cpu_time;

/// Control block offsets (protocol.md, section 5).
const OFF_STATE: usize = 64;
const OFF_LATEST: usize = 88;
/// The status record of a 4-slot ring: slot table at 256, 64 bytes per slot.
const STATUS_RECORD: usize = 256 + 4 * 64;

fn metadata(frame_number: u64) -> FrameMetadata {
    FrameMetadata {
        frame_number,
        capture_wall_ns: shmproto::wall_now_ns(),
        capture_mono_ns: shmproto::monotonic_now_ns(),
        fps: 30.0,
        source_kind: SourceKind::Other,
        source_description: "hostile test".into(),
        intrinsics: None,
        depth_scale_m: Some(0.001),
        depth_aligned_to_color: true,
        ground_truth: Vec::new(),
    }
}

fn publish(writer: &mut Writer, frame_number: u64) -> Result<u64, PublishError> {
    let geometry = writer.geometry();
    let rgb = vec![frame_number as u8; geometry.color_len()];
    let depth = vec![1u8; geometry.depth_len()];
    writer.publish(&rgb, Some(&depth), &metadata(frame_number))
}

/// A second mapping of the control segment, to write what a hostile writer would.
struct Poke(shared_memory::Shmem);

impl Poke {
    fn control(namespace: &Namespace) -> Self {
        Poke(
            ShmemConf::new()
                .os_id(namespace.metadata_segment())
                .open()
                .expect("map the control segment"),
        )
    }

    fn u64_at(&self, offset: usize) -> &AtomicU64 {
        assert!(offset + 8 <= self.0.len() && offset.is_multiple_of(8));
        // SAFETY: in range and 8-aligned (the mapping is page-aligned); the protocol accesses
        // these words atomically only.
        unsafe { AtomicU64::from_ptr(self.0.as_ptr().add(offset).cast()) }
    }

    fn u32_at(&self, offset: usize) -> &AtomicU32 {
        assert!(offset + 4 <= self.0.len() && offset.is_multiple_of(4));
        // SAFETY: as in `u64_at`.
        unsafe { AtomicU32::from_ptr(self.0.as_ptr().add(offset).cast()) }
    }

    fn write(&self, offset: usize, bytes: &[u8]) {
        assert!(offset + bytes.len() <= self.0.len());
        // SAFETY: in range; the writer of this test is idle while we write.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.0.as_ptr().add(offset), bytes.len())
        };
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_fifo_under_a_segment_name_is_refused_at_once() {
    let namespace = unique_namespace("fifo");
    let path = Path::new("/dev/shm").join(namespace.rgb_segment());
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    // A blocking open would wait here for a writer of the FIFO for ever.
    let (sender, result) = std::sync::mpsc::channel();
    let opener = namespace.clone();
    std::thread::spawn(move || {
        let _ = sender.send(shmproto::segment_stat(&opener.rgb_segment()));
    });
    let stat = result.recv_timeout(Duration::from_secs(30));
    let _ = std::fs::remove_file(&path);
    match stat.expect("opening a FIFO blocked") {
        Err(SegmentError::NotRegular { file_type, .. }) => assert_eq!(file_type, "FIFO"),
        other => panic!("a FIFO was not refused: {other:?}"),
    }
}

#[test]
fn a_segment_truncated_under_its_mappings_is_lost_not_fatal() {
    let namespace = unique_namespace("trunc");
    let mut writer =
        Writer::create(WriterConfig::new(namespace.clone(), Geometry::rgbd(64, 48))).expect("w");
    let mut reader = Reader::open(&namespace).expect("reader");
    publish(&mut writer, 1).expect("publish");
    let mut frame = FrameBuf::new();
    assert!(reader
        .wait_next(&mut frame, Duration::from_secs(5))
        .expect("read"));

    // The owner truncates the colour segment: touching its pages raised SIGBUS, which killed
    // the process.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(Path::new("/dev/shm").join(namespace.rgb_segment()))
        .expect("open the colour segment");
    file.set_len(0).expect("truncate");

    match publish(&mut writer, 2) {
        Err(PublishError::SegmentLost { segment }) => assert_eq!(segment, namespace.rgb_segment()),
        other => panic!("the writer did not notice: {other:?}"),
    }
    match reader.wait_next(&mut frame, Duration::from_secs(5)) {
        Err(ReadError::SegmentLost { segment }) => assert_eq!(segment, namespace.rgb_segment()),
        other => panic!("the reader did not notice: {other:?}"),
    }
    // New segments work again.
    let mut writer = writer.replace(Geometry::rgbd(64, 48)).expect("replace");
    let mut reader = Reader::open_waiting(&namespace, Duration::from_secs(5)).expect("reopen");
    publish(&mut writer, 3).expect("publish on new segments");
    assert!(reader
        .wait_next(&mut frame, Duration::from_secs(5))
        .expect("read"));
    assert_eq!(frame.frame_number(), 3);
}

#[test]
fn a_latest_word_naming_no_frame_does_not_make_readers_spin() {
    let namespace = unique_namespace("spin");
    let mut writer =
        Writer::create(WriterConfig::new(namespace.clone(), Geometry::rgbd(64, 48))).expect("w");
    publish(&mut writer, 1).expect("publish");
    let mut reader = Reader::open(&namespace).expect("reader");
    let poke = Poke::control(&namespace);
    poke.u64_at(OFF_LATEST).store(u64::MAX, Ordering::Release);

    let mut frame = FrameBuf::new();
    let (cpu_before, wall_before) = (thread_cpu_time(), Instant::now());
    let read = reader.wait_next(&mut frame, Duration::from_secs(1));
    let (cpu, wall) = (thread_cpu_time() - cpu_before, wall_before.elapsed());
    assert!(matches!(read, Ok(false)), "{read:?}");
    // Spinning takes the whole second of CPU; waiting takes next to none. CPU time only
    // shrinks on a loaded machine, so the bound holds there too.
    assert!(
        cpu < wall / 4,
        "the reader burnt {cpu:?} of CPU in {wall:?} waiting for a frame that cannot come"
    );
    drop(writer);
}

#[test]
fn status_and_cleanup_agree_on_a_writer_in_an_unknown_state() {
    let namespace = unique_namespace("unk");
    let writer =
        Writer::create(WriterConfig::new(namespace.clone(), Geometry::rgbd(64, 48))).expect("w");
    let poke = Poke::control(&namespace);
    // A newer protocol's state, written by a live process (this one).
    poke.u32_at(OFF_STATE).store(77, Ordering::Release);
    let report = shmproto::inspect(&namespace);
    assert!(
        !report.is_stale(),
        "status called a live writer's segments stale"
    );
    assert!(
        matches!(
            shmproto::remove_stale(&namespace),
            Err(shmproto::CreateError::WriterAlive { .. })
        ),
        "cleanup must refuse too"
    );
    poke.u32_at(OFF_STATE).store(1, Ordering::Release);
    drop(writer);
}

#[test]
fn a_bad_status_record_is_named_as_such() {
    let namespace = unique_namespace("stat");
    let _writer =
        Writer::create(WriterConfig::new(namespace.clone(), Geometry::rgbd(64, 48))).expect("w");
    let poke = Poke::control(&namespace);
    let garbage = b"{\"state\": [[[[";
    // An even sequence, the length, then the bytes (protocol.md, section 11).
    poke.u64_at(STATUS_RECORD).store(2, Ordering::Release);
    poke.u32_at(STATUS_RECORD + 8)
        .store(garbage.len() as u32, Ordering::Release);
    poke.write(STATUS_RECORD + 64, garbage);
    let reader = Reader::open(&namespace).expect("reader");
    let error = reader.writer_status().expect_err("garbage accepted");
    assert!(matches!(error, ReadError::Status(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("writer status"), "{message}");
    assert!(!message.contains("frame metadata"), "{message}");
    // Opening is not affected by it.
    assert!(!matches!(
        Reader::open(&namespace),
        Err(OpenError::Invalid { .. })
    ));
}

/// The guard takes only faults on segment mappings: a SIGBUS anywhere else still ends the
/// process, as it would without the guard.
#[cfg(target_os = "linux")]
#[test]
fn a_fault_outside_the_segments_still_ends_the_process() {
    use std::os::unix::process::ExitStatusExt;
    let namespace = unique_namespace("fault");
    let output = common::spawn_stress(&["fault-elsewhere", "--namespace", namespace.as_str()])
        .wait_with_output()
        .expect("run the child");
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGBUS),
        "the fault was swallowed: {:?} {}",
        output.status,
        String::from_utf8_lossy(&output.stdout)
    );
    // The writer died with its segments in place: a new one reclaims them.
    drop(Writer::create(WriterConfig::new(namespace, Geometry::rgbd(64, 48))).expect("reclaim"));
}
