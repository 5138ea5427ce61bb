//! The Python reader (`tools/python/aaa_shm_reader.py`) against the real writer: it follows
//! docs/protocol.md closely enough to read verified frames, refuses garbage with a clear error,
//! refuses segments others may access, and never unlinks the segments it opened.

use std::ffi::CString;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use shared_memory::{Shmem, ShmemConf};
use shmproto::Namespace;

const STRESS: &str = env!("CARGO_BIN_EXE_shmproto-stress");

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

fn unique_namespace(tag: &str) -> Namespace {
    Namespace::new(&format!("{tag}{}", std::process::id())).expect("test namespace is valid")
}

fn segment_names(namespace: &Namespace) -> [String; 3] {
    [
        namespace.rgb_segment(),
        namespace.depth_segment(),
        namespace.metadata_segment(),
    ]
}

/// Whether a shared-memory segment of that name exists.
fn segment_exists(name: &str) -> bool {
    ShmemConf::new().os_id(name).open().is_ok()
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
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|_| {
        panic!(
            "no JSON summary: stdout {stdout:?} stderr {:?}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn spawn_writer(namespace: &Namespace) -> Child {
    let mut child = Command::new(STRESS)
        .args(["write", "--namespace", namespace.as_str()])
        .args(["--seconds", "3", "--fps", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn shmproto-stress");
    let stderr = child.stderr.take().expect("stderr piped");
    let mut line = String::new();
    BufReader::new(stderr)
        .read_line(&mut line)
        .expect("read ready line");
    assert!(
        line.starts_with("ready"),
        "writer did not get ready: {line:?}"
    );
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

/// A raw segment filled with `bytes`, unlinked when dropped.
fn raw_segment(name: &str, bytes: &[u8]) -> Shmem {
    let shmem = ShmemConf::new()
        .os_id(name)
        .size(bytes.len())
        .create()
        .expect("create raw segment");
    // SAFETY: the mapping was just created with `bytes.len()` bytes, and no other process
    // touches it until the Python reader is started below.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), shmem.as_ptr(), bytes.len()) };
    shmem
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

    let mut noise = vec![0u8; 8192];
    let mut state = 0x1234_5678_9abc_def0u64;
    for byte in &mut noise {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
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
