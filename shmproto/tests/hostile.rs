//! What another process can do to a namespace's files, and what readers and writers make of
//! it: a FIFO under a segment's name, a segment truncated under its mappings, a `latest` word
//! naming no frame, a state word of a newer protocol, a status record that is not JSON; and
//! the same for the detections segment: garbage, a FIFO, another user's segment, a result
//! that is not JSON.
//! Offsets are the ones docs/protocol.md gives, poked through a mapping of our own.

use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod common;

use common::unique_namespace;
use shared_memory::ShmemConf;
use shmproto::{
    DetectionsReader, DetectionsWriter, DetectionsWriterConfig, FrameBuf, FrameMetadata, Geometry,
    Namespace, OpenError, PublishError, ReadError, Reader, SegmentError, SourceKind, Writer,
    WriterConfig,
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

// --- The detections segment ------------------------------------------------------------------
//
// Hand-made detections segments, built from docs/protocol.md, section 19 (not with shmproto's
// writer): this process plays a live writer (its pid, a fresh heartbeat, state LIVE).

/// The detections segment's layout for `DET_SLOTS` slots of `DET_CAPACITY` bytes.
const DET_SLOTS: u32 = 2;
const DET_CAPACITY: u32 = 4096;
const DET_DATA_OFFSET: usize = 256 + 64 * DET_SLOTS as usize;
const OFF_HEARTBEAT: usize = 72;
const OFF_WAKE: usize = 96;
const OFF_RESULT_CAPACITY: usize = 100;

/// A valid, live-looking detections segment with no result yet.
fn detections_bytes() -> Vec<u8> {
    let total = DET_DATA_OFFSET + DET_SLOTS as usize * DET_CAPACITY as usize;
    let mut bytes = vec![0u8; total];
    bytes[..8].copy_from_slice(b"AAACAMv1");
    bytes[8..10].copy_from_slice(&1u16.to_le_bytes()); // version_major
    bytes[10..12].copy_from_slice(&2u16.to_le_bytes()); // version_minor
    bytes[12..16].copy_from_slice(&4u32.to_le_bytes()); // kind: detections
    bytes[16..24].copy_from_slice(&0x5eed_u64.to_le_bytes()); // session_id
    bytes[24..28].copy_from_slice(&(DET_DATA_OFFSET as u32).to_le_bytes());
    bytes[28..32].copy_from_slice(&DET_SLOTS.to_le_bytes());
    bytes[32..40].copy_from_slice(&u64::from(DET_CAPACITY).to_le_bytes()); // slot_stride
    bytes[40..48].copy_from_slice(&(total as u64).to_le_bytes());
    bytes[OFF_STATE..OFF_STATE + 4].copy_from_slice(&1u32.to_le_bytes()); // LIVE
    bytes[68..72].copy_from_slice(&std::process::id().to_le_bytes()); // writer_pid
    bytes[OFF_HEARTBEAT..OFF_HEARTBEAT + 8]
        .copy_from_slice(&shmproto::monotonic_now_ns().to_le_bytes());
    bytes[OFF_RESULT_CAPACITY..OFF_RESULT_CAPACITY + 4]
        .copy_from_slice(&DET_CAPACITY.to_le_bytes());
    bytes
}

fn detections_open_error(namespace: &Namespace) -> OpenError {
    match DetectionsReader::open(namespace) {
        Ok(_) => panic!("a hostile detections segment was accepted"),
        Err(error) => error,
    }
}

#[test]
fn hostile_detections_segments_are_refused_with_the_segment_named() {
    let namespace = unique_namespace("dhost");
    let name = namespace.detections_segment();
    // The hand-made segment itself is accepted: the cases below fail for their one defect.
    {
        let _segment = common::raw_segment(&name, &detections_bytes());
        let reader = DetectionsReader::open(&namespace).expect("the valid hand-made segment");
        assert!(reader.liveness().is_live());
    }
    let mut bad_version = detections_bytes();
    bad_version[8] = 2;
    let mut frame_kind = detections_bytes();
    frame_kind[12] = 1;
    let mut no_capacity = detections_bytes();
    no_capacity[OFF_RESULT_CAPACITY..OFF_RESULT_CAPACITY + 4].fill(0);
    let truncated = detections_bytes()[..DET_DATA_OFFSET + 100].to_vec();
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("noise", common::noise(), "bad magic"),
        (
            "version",
            bad_version,
            "unsupported protocol version: expected 1.x, found 2.2",
        ),
        (
            "kind",
            frame_kind,
            "wrong segment kind: expected 4, found 1",
        ),
        (
            "capacity",
            no_capacity,
            "field result_capacity: expected 1024..=1048576, found 0",
        ),
        (
            "truncated",
            truncated,
            "too small: expected at least 8576 bytes, found 484",
        ),
    ];
    for (case, bytes, problem) in cases {
        let _segment = common::raw_segment(&name, &bytes);
        let error = detections_open_error(&namespace);
        assert!(
            matches!(error, OpenError::Invalid { .. }),
            "{case}: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "shared-memory segment {name} is invalid: {problem}"
            )),
            "{case}: {message}"
        );
    }
    // A writer takes the name over from such garbage.
    let _segment = common::raw_segment(&name, &common::noise());
    let writer = DetectionsWriter::create(DetectionsWriterConfig::new(namespace.clone()))
        .expect("reclaim garbage");
    assert!(
        writer
            .reclaimed()
            .is_some_and(|what| what.contains("bad magic")),
        "{:?}",
        writer.reclaimed()
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_fifo_under_the_detections_name_is_refused_at_once_and_replaced_by_a_writer() {
    let namespace = unique_namespace("dfifo");
    let path = Path::new("/dev/shm").join(namespace.detections_segment());
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    // A blocking open would wait here for a writer of the FIFO for ever.
    let (sender, result) = std::sync::mpsc::channel();
    let opener = namespace.clone();
    std::thread::spawn(move || {
        let _ = sender.send(DetectionsReader::open(&opener).err().map(|e| e.to_string()));
    });
    let error = result.recv_timeout(Duration::from_secs(30));
    let error = error.expect("opening a FIFO blocked").unwrap_or_default();
    assert!(
        error.contains("is not a regular file but a FIFO"),
        "a FIFO was not refused clearly: {error}"
    );
    let writer = DetectionsWriter::create(DetectionsWriterConfig::new(namespace.clone()))
        .expect("a writer replaces the FIFO");
    assert!(
        writer.reclaimed().is_some_and(|what| what.contains("FIFO")),
        "{:?}",
        writer.reclaimed()
    );
    assert!(DetectionsReader::open(&namespace).is_ok());
}

/// Gives a segment to `uid` with `mode`, through its descriptor.
fn chown_segment(name: &str, uid: u32, mode: libc::mode_t) {
    let c_name = std::ffi::CString::new(format!("/{name}")).expect("no NUL");
    // SAFETY: a valid NUL-terminated name; without O_CREAT shm_open only opens.
    let fd = unsafe { libc::shm_open(c_name.as_ptr(), libc::O_RDWR, 0) };
    assert!(fd >= 0, "shm_open {name}");
    // SAFETY: `fd` is an open descriptor of the test's own segment, closed exactly once here.
    let changed = unsafe { libc::fchown(fd, uid, uid) == 0 && libc::fchmod(fd, mode) == 0 };
    // SAFETY: as above.
    unsafe { libc::close(fd) };
    assert!(changed, "fchown/fchmod {name}");
}

/// Another user's detections segment, claiming a live writer: a root writer takes the name
/// over (it was not made by a writer of ours), and a reader of a third user refuses it.
#[test]
fn another_users_detections_segment_is_not_believed() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: needs root to make another user's segment");
        return;
    }
    use std::os::unix::process::CommandExt;
    let namespace = unique_namespace("dother");
    let name = namespace.detections_segment();
    for (mode, expected) in [
        (0o600, "permission denied on shared-memory segment"),
        (
            0o666,
            "is not trustworthy: owned by uid 12345 with mode 666",
        ),
    ] {
        let _segment = common::raw_segment(&name, &detections_bytes());
        chown_segment(&name, 12345, mode);
        // A reader running as a third user (65534).
        let output = std::process::Command::new(common::STRESS)
            .args(["read-detections", "--namespace", namespace.as_str()])
            .uid(65534)
            .gid(65534)
            .output()
            .expect("run the reader as uid 65534");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&name) && stderr.contains(expected),
            "mode {mode:o}: {stderr}"
        );
    }
    let _segment = common::raw_segment(&name, &detections_bytes());
    chown_segment(&name, 12345, 0o600);
    let writer = DetectionsWriter::create(DetectionsWriterConfig::new(namespace.clone()))
        .expect("a root writer takes over another user's fake live segment");
    let reclaimed = writer.reclaimed().unwrap_or_default();
    assert!(
        reclaimed.contains("belongs to uid 12345, not to a writer of ours"),
        "{reclaimed}"
    );
}

#[test]
fn a_malformed_result_is_a_typed_error_once_and_reading_goes_on() {
    let namespace = unique_namespace("djson");
    let mut config = DetectionsWriterConfig::new(namespace.clone());
    (config.slot_count, config.result_capacity) = (DET_SLOTS, DET_CAPACITY);
    let mut writer = DetectionsWriter::create(config).expect("writer");
    writer
        .publish(&shmproto::test_pattern::detection_result(1))
        .expect("publish");
    let mut reader = DetectionsReader::open(&namespace).expect("reader");
    assert_eq!(
        reader.read_latest().expect("read").map(|p| p.publish_seq),
        Some(1)
    );

    // A hostile process of the same user publishes #2 into slot 1, as section 7.2 says, with
    // a body that is not a detection result.
    let poke = Poke(
        ShmemConf::new()
            .os_id(namespace.detections_segment())
            .open()
            .expect("map the detections segment"),
    );
    let publish_garbage = |publish_seq: u64, frame_number: u64, json: &[u8], len: u32| {
        let slot = (publish_seq - 1) as usize % DET_SLOTS as usize;
        let record = 256 + 64 * slot;
        let seq = poke.u64_at(record).load(Ordering::Relaxed);
        poke.u64_at(record).store(seq + 1, Ordering::Release);
        poke.write(DET_DATA_OFFSET + slot * DET_CAPACITY as usize, json);
        poke.u64_at(record + 8)
            .store(publish_seq, Ordering::Relaxed);
        poke.u64_at(record + 16)
            .store(frame_number, Ordering::Relaxed);
        poke.u32_at(record + 48).store(len, Ordering::Relaxed);
        poke.u64_at(record).store(seq + 2, Ordering::Release);
        poke.u64_at(OFF_LATEST)
            .store(publish_seq, Ordering::Release);
        poke.u32_at(OFF_WAKE).fetch_add(1, Ordering::Release);
    };
    let garbage = b"{\"frame_number\": 2, \"detections\": [[[[";
    publish_garbage(2, 2, garbage, garbage.len() as u32);
    let error = reader
        .wait_next(Duration::from_secs(5))
        .expect_err("garbage accepted");
    assert!(matches!(error, ReadError::Detections { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "detection result in shared-memory segment {} is not valid",
            namespace.detections_segment()
        )),
        "{message}"
    );
    // Reported once: the reader then waits for the next result instead of failing again.
    assert_eq!(
        reader.read_latest().expect("read").map(|p| p.publish_seq),
        Some(1),
        "the last good result stays the newest"
    );
    assert_eq!(
        reader.wait_next(Duration::from_millis(50)).expect("wait"),
        None
    );

    // A length beyond the capacity, and a slot whose frame differs from its JSON's: corrupt.
    publish_garbage(3, 3, b"{}", DET_CAPACITY + 1);
    let error = reader
        .wait_next(Duration::from_secs(5))
        .expect_err("accepted");
    assert!(
        error
            .to_string()
            .contains("result length 4097 exceeds its capacity 4096"),
        "{error}"
    );
    let json = serde_json::to_vec(&shmproto::test_pattern::detection_result(9)).expect("json");
    publish_garbage(4, 4, &json, json.len() as u32);
    let error = reader
        .wait_next(Duration::from_secs(5))
        .expect_err("accepted");
    assert!(
        error
            .to_string()
            .contains("names frame 4 but its result frame 9"),
        "{error}"
    );

    // The writer's next results read as usual (its own count is behind the poked ones).
    for n in 2..=5 {
        writer
            .publish(&shmproto::test_pattern::detection_result(n))
            .expect("publish");
    }
    let published = reader
        .wait_next(Duration::from_secs(5))
        .expect("read")
        .expect("a result");
    assert_eq!(
        published.result,
        shmproto::test_pattern::detection_result(5)
    );
}
