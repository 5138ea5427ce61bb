//! `watch`: a reader for people and scripts. Counts frames, measures fps and
//! publish-to-read latency, finds gaps, and verifies synthetic frames' stamps.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use shmproto::{
    FrameBuf, Liveness, Namespace, OpenError, ReadError, Reader, SegmentError, SourceKind,
};

use crate::pidfile::{self, PidFileState};
use crate::runtime::RuntimePaths;
use crate::signals;
use camera_sources::synthetic;

/// When to stop watching.
#[derive(Debug, Clone, Copy)]
pub enum WatchLimit {
    Frames(u64),
    Duration(Duration),
    /// Until SIGINT/SIGTERM.
    Interrupted,
}

/// The `watch --json` document.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WatchSummary {
    pub namespace: String,
    pub frames_received: u64,
    pub seconds: f64,
    pub fps: f64,
    pub latency_us_p50: f64,
    pub latency_us_p99: f64,
    /// Places where frame numbers jumped (the reader or the daemon skipped frames).
    pub gaps: u64,
    /// Frames missing in those jumps.
    pub frames_missed: u64,
    /// Synthetic frames whose stamps did not match their frame number (torn or corrupt).
    pub verify_failures: u64,
    /// Frames that could be verified (synthetic source only).
    pub frames_verified: u64,
    /// Times the daemon moved to new segments (resolution change) and watch followed.
    pub reconfigurations: u64,
    pub width: u32,
    pub height: u32,
    pub source_kind: Option<String>,
    /// Why watching ended early (daemon gone, segments invalid), if it did.
    pub error: Option<String>,
}

impl WatchSummary {
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.frames_received > 0 && self.verify_failures == 0
    }
}

fn percentile_us(sorted_ns: &[u64], p: f64) -> f64 {
    if sorted_ns.is_empty() {
        return 0.0;
    }
    sorted_ns[((sorted_ns.len() - 1) as f64 * p).round() as usize] as f64 / 1e3
}

/// A reader-side explanation of why the namespace cannot be watched.
fn open_problem(namespace: &Namespace, error: &OpenError) -> String {
    match error {
        OpenError::Segment(SegmentError::NotFound { segment }) => format!(
            "no daemon in namespace {namespace}: shared-memory segment {segment} does not exist (start one with `make daemon-start` or `aaa-camera-daemon run`)"
        ),
        other => format!("cannot read namespace {namespace}: {other}"),
    }
}

/// Watches `namespace` until `limit`; `progress` receives a line per second for people.
/// How long `watch` waits for a writer that is starting or moving to new segments.
const SETTLE_PATIENCE: Duration = Duration::from_secs(5);

/// Opens the namespace, waiting up to [`SETTLE_PATIENCE`] while its writer is starting or
/// being replaced, or while a daemon holds the namespace's pid file in `runtime_dir` but has
/// not made its segments yet, or not yet replaced a dead daemon's (it counts as running from
/// the moment it holds the pid file). Without a daemon, missing or dead segments are an error
/// at once.
pub(crate) fn open_settled(namespace: &Namespace, runtime_dir: &Path) -> Result<Reader, OpenError> {
    let deadline = Instant::now() + SETTLE_PATIENCE;
    let daemon_starting = || {
        let pid_file = RuntimePaths::new(runtime_dir, namespace).pid_file;
        matches!(pidfile::inspect(&pid_file), Ok(PidFileState::Running(_)))
    };
    loop {
        match Reader::open(namespace) {
            Err(error)
                if Instant::now() < deadline
                    && (error.is_transient()
                        || (matches!(
                            error,
                            OpenError::Segment(SegmentError::NotFound { .. })
                                | OpenError::NotLive { .. }
                        ) && daemon_starting())) =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            result => return result,
        }
    }
}

pub fn watch(
    namespace: &Namespace,
    runtime_dir: &Path,
    limit: WatchLimit,
    mut progress: impl FnMut(&str),
) -> anyhow::Result<WatchSummary> {
    signals::install().context("cannot install signal handlers")?;
    let mut summary = WatchSummary {
        namespace: namespace.to_string(),
        ..WatchSummary::default()
    };
    let mut reader = match open_settled(namespace, runtime_dir) {
        Ok(reader) => reader,
        Err(error) => {
            summary.error = Some(open_problem(namespace, &error));
            return Ok(summary);
        }
    };
    summary.width = reader.geometry().width;
    summary.height = reader.geometry().height;

    let started = Instant::now();
    let mut frame = FrameBuf::new();
    let mut latencies_ns = Vec::new();
    let mut last_frame_number: Option<u64> = None;
    let mut first_frame_at: Option<Instant> = None;
    let mut last_progress = Instant::now();
    let mut frames_at_progress = 0u64;
    loop {
        let done = match limit {
            WatchLimit::Frames(count) => summary.frames_received >= count,
            WatchLimit::Duration(duration) => started.elapsed() >= duration,
            WatchLimit::Interrupted => false,
        };
        if done || signals::stop_requested() {
            break;
        }
        let wait = match limit {
            WatchLimit::Duration(duration) => duration
                .saturating_sub(started.elapsed())
                .min(Duration::from_millis(250)),
            _ => Duration::from_millis(250),
        };
        match reader.wait_next(&mut frame, wait) {
            Ok(true) => {
                let received = shmproto::monotonic_now_ns();
                latencies_ns.push(received.saturating_sub(frame.publish_mono_ns()));
                first_frame_at.get_or_insert_with(Instant::now);
                summary.frames_received += 1;
                let number = frame.frame_number();
                if let Some(last) = last_frame_number {
                    let missed = number.saturating_sub(last).saturating_sub(1);
                    if missed > 0 {
                        summary.gaps += 1;
                        summary.frames_missed += missed;
                    }
                }
                last_frame_number = Some(number);
                check_frame(&frame, &mut summary);
            }
            Ok(false) => {}
            // New segments: after a mode change, or after a segment was truncated (the daemon
            // moves to new ones).
            Err(
                ReadError::WriterGone(Liveness::Replaced { .. }) | ReadError::SegmentLost { .. },
            ) => {
                match Reader::open_waiting(namespace, Duration::from_secs(2)) {
                    Ok(new_reader) => {
                        reader = new_reader;
                        // The new session numbers its frames afresh.
                        last_frame_number = None;
                        summary.reconfigurations += 1;
                        summary.width = reader.geometry().width;
                        summary.height = reader.geometry().height;
                    }
                    Err(error) => {
                        summary.error = Some(open_problem(namespace, &error));
                        break;
                    }
                }
            }
            Err(ReadError::WriterGone(liveness)) => {
                summary.error = Some(format!("daemon gone: {liveness}"));
                break;
            }
            Err(error) => {
                summary.error = Some(error.to_string());
                break;
            }
        }
        if last_progress.elapsed() >= Duration::from_secs(1) {
            let fps = (summary.frames_received - frames_at_progress) as f64
                / last_progress.elapsed().as_secs_f64();
            progress(&format!(
                "{} frames, {fps:.1} fps, {} gaps, {} verify failures",
                summary.frames_received, summary.gaps, summary.verify_failures
            ));
            last_progress = Instant::now();
            frames_at_progress = summary.frames_received;
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    if let Some(first) = first_frame_at {
        let span = first.elapsed().as_secs_f64();
        if summary.frames_received > 1 && span > 0.0 {
            summary.fps = (summary.frames_received - 1) as f64 / span;
        }
    }
    latencies_ns.sort_unstable();
    summary.latency_us_p50 = percentile_us(&latencies_ns, 0.5);
    summary.latency_us_p99 = percentile_us(&latencies_ns, 0.99);
    Ok(summary)
}

/// Checks the metadata against the slot header, and the stamps of synthetic frames.
fn check_frame(frame: &FrameBuf, summary: &mut WatchSummary) {
    let metadata = match frame.metadata() {
        Ok(metadata) => metadata,
        Err(_) => {
            summary.verify_failures += 1;
            return;
        }
    };
    if summary.source_kind.is_none() {
        summary.source_kind = Some(metadata.source_kind.to_string());
    }
    if metadata.frame_number != frame.frame_number() {
        summary.verify_failures += 1;
        return;
    }
    if metadata.source_kind != SourceKind::Synthetic {
        return;
    }
    let Some(geometry) = frame.geometry() else {
        return;
    };
    summary.frames_verified += 1;
    let depth = frame.depth().unwrap_or(&[]);
    if synthetic::verify_frame(frame.rgb(), depth, &geometry, frame.frame_number()).is_err() {
        summary.verify_failures += 1;
    }
}

/// The summary for people.
pub fn render(summary: &WatchSummary) -> String {
    let mut out = format!(
        "namespace {}: {} frames in {:.1} s ({:.1} fps), {}x{}, latency p50 {:.0} us p99 {:.0} us, {} gaps ({} frames missed), {} of {} verified frames failed",
        summary.namespace,
        summary.frames_received,
        summary.seconds,
        summary.fps,
        summary.width,
        summary.height,
        summary.latency_us_p50,
        summary.latency_us_p99,
        summary.gaps,
        summary.frames_missed,
        summary.verify_failures,
        summary.frames_verified,
    );
    if let Some(error) = &summary.error {
        out.push_str(&format!("\nerror: {error}"));
    }
    out
}
