//! `watch`: a reader for people and scripts. Counts frames, measures fps and
//! publish-to-read latency, finds gaps, and verifies synthetic frames' stamps.
//!
//! With `--in-place` ([`ReadMode::InPlace`]) it reads each frame where it lies in shared memory
//! (`Reader::wait_next_in_place`) instead of copying it whole: the latency is publish to frame
//! usable (the look starts), and verification copies only what it needs (the metadata JSON
//! and the first and last rows of each plane, where the synthetic stamps are) into buffers
//! that are checked once the read has proved the look saw one whole frame.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use shmproto::{
    FrameBuf, FrameMetadata, FrameView, Geometry, Liveness, Namespace, OpenError, ReadError,
    Reader, SegmentError, SourceKind,
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

/// How `watch` takes frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadMode {
    /// `wait_next`: the whole frame copied out, then looked at.
    #[default]
    Copy,
    /// `wait_next_in_place`: looked at where it lies; only what verification needs is copied.
    InPlace,
}

/// The `watch --json` document.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WatchSummary {
    pub namespace: String,
    pub frames_received: u64,
    pub seconds: f64,
    pub fps: f64,
    /// How frames were taken; it decides what the latency measures (capture to receipt for
    /// `watch --remote`, which has `remote`).
    pub read_mode: ReadMode,
    /// Publish to frame in hand: copied out (`copy`), or usable in place, when the look at the
    /// slot starts (`in_place`).
    pub latency_us_p50: f64,
    pub latency_us_p99: f64,
    /// `in_place` only: publish to the read's end, when the slot's sequence proved the look
    /// saw one whole frame (after copying what verification needs).
    pub validated_latency_us_p50: Option<f64>,
    pub validated_latency_us_p99: Option<f64>,
    /// `in_place` only: looks thrown away because the daemon overwrote the slot meanwhile.
    pub overwritten: u64,
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
    /// `watch --remote` only: the link, the camera info, bandwidth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<crate::watch_remote::RemoteSummary>,
}

impl WatchSummary {
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.frames_received > 0 && self.verify_failures == 0
    }
}

/// The value at fraction `p` (0..=1) of sorted values, nearest rank; `None` when empty.
pub(crate) fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    let last = sorted.len().checked_sub(1)?;
    sorted.get((last as f64 * p).round() as usize).copied()
}

/// [`percentile`] of nanoseconds, in microseconds; 0 when there are none.
pub(crate) fn percentile_us(sorted_ns: &[u64], p: f64) -> f64 {
    percentile(sorted_ns, p).map_or(0.0, |ns| ns as f64 / 1e3)
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
    progress: impl FnMut(&str),
) -> anyhow::Result<WatchSummary> {
    watch_with(namespace, runtime_dir, limit, ReadMode::Copy, progress)
}

/// What one frame taken gave: its number, latencies, and what verification needs.
struct Taken {
    frame_number: u64,
    latency_ns: u64,
    validated_latency_ns: Option<u64>,
}

/// Buffers of the in-place mode: full-size planes of which only the stamp rows are filled.
#[derive(Default)]
struct StampRows {
    rgb: Vec<u8>,
    depth: Vec<u8>,
}

impl StampRows {
    /// Inside the look: the metadata, and the first and last rows of each plane copied out
    /// when the frame is synthetic (the stamps lie in those rows; the synthetic source needs
    /// a width of at least `STAMP_MIN_WIDTH_PX`, so a colour stamp fits in one row).
    fn copy_from(&mut self, view: &FrameView<'_>) -> Result<FrameMetadata, ReadError> {
        let metadata = view.metadata()?;
        if metadata.source_kind == SourceKind::Synthetic {
            let geometry = view.geometry();
            self.rgb.resize(geometry.color_len(), 0);
            self.depth.resize(geometry.depth_len(), 0);
            let planes = [
                (Some(view.rgb()), &mut self.rgb),
                (view.depth(), &mut self.depth),
            ];
            for (plane, buffer) in planes {
                let Some(plane) = plane else { continue };
                let row_len = plane.row_len().min(buffer.len());
                let last = buffer.len() - row_len;
                plane.copy_range_to(0, &mut buffer[..row_len]);
                plane.copy_range_to(last, &mut buffer[last..]);
            }
        }
        Ok(metadata)
    }
}

/// [`watch`], taking frames by `mode`.
pub fn watch_with(
    namespace: &Namespace,
    runtime_dir: &Path,
    limit: WatchLimit,
    mode: ReadMode,
    mut progress: impl FnMut(&str),
) -> anyhow::Result<WatchSummary> {
    signals::install().context("cannot install signal handlers")?;
    let mut summary = WatchSummary {
        namespace: namespace.to_string(),
        read_mode: mode,
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
    let mut stamp_rows = StampRows::default();
    let mut latencies_ns = Vec::new();
    let mut validated_latencies_ns = Vec::new();
    let mut last_frame_number: Option<u64> = None;
    let mut first_frame_at: Option<Instant> = None;
    let mut progress_line = ProgressLine::new();
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
        let taken = match mode {
            ReadMode::Copy => reader.wait_next(&mut frame, wait).map(|fresh| {
                fresh.then(|| {
                    let received = shmproto::monotonic_now_ns();
                    check_frame(&frame, &mut summary);
                    Taken {
                        frame_number: frame.frame_number(),
                        latency_ns: received.saturating_sub(frame.publish_mono_ns()),
                        validated_latency_ns: None,
                    }
                })
            }),
            ReadMode::InPlace => {
                let read = reader.wait_next_in_place(wait, |view| {
                    let usable = shmproto::monotonic_now_ns();
                    let metadata = stamp_rows.copy_from(view);
                    (usable, *view.header(), view.geometry(), metadata)
                });
                match read {
                    Ok(Some((usable, header, geometry, metadata))) => {
                        let validated = shmproto::monotonic_now_ns();
                        check_parts(
                            metadata,
                            header.frame_number,
                            geometry,
                            &stamp_rows.rgb,
                            &stamp_rows.depth,
                            &mut summary,
                        );
                        Ok(Some(Taken {
                            frame_number: header.frame_number,
                            latency_ns: usable.saturating_sub(header.publish_mono_ns),
                            validated_latency_ns: Some(
                                validated.saturating_sub(header.publish_mono_ns),
                            ),
                        }))
                    }
                    Ok(None) => Ok(None),
                    // The daemon lapped us during the look: nothing was taken; the next read
                    // gets the newest frame.
                    Err(ReadError::Overwritten { .. }) => {
                        summary.overwritten += 1;
                        Ok(None)
                    }
                    Err(error) => Err(error),
                }
            }
        };
        match taken {
            Ok(Some(taken)) => {
                latencies_ns.push(taken.latency_ns);
                validated_latencies_ns.extend(taken.validated_latency_ns);
                first_frame_at.get_or_insert_with(Instant::now);
                summary.frames_received += 1;
                let number = taken.frame_number;
                if let Some(last) = last_frame_number {
                    let missed = number.saturating_sub(last).saturating_sub(1);
                    if missed > 0 {
                        summary.gaps += 1;
                        summary.frames_missed += missed;
                    }
                }
                last_frame_number = Some(number);
            }
            Ok(None) => {}
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
        progress_line.tick(&summary, &mut progress);
    }
    finish_timing(&mut summary, started, first_frame_at, &mut latencies_ns);
    if mode == ReadMode::InPlace {
        validated_latencies_ns.sort_unstable();
        summary.validated_latency_us_p50 = Some(percentile_us(&validated_latencies_ns, 0.5));
        summary.validated_latency_us_p99 = Some(percentile_us(&validated_latencies_ns, 0.99));
    }
    Ok(summary)
}

/// Checks the metadata against the slot header, and the stamps of synthetic frames.
fn check_frame(frame: &FrameBuf, summary: &mut WatchSummary) {
    let Some(geometry) = frame.geometry() else {
        return;
    };
    let depth = frame.depth().unwrap_or(&[]);
    check_parts(
        frame.metadata(),
        frame.frame_number(),
        geometry,
        frame.rgb(),
        depth,
        summary,
    );
}

/// [`check_frame`] on a frame's parts: `rgb` and `depth` need hold only the stamp rows.
/// The once-a-second progress line of a watch.
pub(crate) struct ProgressLine {
    at: Instant,
    frames: u64,
}

impl ProgressLine {
    pub(crate) fn new() -> Self {
        ProgressLine {
            at: Instant::now(),
            frames: 0,
        }
    }

    /// Says how the watch goes, at most once a second.
    pub(crate) fn tick(&mut self, summary: &WatchSummary, progress: &mut dyn FnMut(&str)) {
        if self.at.elapsed() < Duration::from_secs(1) {
            return;
        }
        let fps = (summary.frames_received - self.frames) as f64 / self.at.elapsed().as_secs_f64();
        progress(&format!(
            "{} frames, {fps:.1} fps, {} gaps, {} verify failures",
            summary.frames_received, summary.gaps, summary.verify_failures
        ));
        self.at = Instant::now();
        self.frames = summary.frames_received;
    }
}

/// The summary's timing at the end of a watch: its length, the frame rate from the first
/// frame on, and the latency percentiles.
pub(crate) fn finish_timing(
    summary: &mut WatchSummary,
    started: Instant,
    first_frame_at: Option<Instant>,
    latencies_ns: &mut [u64],
) {
    summary.seconds = started.elapsed().as_secs_f64();
    if let Some(first) = first_frame_at {
        let span = first.elapsed().as_secs_f64();
        if summary.frames_received > 1 && span > 0.0 {
            summary.fps = (summary.frames_received - 1) as f64 / span;
        }
    }
    latencies_ns.sort_unstable();
    summary.latency_us_p50 = percentile_us(latencies_ns, 0.5);
    summary.latency_us_p99 = percentile_us(latencies_ns, 0.99);
}

pub(crate) fn check_parts(
    metadata: Result<FrameMetadata, ReadError>,
    frame_number: u64,
    geometry: Geometry,
    rgb: &[u8],
    depth: &[u8],
    summary: &mut WatchSummary,
) {
    let metadata = match metadata {
        Ok(metadata) => metadata,
        Err(_) => {
            summary.verify_failures += 1;
            return;
        }
    };
    if summary.source_kind.is_none() {
        summary.source_kind = Some(metadata.source_kind.to_string());
    }
    if metadata.frame_number != frame_number {
        summary.verify_failures += 1;
        return;
    }
    if metadata.source_kind != SourceKind::Synthetic {
        return;
    }
    summary.frames_verified += 1;
    if synthetic::verify_frame(rgb, depth, &geometry, frame_number).is_err() {
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
    if summary.read_mode == ReadMode::InPlace {
        out.push_str(&format!(
            "\nread in place: latency is publish to frame usable; validated p50 {:.0} us p99 {:.0} us; {} looks overwritten",
            summary.validated_latency_us_p50.unwrap_or(0.0),
            summary.validated_latency_us_p99.unwrap_or(0.0),
            summary.overwritten
        ));
    }
    if let Some(remote) = &summary.remote {
        out.push_str(&format!(
            "\nremote ({}, key {}): latency is capture to receipt; depth {}; camera info {}; {:.1} MB/s; {} reconnections; {} frames replaced unread; {} rejected",
            remote.endpoint,
            remote.key,
            remote.depth_format.as_deref().unwrap_or("none"),
            match remote.camera_info_size {
                Some([width, height]) => format!("{width}x{height}"),
                None => "missing".to_owned(),
            },
            remote.megabytes_per_second,
            remote.reconnections,
            remote.frames_replaced,
            remote.rejected,
        ));
        if let Some(rejection) = &remote.last_rejection {
            out.push_str(&format!(" (last: {rejection})"));
        }
    }
    if let Some(error) = &summary.error {
        out.push_str(&format!("\nerror: {error}"));
    }
    out
}
