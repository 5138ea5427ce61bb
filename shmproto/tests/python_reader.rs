//! The Python reader (`tools/python/aaa_shm_reader.py`) against the real writer: it follows
//! docs/protocol.md closely enough to read verified frames and detection results, refuses
//! garbage with a clear error, refuses segments others may access, and never unlinks the
//! segments it opened.

use std::ffi::CString;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

mod common;

use common::{
    json_summary, noise, raw_segment, segment_exists, spawn_stress, unique_namespace, wait_ready,
};
use shared_memory::Shmem;
use shmproto::Namespace;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/python/aaa_shm_reader.py")
}

/// Whether `python3` can run at all; the tests skip (with a message) when it cannot.
fn python_available() -> bool {
    let found = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        eprintln!("skipping: python3 is not installed");
    }
    found
}

fn segment_names(namespace: &Namespace) -> [String; 3] {
    [
        namespace.rgb_segment(),
        namespace.depth_segment(),
        namespace.metadata_segment(),
    ]
}

fn run_python_reader(namespace: &Namespace, extra: &[&str]) -> Output {
    Command::new("python3")
        .arg(script())
        .args(["--namespace", namespace.as_str()])
        .args(extra)
        .output()
        .expect("run python3")
}

/// The JSON summary line the Python reader prints on stdout.
fn summary(output: &Output) -> serde_json::Value {
    json_summary(output)
}

fn spawn_writer(namespace: &Namespace) -> Child {
    let mut child = spawn_stress(&[
        "write",
        "--namespace",
        namespace.as_str(),
        "--seconds",
        "3",
        "--fps",
        "60",
    ]);
    wait_ready(&mut child);
    child
}

#[test]
fn python_reader_reads_verified_frames_from_the_real_writer() {
    if !python_available() {
        return;
    }
    let namespace = unique_namespace("py");
    let mut writer = spawn_writer(&namespace);

    let output = run_python_reader(
        &namespace,
        &["--frames", "20", "--verify-pattern", "--timeout", "5"],
    );
    let result = summary(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "python reader failed: {result} stderr {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(result["frames"], 20, "{result}");
    assert_eq!(result["failures"], 0, "{result}");
    assert_eq!(result["verified"], true, "{result}");
    let frame_numbers: Vec<u64> = result["frame_numbers"]
        .as_array()
        .expect("frame_numbers array")
        .iter()
        .filter_map(serde_json::Value::as_u64)
        .collect();
    assert_eq!(frame_numbers.len(), 20, "{result}");
    assert!(
        frame_numbers.windows(2).all(|pair| pair[0] < pair[1]),
        "frame numbers not strictly increasing: {frame_numbers:?}"
    );

    // Python's resource tracker unlinks, shortly after exit, every segment a process opened
    // unless the reader opted out. Give it time, then check the writer's segments are intact.
    std::thread::sleep(Duration::from_millis(300));
    let intact = segment_names(&namespace)
        .iter()
        .all(|name| segment_exists(name));
    let writer_running = writer.try_wait().expect("poll writer").is_none();
    assert!(
        intact || !writer_running,
        "the Python reader's exit removed the live writer's segments"
    );

    let output = writer.wait_with_output().expect("writer runs to the end");
    assert_eq!(output.status.code(), Some(0), "writer failed");
    assert!(
        !shmproto::probe(&namespace),
        "writer left its segments behind"
    );
}

#[test]
fn python_reader_refuses_garbage_and_missing_segments() {
    if !python_available() {
        return;
    }
    let namespace = unique_namespace("pyg");
    let missing = run_python_reader(&namespace, &["--wait", "0"]);
    assert_eq!(missing.status.code(), Some(2), "{:?}", missing);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains(&namespace.metadata_segment()) && stderr.contains("does not exist"),
        "{stderr}"
    );

    let noise = noise();
    let _control = raw_segment(&namespace.metadata_segment(), &noise);
    let _rgb = raw_segment(&namespace.rgb_segment(), &noise);
    let output = run_python_reader(&namespace, &["--frames", "1", "--wait", "0"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "garbage accepted: {stderr}");
    assert!(
        stderr.contains(&format!(
            "shared-memory segment {} is invalid: bad magic: expected \"AAACAMv1\"",
            namespace.metadata_segment()
        )),
        "unclear error: {stderr}"
    );
    assert!(!stderr.contains("Traceback"), "{stderr}");
    let result = summary(&output);
    assert!(result["error"].as_str().is_some(), "{result}");

    // The reader opened the garbage segment before refusing it; it must not have unlinked it.
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        segment_exists(&namespace.metadata_segment()),
        "the Python reader removed a segment it only opened"
    );
}

/// Sets a segment's mode bits, as a careless or hostile writer might.
fn chmod_segment(name: &str, mode: libc::mode_t) {
    let c_name = CString::new(format!("/{name}")).expect("segment names have no NUL byte");
    // SAFETY: `c_name` is a valid NUL-terminated string that outlives the call; without
    // O_CREAT, shm_open only opens an existing segment.
    let fd = unsafe { libc::shm_open(c_name.as_ptr(), libc::O_RDWR, 0) };
    assert!(
        fd >= 0,
        "shm_open {name}: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: `fd` is an open descriptor of a segment this test created or its writer child
    // created; fchmod only changes its mode.
    let result = unsafe { libc::fchmod(fd, mode) };
    let error = std::io::Error::last_os_error();
    // SAFETY: `fd` was returned by shm_open above and is closed exactly once, here.
    unsafe { libc::close(fd) };
    assert_eq!(result, 0, "fchmod {name}: {error}");
}

/// What the Rust reader says about the namespace, which the Python reader must repeat.
fn rust_open_error(namespace: &Namespace) -> String {
    match shmproto::Reader::open(namespace) {
        Ok(_) => panic!("the Rust reader accepted segments others may access"),
        Err(error) => error.to_string(),
    }
}

fn assert_refused_as_untrusted(output: &Output, segment: &str, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "untrusted segment accepted: {stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "shared-memory segment {segment} is not trustworthy"
        )),
        "unclear error: {stderr}"
    );
    assert!(
        stderr.contains(expected),
        "the Python reader says {stderr:?}, the Rust reader {expected:?}"
    );
    assert!(!stderr.contains("Traceback"), "{stderr}");
    let result = summary(output);
    assert!(
        result["error"]
            .as_str()
            .is_some_and(|error| error.contains("not trustworthy")),
        "{result}"
    );
}

#[test]
fn python_reader_refuses_segments_others_may_access() {
    if !python_available() {
        return;
    }
    // A control segment anyone may read: refused before its bytes are even looked at.
    let namespace = unique_namespace("pyt");
    let control_name = namespace.metadata_segment();
    let _control = raw_segment(&control_name, &[0u8; 4096]);
    chmod_segment(&control_name, 0o644);
    let expected = rust_open_error(&namespace);
    assert!(expected.contains("with mode 644"), "{expected}");
    let output = run_python_reader(&namespace, &["--frames", "1", "--wait", "0"]);
    assert_refused_as_untrusted(&output, &control_name, &expected);

    // A real writer whose colour segment became group-readable: every segment is checked,
    // not only the control segment.
    let namespace = unique_namespace("pyt2");
    let writer = spawn_writer(&namespace);
    let rgb_name = namespace.rgb_segment();
    chmod_segment(&rgb_name, 0o640);
    let expected = rust_open_error(&namespace);
    let output = run_python_reader(&namespace, &["--frames", "1", "--wait", "0"]);
    assert_refused_as_untrusted(&output, &rgb_name, &expected);
    let output = writer.wait_with_output().expect("writer runs to the end");
    assert_eq!(output.status.code(), Some(0), "writer failed");
    // The writer distrusts the segment it no longer recognises and leaves it; remove it.
    let c_name = CString::new(format!("/{rgb_name}")).expect("segment names have no NUL byte");
    // SAFETY: `c_name` is a valid NUL-terminated string that outlives the call. A failure
    // (the writer removed the segment after all) is fine.
    unsafe { libc::shm_unlink(c_name.as_ptr()) };
}

// --- Hand-made segments ---------------------------------------------------------------------
//
// Built byte by byte from docs/protocol.md, section 5 (not with shmproto's writer), so that a
// test can put there what no correct writer would: a `latest` word naming a frame no slot
// holds, a status or metadata JSON nested 100 000 levels deep. This test process plays the
// writer: its pid is `writer_pid`, and a thread stamps the heartbeat, so the reader judges it
// live (docs/protocol.md, section 12).

const HAND_MADE_WIDTH: u32 = 8;
const HAND_MADE_HEIGHT: u32 = 4;
const HAND_MADE_SLOTS: u32 = 4;
/// Room for 100 000 nested brackets, in the frame metadata and in the status record.
const HAND_MADE_JSON_CAPACITY: u32 = 128 * 1024;
const SLOT_TABLE_OFFSET: usize = 256;
const OFF_STATE: usize = 64;
const OFF_HEARTBEAT: usize = 72;
const OFF_LATEST: usize = 88;
const OFF_WAKE: usize = 96;

fn align_up(value: usize, align: usize) -> usize {
    value.div_ceil(align) * align
}

fn monotonic_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for clock_gettime to fill.
    let result = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    assert_eq!(result, 0, "clock_gettime");
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// Stores `value` at `offset` of a mapping as one atomic store, as a writer does.
///
/// # Safety
/// `base + offset` must lie in a live mapping and be 8-byte aligned.
unsafe fn store_u64(base: *mut u8, offset: usize, value: u64) {
    // SAFETY: the caller guarantees a live, aligned address; other processes only load it.
    unsafe { std::sync::atomic::AtomicU64::from_ptr(base.add(offset).cast()) }
        .store(value, std::sync::atomic::Ordering::Release);
}

/// The 64-byte common header (docs/protocol.md, section 5.1).
fn common_header(kind: u32, data_offset: usize, slot_stride: usize) -> Vec<u8> {
    let mut header = Vec::with_capacity(64);
    header.extend_from_slice(b"AAACAMv1");
    header.extend_from_slice(&1u16.to_le_bytes()); // version_major
    header.extend_from_slice(&1u16.to_le_bytes()); // version_minor
    header.extend_from_slice(&kind.to_le_bytes());
    header.extend_from_slice(&0x5eed_7e57_5eed_7e57_u64.to_le_bytes()); // session_id
    header.extend_from_slice(&(data_offset as u32).to_le_bytes());
    header.extend_from_slice(&HAND_MADE_SLOTS.to_le_bytes());
    header.extend_from_slice(&(slot_stride as u64).to_le_bytes());
    let total_len = data_offset + HAND_MADE_SLOTS as usize * slot_stride;
    header.extend_from_slice(&(total_len as u64).to_le_bytes());
    header.resize(64, 0);
    header
}

/// A LIVE colour-only writer session made by hand: the control segment, the colour segment
/// (unless `with_colour` is false) and a heartbeat thread. Removes its segments when dropped.
struct HandMadeWriter {
    control: Shmem,
    _colour: Option<Shmem>,
    status_offset: usize,
    metadata_offset: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    heartbeat: Option<std::thread::JoinHandle<()>>,
}

impl HandMadeWriter {
    fn create(namespace: &Namespace, with_colour: bool) -> Self {
        let capacity = HAND_MADE_JSON_CAPACITY as usize;
        let status_offset = SLOT_TABLE_OFFSET + 64 * HAND_MADE_SLOTS as usize;
        let metadata_offset = align_up(status_offset + 64 + capacity, 64);
        let metadata_stride = align_up(capacity, 64);
        let mut control = common_header(1, metadata_offset, metadata_stride);
        control.resize(
            metadata_offset + HAND_MADE_SLOTS as usize * metadata_stride,
            0,
        );
        let mut put_u32 = |offset: usize, value: u32| {
            control[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
        };
        put_u32(68, std::process::id()); // writer_pid
        put_u32(100, HAND_MADE_WIDTH);
        put_u32(104, HAND_MADE_HEIGHT);
        put_u32(108, 1); // color_format rgb8
        put_u32(112, HAND_MADE_WIDTH * 3); // color_stride
        put_u32(116, 0); // depth_format none
        put_u32(120, 0); // depth_stride
        put_u32(124, HAND_MADE_JSON_CAPACITY); // metadata_capacity
        put_u32(128, HAND_MADE_JSON_CAPACITY); // status_capacity
        control[OFF_HEARTBEAT..OFF_HEARTBEAT + 8].copy_from_slice(&monotonic_ns().to_le_bytes());
        let control = raw_segment(&namespace.metadata_segment(), &control);

        let colour = with_colour.then(|| {
            let plane_len = (HAND_MADE_WIDTH * HAND_MADE_HEIGHT * 3) as usize;
            let stride = align_up(plane_len, 4096);
            let mut colour = common_header(2, 4096, stride);
            colour.resize(4096 + HAND_MADE_SLOTS as usize * stride, 0);
            raw_segment(&namespace.rgb_segment(), &colour)
        });

        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        // The address as an integer: `Shmem` is not `Send`. The thread is joined in `drop`,
        // before the mapping goes away.
        let base = control.as_ptr() as usize;
        let heartbeat = std::thread::spawn({
            let stop = stop.clone();
            move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    // SAFETY: the control mapping outlives this thread (joined in `drop`);
                    // offset 72 is 8-byte aligned in a page-aligned mapping.
                    unsafe { store_u64(base as *mut u8, OFF_HEARTBEAT, monotonic_ns()) };
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        });
        let writer = HandMadeWriter {
            control,
            _colour: colour,
            status_offset,
            metadata_offset,
            stop,
            heartbeat: Some(heartbeat),
        };
        // Everything above is in place: go LIVE (section 7.1, step 7).
        // SAFETY: offset 64 is inside the mapping and 4-byte aligned.
        unsafe { std::sync::atomic::AtomicU32::from_ptr(writer.at(OFF_STATE, 4).cast()) }
            .store(1, std::sync::atomic::Ordering::Release);
        writer
    }

    /// The address of `len` bytes at `offset` of the control segment.
    fn at(&self, offset: usize, len: usize) -> *mut u8 {
        assert!(
            offset + len <= self.control.len(),
            "{len} bytes at {offset} are outside the control segment"
        );
        // SAFETY: checked just above to lie inside the mapping.
        unsafe { self.control.as_ptr().add(offset) }
    }

    fn store(&self, offset: usize, value: u64) {
        assert_eq!(offset % 8, 0, "unaligned u64 offset {offset}");
        // SAFETY: `at` checked that the 8 bytes lie inside the mapping; they are 8-byte
        // aligned (checked above) in a page-aligned mapping.
        unsafe { store_u64(self.at(offset, 8), 0, value) };
    }

    fn copy_in(&self, offset: usize, bytes: &[u8]) {
        let target = self.at(offset, bytes.len());
        // SAFETY: `at` checked that the range lies inside the mapping; the reader only reads
        // it, and nothing else in this process writes it.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), target, bytes.len()) };
    }

    /// Publishes frame 1 into slot 0 with this metadata JSON (the colour plane stays zero),
    /// as section 7.2 does it.
    fn publish_first(&self, metadata: &[u8]) {
        assert!(metadata.len() <= HAND_MADE_JSON_CAPACITY as usize);
        let record = SLOT_TABLE_OFFSET;
        self.store(record, 1); // seq odd: being written
        self.copy_in(self.metadata_offset, metadata);
        self.store(record + 8, 1); // publish_seq
        self.store(record + 16, 1); // frame_number
        self.store(record + 24, 1); // capture_wall_ns
        self.store(record + 32, 1); // capture_mono_ns
        self.store(record + 40, monotonic_ns()); // publish_mono_ns
        self.store(record + 48, metadata.len() as u64); // metadata_len (u32), then reserved
        self.store(record, 2); // seq even: complete
        self.store(OFF_LATEST, 1);
        self.bump_wake();
    }

    fn bump_wake(&self) {
        // SAFETY: offset 96 is inside the mapping and 4-byte aligned.
        unsafe { std::sync::atomic::AtomicU32::from_ptr(self.at(OFF_WAKE, 4).cast()) }
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// Writes the status record (section 7.3) with these bytes as its JSON.
    fn set_status(&self, json: &[u8]) {
        assert!(json.len() <= HAND_MADE_JSON_CAPACITY as usize);
        // SAFETY: the status record's sequence word is inside the mapping, 8-byte aligned.
        let seq = unsafe {
            std::sync::atomic::AtomicU64::from_ptr(self.at(self.status_offset, 8).cast())
        };
        let before = seq.load(std::sync::atomic::Ordering::Relaxed);
        seq.store(before + 1, std::sync::atomic::Ordering::Release);
        self.copy_in(self.status_offset + 64, json);
        self.store(self.status_offset + 8, json.len() as u64); // status_len and reserved
        seq.store(before + 2, std::sync::atomic::Ordering::Release);
    }
}

impl Drop for HandMadeWriter {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.join().expect("heartbeat thread");
        }
    }
}

/// A valid frame-metadata JSON (docs/protocol.md, section 10) for frame 1.
const FRAME_1_METADATA: &str = r#"{"frame_number":1,"capture_wall_ns":1,"capture_mono_ns":1,"fps":30.0,"source_kind":"other","source_description":"hand-made","depth_aligned_to_color":false}"#;

/// A valid writer status (docs/protocol.md, section 11).
const STREAMING_STATUS: &str = r#"{"state":"streaming","message":null,"source_kind":"other","source_description":"hand-made","updated_wall_ns":1,"extra":null}"#;

/// How a run of the Python reader ended, with the CPU time it used.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    wall: Duration,
    cpu: Duration,
    killed: bool,
}

impl Run {
    fn summary(&self) -> serde_json::Value {
        let line = self.stdout.lines().last().unwrap_or_default();
        serde_json::from_str(line).unwrap_or_else(|_| {
            panic!(
                "no JSON summary: stdout {:?} stderr {:?}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs the Python reader, killing it after `limit`, and measures its wall and CPU time
/// (user + system, from `wait4`: this child's alone, whatever else the test process runs).
// The child is reaped by `wait4`, not by `Child::wait`, which cannot report its CPU time.
#[allow(clippy::zombie_processes)]
fn run_python_reader_bounded(namespace: &Namespace, extra: &[&str], limit: Duration) -> Run {
    use std::io::Read;

    let started = std::time::Instant::now();
    let mut child = Command::new("python3")
        .arg(script())
        .args(["--namespace", namespace.as_str()])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr piped")));
    let pid = child.id() as libc::pid_t;
    let mut killed = false;
    let mut status = 0;
    // SAFETY: rusage is plain data; all-zero is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is this process's child, not reaped yet (only this loop reaps it);
        // `status` and `usage` are valid for writing.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            break;
        }
        assert_eq!(reaped, 0, "wait4: {}", std::io::Error::last_os_error());
        if !killed && started.elapsed() > limit {
            child.kill().expect("kill the python reader");
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let wall = started.elapsed();
    let seconds = |time: libc::timeval| {
        Duration::from_secs(time.tv_sec as u64) + Duration::from_micros(time.tv_usec as u64)
    };
    Run {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
        wall,
        cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        killed,
    }
}

/// Removes a file in /dev/shm when dropped (also when the test fails).
#[cfg(target_os = "linux")]
struct RemoveOnDrop(PathBuf);

#[cfg(target_os = "linux")]
impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(target_os = "linux")]
fn mkfifo(path: &std::path::Path) -> RemoveOnDrop {
    let c_path = CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL in the path");
    // SAFETY: `c_path` is a valid NUL-terminated path that outlives the call.
    let result = unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) };
    assert_eq!(
        result,
        0,
        "mkfifo {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
    RemoveOnDrop(path.to_owned())
}

/// A FIFO planted at a segment's path made the reader block for ever in `open` (waiting for
/// a process to open the FIFO for writing). It must refuse it at once, saying what it found.
#[cfg(target_os = "linux")]
#[test]
fn python_reader_refuses_a_fifo_at_a_segment_path_without_hanging() {
    if !python_available() {
        return;
    }
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    // The colour segment's path (behind a valid LIVE control segment, so that the reader gets
    // that far), then the control segment's path (the first one the reader opens).
    let namespace = unique_namespace("pyfifo");
    let _writer = HandMadeWriter::create(&namespace, false);
    let colour_path = PathBuf::from("/dev/shm").join(namespace.rgb_segment());
    let control_namespace = unique_namespace("pyfifc");
    let control_path = PathBuf::from("/dev/shm").join(control_namespace.metadata_segment());
    for (namespace, segment, path) in [
        (&namespace, namespace.rgb_segment(), colour_path),
        (
            &control_namespace,
            control_namespace.metadata_segment(),
            control_path,
        ),
    ] {
        let _fifo = mkfifo(&path);
        let run = run_python_reader_bounded(
            namespace,
            &["--frames", "1", "--wait", "0", "--timeout", "1"],
            Duration::from_secs(20),
        );
        assert!(
            !run.killed,
            "the reader hung on the FIFO at {} (killed after {:?}); stderr {:?}",
            path.display(),
            run.wall,
            run.stderr
        );
        assert_eq!(run.code, Some(2), "stderr {:?}", run.stderr);
        assert!(run.wall < Duration::from_secs(10), "took {:?}", run.wall);
        let expected = format!(
            "shared-memory segment {segment} is not a regular file: {} is a FIFO (named pipe) \
             owned by uid {uid}",
            path.display()
        );
        assert!(run.stderr.contains(&expected), "stderr {:?}", run.stderr);
        if let Some(name) = shmproto::runtime_dir::user_name(uid) {
            assert!(
                run.stderr.contains(&format!("uid {uid} ({name})")),
                "{}",
                run.stderr
            );
        }
        assert!(!run.stderr.contains("Traceback"), "{}", run.stderr);
        let result = run.summary();
        assert!(
            result["error"]
                .as_str()
                .is_some_and(|error| error.contains("is not a regular file")),
            "{result}"
        );
    }
}

/// A writer whose `latest` word names a frame that no slot holds (here 2^64 - 1, in a slot
/// that holds nothing) made every read fail its 64 attempts and the reader retry at once,
/// millions of times, at 100 % CPU until its timeout. It must wait politely instead.
#[test]
fn python_reader_backs_off_when_latest_names_no_frame() {
    if !python_available() {
        return;
    }
    let namespace = unique_namespace("pyspin");
    let writer = HandMadeWriter::create(&namespace, true);
    writer.store(OFF_LATEST, u64::MAX);
    writer.bump_wake();

    let run = run_python_reader_bounded(
        &namespace,
        &["--frames", "1", "--wait", "0", "--timeout", "2"],
        Duration::from_secs(30),
    );
    drop(writer);
    assert!(
        !run.killed,
        "the reader outlived its timeout: {:?}",
        run.stderr
    );
    assert!(!run.stderr.contains("Traceback"), "{}", run.stderr);
    // It waited for its whole timeout (the writer stayed live), and not much longer.
    assert_eq!(run.code, Some(1), "stderr {:?}", run.stderr);
    assert!(
        run.wall >= Duration::from_secs(2) && run.wall < Duration::from_secs(20),
        "took {:?}",
        run.wall
    );
    // A spinning reader uses a whole core for its 2 s timeout, or its fair share of one on a
    // loaded machine (the script before the fix: 98 % on an idle 2-core machine). A polite
    // one sleeps; the interpreter's start is a fraction of that. Load only lowers the CPU
    // share of a process, so this upper bound cannot fail because the machine is busy.
    let share = run.cpu.as_secs_f64() / run.wall.as_secs_f64();
    eprintln!(
        "python reader: {:?} of CPU in {:?} ({:.1} %)",
        run.cpu,
        run.wall,
        share * 100.0
    );
    assert!(
        share < 0.3,
        "the reader used {:?} of CPU in {:?} ({:.0} %): it spins",
        run.cpu,
        run.wall,
        share * 100.0
    );
    let result = run.summary();
    let error = result["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("no new frame within 2") && error.contains(&u64::MAX.to_string()),
        "unclear error: {result}"
    );
}

/// 100 000 nested `[` in the writer status made the reader die of an uncaught RecursionError
/// (exit status 1, a traceback). Bad bytes from shared memory are exit status 2, with the
/// record named.
#[test]
fn python_reader_reports_a_deeply_nested_writer_status() {
    if !python_available() {
        return;
    }
    let namespace = unique_namespace("pynest");
    let writer = HandMadeWriter::create(&namespace, true);
    writer.publish_first(FRAME_1_METADATA.as_bytes());
    writer.set_status(&[b'['; 100_000]);

    let run = run_python_reader_bounded(
        &namespace,
        &["--frames", "1", "--wait", "0", "--timeout", "2"],
        Duration::from_secs(20),
    );
    assert!(!run.stderr.contains("Traceback"), "{}", run.stderr);
    assert_eq!(run.code, Some(2), "stderr {:?}", run.stderr);
    let expected = format!(
        "writer status (shared-memory segment {}) is not valid: JSON nested too deeply",
        namespace.metadata_segment()
    );
    assert!(run.stderr.contains(&expected), "stderr {:?}", run.stderr);
    let result = run.summary();
    assert_eq!(result["frames"], 1, "{result}");
    assert!(
        result["error"]
            .as_str()
            .is_some_and(|error| error.contains(&expected)),
        "{result}"
    );
}

/// A writer status that is not JSON, or not a status, is reported as such: exit status 2 and
/// a message naming the writer-status record (not "frame metadata"). A valid one is shown.
#[test]
fn python_reader_names_the_writer_status_when_it_is_invalid() {
    if !python_available() {
        return;
    }
    let namespace = unique_namespace("pystat");
    let writer = HandMadeWriter::create(&namespace, true);
    writer.publish_first(FRAME_1_METADATA.as_bytes());
    let args = ["--frames", "1", "--wait", "0", "--timeout", "2"];

    writer.set_status(STREAMING_STATUS.as_bytes());
    let run = run_python_reader_bounded(&namespace, &args, Duration::from_secs(20));
    let result = run.summary();
    assert_eq!(run.code, Some(0), "{result} stderr {:?}", run.stderr);
    assert_eq!(result["frames"], 1, "{result}");
    assert_eq!(result["writer_status"], "streaming", "{result}");

    let record = format!(
        "writer status (shared-memory segment {}) is not valid",
        namespace.metadata_segment()
    );
    for (status, problem) in [
        (r#"{"state": "streaming", "mess"#, "not JSON"),
        (r#"["streaming"]"#, "not a JSON object"),
        (
            r#"{"state":"dancing","message":null,"source_kind":"other","source_description":"x","updated_wall_ns":1}"#,
            "field state has an invalid value 'dancing'",
        ),
    ] {
        writer.set_status(status.as_bytes());
        let run = run_python_reader_bounded(&namespace, &args, Duration::from_secs(20));
        assert!(!run.stderr.contains("Traceback"), "{}", run.stderr);
        assert_eq!(
            run.code,
            Some(2),
            "status {status:?}: stderr {:?}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&format!("{record}: {problem}")),
            "status {status:?}: stderr {:?}",
            run.stderr
        );
        assert!(!run.stderr.contains("frame metadata"), "{}", run.stderr);
        let result = run.summary();
        assert!(
            result["error"]
                .as_str()
                .is_some_and(|error| error.contains(&record)),
            "{result}"
        );
    }
}

/// 100 000 nested `[` as a frame's metadata: that frame fails verification (exit status 1,
/// like any frame whose metadata is not valid), with the record named, and no traceback.
#[test]
fn python_reader_reports_deeply_nested_frame_metadata() {
    if !python_available() {
        return;
    }
    let namespace = unique_namespace("pymeta");
    let writer = HandMadeWriter::create(&namespace, true);
    writer.publish_first(&[b'['; 100_000]);

    let run = run_python_reader_bounded(
        &namespace,
        &["--frames", "1", "--wait", "0", "--timeout", "2"],
        Duration::from_secs(20),
    );
    assert!(!run.stderr.contains("Traceback"), "{}", run.stderr);
    let result = run.summary();
    assert_eq!(run.code, Some(1), "{result} stderr {:?}", run.stderr);
    assert_eq!(result["frames"], 1, "{result}");
    assert_eq!(result["failures"], 1, "{result}");
    assert_eq!(
        result["first_failure"],
        "frame 1: frame metadata is not valid: JSON nested too deeply to parse",
        "{result}"
    );
}

// --- Detections ------------------------------------------------------------------------------

/// Publishes the self-verifying results 1, 2, ... from a thread, 200 per second, until
/// stopped; returns the writer when joined.
struct DetectionsPublisher {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<shmproto::DetectionsWriter>>,
}

impl DetectionsPublisher {
    const SOURCE_SESSION: u64 = 0xc0ffee;

    fn start(mut writer: shmproto::DetectionsWriter) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let source = shmproto::SourceFrame {
                        session_id: Self::SOURCE_SESSION,
                        capture_wall_ns: n * 10,
                        capture_mono_ns: n * 20,
                    };
                    writer
                        .publish_for_frame(&shmproto::test_pattern::detection_result(n), source)
                        .expect("publish");
                    std::thread::sleep(Duration::from_millis(5));
                }
                writer
            }
        });
        DetectionsPublisher {
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> shmproto::DetectionsWriter {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .take()
            .expect("started")
            .join()
            .expect("publisher thread")
    }
}

#[test]
fn python_reader_reads_detections_from_the_real_writer() {
    if !python_available() {
        return;
    }
    let namespace = unique_namespace("pydet");
    let writer = shmproto::DetectionsWriter::create(shmproto::DetectionsWriterConfig::new(
        namespace.clone(),
    ))
    .expect("detections writer");
    let publisher = DetectionsPublisher::start(writer);
    let output = run_python_reader(
        &namespace,
        &[
            "--detections",
            "--frames",
            "20",
            "--verify-pattern",
            "--timeout",
            "5",
        ],
    );
    let writer = publisher.finish();
    let result = summary(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "python reader failed: {result} stderr {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(result["results"], 20, "{result}");
    assert_eq!(result["failures"], 0, "{result}");
    assert_eq!(result["strictly_increasing"], true, "{result}");
    assert_eq!(result["writer_pid"], std::process::id(), "{result}");
    assert_eq!(
        result["session_id"],
        format!("{:#x}", writer.session_id()),
        "{result}"
    );
    // Each result line is the very result the Rust writer published, with its source frame.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 21, "20 results and the summary: {stdout}");
    for line in &lines[..20] {
        let published: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let parsed: shmproto::DetectionResult =
            serde_json::from_value(published["result"].clone()).expect("a DetectionResult");
        let n = parsed.frame_number;
        assert_eq!(parsed, shmproto::test_pattern::detection_result(n));
        assert_eq!(published["publish_seq"], n, "{line}");
        let source = &published["source_frame"];
        assert_eq!(source["session_id"], DetectionsPublisher::SOURCE_SESSION);
        assert_eq!(
            (&source["capture_wall_ns"], &source["capture_mono_ns"]),
            (&serde_json::json!(n * 10), &serde_json::json!(n * 20)),
            "{line}"
        );
    }

    // Once the writer has closed and removed its segment, the reader refuses (status 2).
    drop(writer);
    let output = run_python_reader(&namespace, &["--detections", "--wait", "0"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "shared-memory segment {} does not exist",
            namespace.detections_segment()
        )),
        "{stderr}"
    );
}

#[test]
fn python_reader_refuses_bad_detections_segments_and_results() {
    if !python_available() {
        return;
    }
    // Garbage under the name: refused at open, naming the segment.
    let namespace = unique_namespace("pydbad");
    let name = namespace.detections_segment();
    {
        let _garbage = raw_segment(&name, &noise());
        let output = run_python_reader(&namespace, &["--detections", "--wait", "0"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "shared-memory segment {name} is invalid: bad magic"
            )),
            "{stderr}"
        );
        assert!(!stderr.contains("Traceback"), "{stderr}");
    }

    // A live writer whose newest result is not a detection result (poked into its slot as a
    // hostile process of the same user could): a clear error naming the result, status 2.
    let mut config = shmproto::DetectionsWriterConfig::new(namespace.clone());
    (config.slot_count, config.result_capacity) = (2, 4096);
    let mut writer = shmproto::DetectionsWriter::create(config).expect("writer");
    writer
        .publish(&shmproto::test_pattern::detection_result(1))
        .expect("publish");
    let mapping = shared_memory::ShmemConf::new()
        .os_id(&name)
        .open()
        .expect("map the detections segment");
    let body = br#"{"frame_number":1,"frame_publish_mono_ns":1,"detector":{"format":"x"},"score_threshold":0.5,"inference_ms":1.0,"detections":[{"class_id":0,"label":"a","score":"high","box_px":[0,0,1,1]}]}"#;
    // Slot 0 holds publish 1: rewrite its JSON under the seqlock (section 7.2). The data of a
    // 2-slot ring starts at 256 + 2 * 64.
    let seq = {
        // SAFETY: offset 256 (slot 0's sequence word) is in the mapping and 8-byte aligned.
        unsafe { std::sync::atomic::AtomicU64::from_ptr(mapping.as_ptr().add(256).cast()) }
    };
    let before = seq.load(std::sync::atomic::Ordering::Relaxed);
    seq.store(before + 1, std::sync::atomic::Ordering::Release);
    // SAFETY: 384 + body.len() bytes lie inside slot 0 of the mapping; the writer is idle.
    unsafe {
        std::ptr::copy_nonoverlapping(body.as_ptr(), mapping.as_ptr().add(384), body.len());
        std::sync::atomic::AtomicU32::from_ptr(mapping.as_ptr().add(256 + 48).cast())
            .store(body.len() as u32, std::sync::atomic::Ordering::Relaxed);
    }
    seq.store(before + 2, std::sync::atomic::Ordering::Release);
    let output = run_python_reader(&namespace, &["--detections", "--wait", "0"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "detection result in shared-memory segment {name} is not valid: \
             detections[0]: field score has an invalid value 'high'"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("Traceback"), "{stderr}");
    // The Rust reader agrees that it is not a detection result.
    let mut reader = shmproto::DetectionsReader::open(&namespace).expect("open");
    assert!(matches!(
        reader.read_latest(),
        Err(shmproto::ReadError::Detections { .. })
    ));
    drop(writer);
}

#[test]
fn python_reader_accepts_frames_with_ground_truth() {
    if !python_available() {
        return;
    }
    let namespace = unique_namespace("pygt");
    let geometry = shmproto::Geometry::rgbd(16, 8);
    let mut writer =
        shmproto::Writer::create(shmproto::WriterConfig::new(namespace.clone(), geometry))
            .expect("writer");
    let mut metadata = shmproto::test_pattern::metadata(1);
    metadata.ground_truth = vec![shmproto::GroundTruthObject {
        name: "red sphere".into(),
        center_m: [-0.4, 0.1, 2.5],
        size_m: [0.5, 0.5, 0.5],
    }];
    let (rgb, depth) = (
        vec![0u8; geometry.color_len()],
        vec![0u8; geometry.depth_len()],
    );
    writer
        .publish(&rgb, Some(&depth), &metadata)
        .expect("publish");
    let output = run_python_reader(&namespace, &["--frames", "1", "--wait", "0"]);
    let result = summary(&output);
    assert_eq!(output.status.code(), Some(0), "{result}");
    assert_eq!(result["failures"], 0, "{result}");
}

/// The real daemon binary with its synthetic source, in a namespace of its own; stopped and
/// cleaned up on drop.
struct SyntheticDaemon {
    // Dropped first: the daemon stops before the fixture cleans up after it.
    _daemon: test_support::daemon::DaemonGuard,
    fixture: test_support::daemon::DaemonFixture,
}

fn spawn_synthetic_daemon(tag: &str) -> SyntheticDaemon {
    let fixture = test_support::daemon::DaemonFixture::new(
        tag,
        test_support::daemon::workspace_daemon_binary(),
    );
    let child = fixture.spawn_synthetic(&[]);
    SyntheticDaemon {
        _daemon: test_support::daemon::DaemonGuard::spawned(child),
        fixture,
    }
}

/// Docs/protocol.md Appendix C: the Python reader verifies the frame stamps of the real
/// daemon's synthetic frames (all four stamps name the slot's frame number), waiting with the
/// futex on its read-only mapping: the writer's FUTEX_WAKE reached it ("woken").
#[test]
fn python_reader_verifies_synthetic_daemon_frames_waiting_in_the_futex() {
    if !python_available() {
        return;
    }
    let daemon = spawn_synthetic_daemon("pysyn");
    // A long timeout: every frame arrives by a wake-up (or a liveness re-check), never by the
    // timeout running out.
    let output = run_python_reader(
        &daemon.fixture.namespace,
        &["--frames", "15", "--verify-synthetic", "--timeout", "60"],
    );
    let result = summary(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "python reader failed: {result} stderr {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(result["frames"], 15, "{result}");
    assert_eq!(result["failures"], 0, "{result}");
    assert_eq!(result["verified_synthetic"], true, "{result}");
    assert_eq!(result["wait"], "futex", "{result}");
    assert!(
        result["futex_waits"]["woken"].as_u64().unwrap_or(0) > 0,
        "no FUTEX_WAKE of the daemon reached the Python reader's read-only mapping: {result}"
    );

    // Forced to poll, it reads the same frames.
    let output = run_python_reader(
        &daemon.fixture.namespace,
        &[
            "--frames",
            "3",
            "--verify-synthetic",
            "--poll",
            "--timeout",
            "60",
        ],
    );
    let result = summary(&output);
    assert_eq!(output.status.code(), Some(0), "{result}");
    assert_eq!(result["wait"], "poll", "{result}");
    assert_eq!(result["futex_waits"]["woken"], 0, "{result}");
}

/// The Python stamp check refuses what `camera_sources::synthetic::verify_frame` refuses: a
/// frame whose stamps name another frame, and a stamp with a damaged bit.
#[test]
fn python_synthetic_verification_catches_wrong_and_damaged_stamps() {
    if !python_available() {
        return;
    }
    let daemon = spawn_synthetic_daemon("pystm");
    let program = r#"
import sys
sys.path.insert(0, sys.argv[1])
import aaa_shm_reader as r
with r.open_waiting(sys.argv[2], 10.0) as reader:
    frame = r.Frame()
    assert reader.wait_next(frame, 60.0), "no frame"
    assert r.verify_synthetic_of(frame) is None, r.verify_synthetic_of(frame)
    n = frame.frame_number
    frame.frame_number = n + 1
    problem = r.verify_synthetic_of(frame)
    assert problem is not None and "metadata names frame" in problem, problem
    frame.frame_number = n
    # Swap the two pixels of the last bit of the colour plane's last stamp: a readable bit,
    # the wrong checksum.
    end = len(frame.rgb)
    first, second = frame.rgb[end - 6:end - 3], frame.rgb[end - 3:end]
    frame.rgb[end - 6:end] = second + first
    problem = r.verify_synthetic_of(frame)
    assert problem is not None and "last row of the colour plane" in problem, problem
    frame.rgb[end - 6:end] = first + second
    assert r.verify_synthetic_of(frame) is None
    # Depth: a stamp of another frame number (words and checksum consistent).
    if frame.has_depth:
        other = n + 7
        words = [other & 0xFFFF, other >> 16 & 0xFFFF, other >> 32 & 0xFFFF, other >> 48, r.stamp_checksum(other)]
        frame.depth[0:10] = b"".join(w.to_bytes(2, "little") for w in words)
        problem = r.verify_synthetic_of(frame)
        assert problem == f"frame {n}: the first row of the depth plane is stamped frame {other}", problem
print("ok")
"#;
    let tools = script();
    let tools_dir = tools.parent().expect("tools/python");
    let output = Command::new("python3")
        .args(["-c", program])
        .arg(tools_dir)
        .arg(daemon.fixture.namespace.as_str())
        .output()
        .expect("run python3");
    assert!(
        output.status.success() && String::from_utf8_lossy(&output.stdout).contains("ok"),
        "stdout {} stderr {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Docs/protocol.md section 12, "A frozen writer that thaws": a daemon stopped with SIGSTOP is
/// judged HEARTBEAT_STALE; after SIGCONT the same segments are LIVE again with the same
/// session. The Rust reader kept across the verdict, and the Python reader likewise, read on
/// with their cursors: the next frame is newer than the last one returned.
#[test]
fn readers_accept_a_thawed_writer_and_keep_their_place() {
    use shmproto::{FrameBuf, Liveness, ReadError, Reader};
    if !python_available() {
        return;
    }
    let daemon = spawn_synthetic_daemon("pythaw");
    let namespace = &daemon.fixture.namespace;
    let pid = daemon._daemon.pid();

    let mut reader = Reader::open(namespace).expect("open the daemon");
    let session = reader.session_id();
    let mut frame = FrameBuf::new();
    assert!(
        reader
            .wait_next(&mut frame, Duration::from_secs(60))
            .expect("a frame"),
        "no frame"
    );
    let before = frame.publish_seq();

    daemon._daemon.signal(libc::SIGSTOP);
    // Waits (no time limit but the test's) until the frozen writer is judged stale.
    loop {
        match reader.wait_next(&mut frame, Duration::from_secs(60)) {
            Err(ReadError::WriterGone(Liveness::HeartbeatStale { .. })) => break,
            // Frames published before the stop was delivered.
            Ok(_) => {}
            Err(other) => panic!("expected HEARTBEAT_STALE, got {other}"),
        }
    }
    let last_before_stop = frame.publish_seq().max(before);
    daemon._daemon.signal(libc::SIGCONT);
    // The same Reader reads on: LIVE again, same session, and never the same frame twice.
    let read = loop {
        match reader.wait_next(&mut frame, Duration::from_secs(60)) {
            Ok(read) => break read,
            // Until the thawed writer's heartbeat is fresh again.
            Err(ReadError::WriterGone(Liveness::HeartbeatStale { .. })) => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(other) => panic!("after SIGCONT: {other}"),
        }
    };
    assert!(read, "no frame after SIGCONT");
    assert!(frame.publish_seq() > last_before_stop);
    assert_eq!(reader.session_id(), session);
    // The frame may come before the writer's next heartbeat stamp; LIVE follows.
    while !reader.liveness().is_live() {
        std::thread::sleep(Duration::from_millis(10));
    }

    // The Python reader: the same, driving the signals itself.
    let program = r#"
import os, signal, sys, time
sys.path.insert(0, sys.argv[1])
import aaa_shm_reader as r
pid = int(sys.argv[3])
with r.open_waiting(sys.argv[2], 10.0) as reader:
    frame = r.Frame()
    assert reader.wait_next(frame, 60.0), "no frame"
    session = reader.session_id
    os.kill(pid, signal.SIGSTOP)
    try:
        while True:
            try:
                reader.wait_next(frame, 60.0)
            except r.WriterGone as gone:
                assert gone.liveness.kind == "heartbeat_stale", str(gone)
                break
    finally:
        os.kill(pid, signal.SIGCONT)
    last = reader.last_returned
    while True:
        try:
            if reader.wait_next(frame, 60.0):
                break
        except r.WriterGone as gone:
            assert gone.liveness.kind == "heartbeat_stale", str(gone)
            time.sleep(0.01)
    assert frame.publish_seq > last, (frame.publish_seq, last)
    assert reader.session_id == session
print("ok")
"#;
    let tools = script();
    let output = Command::new("python3")
        .args(["-c", program])
        .arg(tools.parent().expect("tools/python"))
        .arg(namespace.as_str())
        .arg(pid.to_string())
        .output()
        .expect("run python3");
    assert!(
        output.status.success() && String::from_utf8_lossy(&output.stdout).contains("ok"),
        "stdout {} stderr {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
