//! What the protocol's integration tests share: namespaces of their own, raw segments made
//! without this crate's code, and the `shmproto-stress` child processes.

#![allow(dead_code)] // Each test binary uses a different part.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use shared_memory::{Shmem, ShmemConf};
use shmproto::Namespace;

pub const STRESS: &str = env!("CARGO_BIN_EXE_shmproto-stress");

/// A namespace of this test process (`tag` at most 7 characters).
pub fn unique_namespace(tag: &str) -> Namespace {
    Namespace::new(&format!("{tag}{}", std::process::id())).expect("test namespace is valid")
}

/// A raw segment with exactly `bytes`, made through another mapping library than the crate's
/// own; unlinked when dropped.
pub fn raw_segment(name: &str, bytes: &[u8]) -> Shmem {
    let shmem = ShmemConf::new()
        .os_id(name)
        .size(bytes.len())
        .create()
        .expect("create raw segment");
    // SAFETY: the mapping was just created with `bytes.len()` bytes, and no other process
    // touches it until the test starts one.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), shmem.as_ptr(), bytes.len()) };
    shmem
}

/// 8 KiB of deterministic noise (xorshift): no valid header, by a wide margin.
pub fn noise() -> Vec<u8> {
    let mut noise = vec![0u8; 8192];
    let mut state = 0x1234_5678_9abc_def0u64;
    for byte in &mut noise {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    noise
}

/// The bytes of an existing segment.
pub fn segment_bytes(name: &str) -> Vec<u8> {
    let shmem = ShmemConf::new().os_id(name).open().expect("open segment");
    let mut bytes = vec![0u8; shmem.len()];
    // SAFETY: the mapping has `shmem.len()` bytes; the writer of the test is idle.
    unsafe { std::ptr::copy_nonoverlapping(shmem.as_ptr(), bytes.as_mut_ptr(), bytes.len()) };
    bytes
}

/// Whether a shared-memory segment of that name exists and can be mapped.
pub fn segment_exists(name: &str) -> bool {
    ShmemConf::new().os_id(name).open().is_ok()
}

/// `shmproto-stress ARGS...` with both streams piped.
pub fn spawn_stress(args: &[&str]) -> Child {
    Command::new(STRESS)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn shmproto-stress")
}

/// Waits for a stress child's "ready" line on stderr.
pub fn wait_ready(child: &mut Child) {
    let stderr = child.stderr.take().expect("stderr piped");
    let mut line = String::new();
    BufReader::new(stderr)
        .read_line(&mut line)
        .expect("read ready line");
    assert!(
        line.starts_with("ready"),
        "child did not get ready: {line:?}"
    );
}

/// The JSON summary a child prints as its last line on stdout.
pub fn json_summary(output: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|_| {
        panic!(
            "no JSON summary: stdout {stdout:?} stderr {:?}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}
