//! Frame delivery with live detection running in the daemon, against the same daemon without
//! it, measured side by side: the target is a publish-to-read latency (p50 and p99)
//! within 10 % of the run without detection, because detection reads the frames like any
//! other client and must never delay publishing.
//!
//! `cargo bench -p capture-daemon --bench detection`. Rounds alternate between the two
//! daemons (without, with `--detect depth`, without, ...) so that a machine busy with other
//! work weighs on both alike; each round reads [`ROUND_SECONDS`] of frames at 30 fps 640x480
//! from the synthetic source and records every frame's latency.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use shmproto::{FrameBuf, Namespace, Reader};

const DAEMON: &str = env!("CARGO_BIN_EXE_aaa-camera-daemon");
const ROUNDS: usize = 6;
const ROUND_SECONDS: u64 = 8;

/// A running daemon, stopped with SIGTERM (and waited for) when dropped.
struct Daemon(Child);

impl Daemon {
    fn start(namespace: &Namespace, runtime_dir: &std::path::Path, detect: bool) -> Self {
        let mut command = Command::new(DAEMON);
        command
            .args(["run", "--source", "synthetic", "--fps", "30"])
            .args(["--width", "640", "--height", "480"])
            .args(["--namespace", namespace.as_str()])
            .env("AAA_RUNTIME_DIR", runtime_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if detect {
            command.args(["--detect", "depth"]);
        }
        match command.spawn() {
            Ok(child) => Daemon(child),
            Err(error) => panic!("cannot start {DAEMON}: {error}"),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: kill has no memory preconditions; the pid is our own child, not yet reaped.
        unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

/// Publish-to-read latencies (ns) of every frame read over one round, and the number of
/// detection results published meanwhile (0 without detection).
fn round(detect: bool, tag: &str) -> (Vec<u64>, u64) {
    let Ok(namespace) = Namespace::new(&format!("{tag}{}", std::process::id())) else {
        panic!("bench namespace");
    };
    let Ok(runtime_dir) = tempfile::tempdir() else {
        panic!("cannot make a runtime directory");
    };
    let _daemon = Daemon::start(&namespace, runtime_dir.path(), detect);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut reader = loop {
        if let Ok(reader) = Reader::open(&namespace) {
            break reader;
        }
        assert!(Instant::now() < deadline, "daemon did not come up");
        std::thread::sleep(Duration::from_millis(5));
    };
    // Warm-up: the detector loads and settles.
    let mut frame = FrameBuf::new();
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_secs(1) {
        let _ = reader.wait_next(&mut frame, Duration::from_millis(100));
    }
    let results_before = detections_published(&namespace);
    let mut latencies_ns = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(ROUND_SECONDS) {
        if let Ok(true) = reader.wait_next(&mut frame, Duration::from_millis(100)) {
            latencies_ns.push(shmproto::monotonic_now_ns().saturating_sub(frame.publish_mono_ns()));
        }
    }
    let results = detections_published(&namespace) - results_before;
    (latencies_ns, results)
}

fn detections_published(namespace: &Namespace) -> u64 {
    shmproto::DetectionsReader::open(namespace).map_or(0, |reader| reader.results_published())
}

fn percentile_us(sorted_ns: &[u64], p: f64) -> f64 {
    if sorted_ns.is_empty() {
        return f64::NAN;
    }
    sorted_ns[((sorted_ns.len() - 1) as f64 * p).round() as usize] as f64 / 1e3
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        // `cargo bench -- --list` and nextest's discovery: nothing to list.
        return;
    }
    let mut without = Vec::new();
    let mut with = Vec::new();
    let mut results = 0;
    for index in 0..ROUNDS {
        without.extend(round(false, "bdoff").0);
        let (latencies, published) = round(true, "bdon");
        with.extend(latencies);
        results += published;
        println!("round {} of {ROUNDS} done", index + 1);
    }
    without.sort_unstable();
    with.sort_unstable();
    let seconds = (ROUNDS as u64 * ROUND_SECONDS) as f64;
    for (p, name) in [(0.5, "p50"), (0.99, "p99")] {
        let (off, on) = (percentile_us(&without, p), percentile_us(&with, p));
        println!(
            "frame delivery latency {name}: {on:.0} us with live detection (depth-only, {:.1} results/s) = {:.2} x {off:.0} us without; target within 1.10 x",
            results as f64 / seconds,
            on / off,
        );
    }
    println!(
        "frames read: {} without, {} with detection, over {ROUNDS} alternating rounds of {ROUND_SECONDS} s each",
        without.len(),
        with.len()
    );
}
