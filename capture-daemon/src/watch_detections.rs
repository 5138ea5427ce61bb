//! `watch --detections`: a reader of the daemon's detection results, for people and scripts.
//! Counts results and detections, measures inference times and how many frames behind the
//! newest frame each result arrives, and (`--jsonl`) prints every result with the ground
//! truth of its frame when the frame carried one (the synthetic source's does).
//!
//! A second thread reads the frames as they are published, to know the newest frame number
//! and to keep each recent frame's ground truth until its result arrives.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use parking_lot::Mutex;
use serde::Serialize;
use shmproto::{
    DetectionsReader, FrameBuf, GroundTruthObject, Liveness, Namespace, OpenError,
    PublishedDetections, ReadError, SegmentError,
};

use crate::pidfile::{self, PidFileState};
use crate::runtime::RuntimePaths;
use crate::signals;
use crate::watch::{self, WatchLimit};

/// How long to wait for the detections segment while the namespace's daemon runs (it
/// appears once the detector is loaded).
const SEGMENT_PATIENCE: Duration = Duration::from_secs(20);
/// Frames whose ground truth is kept while their results may still arrive.
const TRUTH_KEPT: usize = 256;

/// The `watch --detections --json` document.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DetectionsSummary {
    pub namespace: String,
    pub detection_results: u64,
    pub detections: u64,
    pub seconds: f64,
    /// Results per second.
    pub results_per_s: f64,
    pub inference_ms_p50: f64,
    pub inference_ms_p99: f64,
    /// Frames between the frame a result is for and the newest frame when it arrived.
    pub frame_lag_p50: f64,
    pub frame_lag_p99: f64,
    /// Results received for frames the reader saw, with their ground truth.
    pub results_with_ground_truth: u64,
    /// The detector of the last result (`yolo11n.onnx (yolo)`, `depth`).
    pub detector: Option<String>,
    /// Why watching ended early (no detections, daemon gone), if it did.
    pub error: Option<String>,
}

impl DetectionsSummary {
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.detection_results > 0
    }
}

/// One `--jsonl` line.
#[derive(Debug, Serialize)]
struct ResultLine<'a> {
    publish_seq: u64,
    /// From the frame's publication to the result's, microseconds.
    latency_us: f64,
    frame_lag: u64,
    #[serde(flatten)]
    result: &'a shmproto::DetectionResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    ground_truth: Option<&'a [GroundTruthObject]>,
}

/// What the frame thread learnt.
#[derive(Debug, Default)]
struct FrameLog {
    newest_frame_number: Option<u64>,
    /// (frame number, ground truth), oldest first; frames without truth are not kept.
    truth: VecDeque<(u64, Vec<GroundTruthObject>)>,
}

impl FrameLog {
    fn record(&mut self, frame_number: u64, truth: Vec<GroundTruthObject>) {
        // A new writer session numbers its frames afresh.
        if self
            .newest_frame_number
            .is_some_and(|newest| frame_number < newest)
        {
            self.truth.clear();
        }
        self.newest_frame_number = Some(frame_number);
        if !truth.is_empty() {
            if self.truth.len() == TRUTH_KEPT {
                self.truth.pop_front();
            }
            self.truth.push_back((frame_number, truth));
        }
    }

    fn truth_of(&self, frame_number: u64) -> Option<&[GroundTruthObject]> {
        self.truth
            .iter()
            .rev()
            .find(|(number, _)| *number == frame_number)
            .map(|(_, truth)| truth.as_slice())
    }
}

/// [`watch::percentile`], 0 when there are none.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    watch::percentile(sorted, p).unwrap_or(0.0)
}

/// Opens the detections segment, waiting while the namespace's daemon runs but has not
/// made it yet (detection starting, or turned on later).
fn open_detections(
    namespace: &Namespace,
    runtime_dir: &Path,
) -> Result<DetectionsReader, OpenError> {
    let deadline = Instant::now() + SEGMENT_PATIENCE;
    let daemon_running = || {
        let pid_file = RuntimePaths::new(runtime_dir, namespace).pid_file;
        matches!(pidfile::inspect(&pid_file), Ok(PidFileState::Running(_)))
    };
    loop {
        match DetectionsReader::open(namespace) {
            Err(error)
                if Instant::now() < deadline
                    && !signals::stop_requested()
                    && (error.is_transient()
                        || (matches!(
                            error,
                            OpenError::Segment(SegmentError::NotFound { .. })
                                | OpenError::NotLive { .. }
                        ) && daemon_running()
                            && !detection_off(namespace))) =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            result => return result,
        }
    }
}

/// Whether the namespace's daemon says (in its writer status) that detection is off, so
/// there is nothing to wait for.
fn detection_off(namespace: &Namespace) -> bool {
    let Ok(reader) = shmproto::Reader::open(namespace) else {
        return false;
    };
    let Ok(Some(status)) = reader.writer_status() else {
        return false;
    };
    serde_json::from_value::<shmproto::DaemonMetrics>(status.extra)
        .ok()
        .and_then(|metrics| metrics.detection)
        .is_some_and(|detection| detection.state == shmproto::DetectionState::Off)
}

fn open_problem(namespace: &Namespace, error: &OpenError) -> String {
    match error {
        OpenError::Segment(SegmentError::NotFound { segment }) => format!(
            "no detections in namespace {namespace}: segment {segment} does not exist (run the daemon with --detect, or `aaa-camera-daemon ctl detect on`)"
        ),
        other => format!("cannot read the detections of namespace {namespace}: {other}"),
    }
}

/// Reads frames until `stop`, recording each one's number and ground truth.
fn follow_frames(
    namespace: &Namespace,
    runtime_dir: &Path,
    log: &Mutex<FrameLog>,
    stop: &AtomicBool,
) {
    let mut frame = FrameBuf::new();
    // Relaxed: a stop flag polled every wait; nothing else is published through it.
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut reader) = watch::open_settled(namespace, runtime_dir) else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        while !stop.load(Ordering::Relaxed) {
            match reader.wait_next(&mut frame, Duration::from_millis(100)) {
                Ok(true) => {
                    let truth = frame
                        .metadata()
                        .map(|metadata| metadata.ground_truth)
                        .unwrap_or_default();
                    log.lock().record(frame.frame_number(), truth);
                }
                Ok(false) => {}
                // New segments or a writer gone: open again.
                Err(_) => break,
            }
        }
    }
}

/// Watches the detection results of `namespace` until `limit` (`Frames`: results);
/// `line` receives the per-result JSON lines (`jsonl`) or a progress line per second.
pub fn watch_detections(
    namespace: &Namespace,
    runtime_dir: &Path,
    limit: WatchLimit,
    jsonl: bool,
    mut line: impl FnMut(&str),
) -> anyhow::Result<DetectionsSummary> {
    signals::install().context("cannot install signal handlers")?;
    let mut summary = DetectionsSummary {
        namespace: namespace.to_string(),
        ..DetectionsSummary::default()
    };
    let mut reader = match open_detections(namespace, runtime_dir) {
        Ok(reader) => reader,
        Err(error) => {
            summary.error = Some(open_problem(namespace, &error));
            return Ok(summary);
        }
    };
    let log = Mutex::new(FrameLog::default());
    let stop = AtomicBool::new(false);
    let mut inference_ms = Vec::new();
    let mut lags = Vec::new();
    let started = Instant::now();
    let mut first_result_at: Option<Instant> = None;
    let mut last_progress = Instant::now();
    std::thread::scope(|scope| {
        scope.spawn(|| follow_frames(namespace, runtime_dir, &log, &stop));
        loop {
            let done = match limit {
                WatchLimit::Frames(count) => summary.detection_results >= count,
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
            match reader.wait_next(wait) {
                Ok(Some(published)) => {
                    first_result_at.get_or_insert_with(Instant::now);
                    let log = log.lock();
                    record(
                        &published,
                        &log,
                        &mut summary,
                        &mut inference_ms,
                        &mut lags,
                        jsonl,
                        &mut line,
                    );
                }
                Ok(None) => {}
                Err(ReadError::WriterGone(Liveness::Replaced { .. })) => {
                    match open_detections(namespace, runtime_dir) {
                        Ok(new_reader) => reader = new_reader,
                        Err(error) => {
                            summary.error = Some(open_problem(namespace, &error));
                            break;
                        }
                    }
                }
                Err(ReadError::WriterGone(liveness)) => {
                    summary.error = Some(format!("detections gone: {liveness}"));
                    break;
                }
                Err(error) => {
                    summary.error = Some(error.to_string());
                    break;
                }
            }
            if !jsonl && last_progress.elapsed() >= Duration::from_secs(1) {
                line(&format!(
                    "{} results, {} detections",
                    summary.detection_results, summary.detections
                ));
                last_progress = Instant::now();
            }
        }
        // Relaxed: see `follow_frames`; the scope's join publishes everything else.
        stop.store(true, Ordering::Relaxed);
    });
    summary.seconds = started.elapsed().as_secs_f64();
    if let Some(first) = first_result_at {
        let span = first.elapsed().as_secs_f64();
        if summary.detection_results > 1 && span > 0.0 {
            summary.results_per_s = (summary.detection_results - 1) as f64 / span;
        }
    }
    inference_ms.sort_by(f64::total_cmp);
    lags.sort_by(f64::total_cmp);
    summary.inference_ms_p50 = percentile(&inference_ms, 0.5);
    summary.inference_ms_p99 = percentile(&inference_ms, 0.99);
    summary.frame_lag_p50 = percentile(&lags, 0.5);
    summary.frame_lag_p99 = percentile(&lags, 0.99);
    Ok(summary)
}

/// Accounts for one result (and prints its line with `jsonl`).
fn record(
    published: &PublishedDetections,
    log: &FrameLog,
    summary: &mut DetectionsSummary,
    inference_ms: &mut Vec<f64>,
    lags: &mut Vec<f64>,
    jsonl: bool,
    line: &mut impl FnMut(&str),
) {
    let result = &published.result;
    summary.detection_results += 1;
    summary.detections += result.detections.len() as u64;
    summary.detector = Some(result.detector.to_string());
    inference_ms.push(f64::from(result.inference_ms));
    // The frame thread may not have read the newest frame yet (it may even be behind the
    // result's frame, on a loaded machine): the lag is then counted as 0.
    let newest = log.newest_frame_number.unwrap_or(result.frame_number);
    let frame_lag = newest.saturating_sub(result.frame_number);
    lags.push(frame_lag as f64);
    let ground_truth = log.truth_of(result.frame_number);
    if ground_truth.is_some() {
        summary.results_with_ground_truth += 1;
    }
    if jsonl {
        let entry = ResultLine {
            publish_seq: published.publish_seq,
            latency_us: published
                .publish_mono_ns
                .saturating_sub(result.frame_publish_mono_ns) as f64
                / 1e3,
            frame_lag,
            result,
            ground_truth,
        };
        if let Ok(text) = serde_json::to_string(&entry) {
            line(&text);
        }
    }
}

/// The summary for people.
pub fn render(summary: &DetectionsSummary) -> String {
    let mut out = format!(
        "namespace {}: {} detection results ({} detections) in {:.1} s ({:.1}/s) from {}, inference p50 {:.1} ms p99 {:.1} ms, frame lag p50 {:.0} p99 {:.0}",
        summary.namespace,
        summary.detection_results,
        summary.detections,
        summary.seconds,
        summary.results_per_s,
        summary.detector.as_deref().unwrap_or("no detector"),
        summary.inference_ms_p50,
        summary.inference_ms_p99,
        summary.frame_lag_p50,
        summary.frame_lag_p99,
    );
    if let Some(error) = &summary.error {
        out.push_str(&format!("\nerror: {error}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth(name: &str) -> Vec<GroundTruthObject> {
        vec![GroundTruthObject {
            name: name.into(),
            center_m: [0.0, 0.0, 1.0],
            size_m: [0.1, 0.1, 0.1],
        }]
    }

    #[test]
    fn the_frame_log_keeps_recent_truth_and_forgets_an_old_session() {
        let mut log = FrameLog::default();
        for number in 1..=(TRUTH_KEPT as u64 + 10) {
            log.record(number, truth(&number.to_string()));
        }
        assert!(log.truth_of(5).is_none(), "older than what is kept");
        assert_eq!(
            log.truth_of(TRUTH_KEPT as u64 + 10).unwrap()[0].name,
            format!("{}", TRUTH_KEPT + 10)
        );
        log.record(1, Vec::new());
        assert_eq!(log.newest_frame_number, Some(1));
        assert!(log.truth.is_empty(), "a new session starts afresh");
    }

    #[test]
    fn percentiles_of_nothing_are_zero() {
        assert_eq!(percentile(&[], 0.5), 0.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0], 0.5), 2.0);
    }
}
