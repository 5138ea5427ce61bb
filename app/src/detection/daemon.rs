//! The daemon's own live detections: a worker thread that attaches to the namespace's
//! `aaa_detections` segment while the daemon detects (`aaa-camera-daemon run --detect ...` or
//! `ctl detect on`), waits for each result on the writer's futex and hands it to the GUI.
//!
//! Results reach the GUI through a short channel that drops the oldest when full (the GUI
//! keeps only the last few for matching them with frames, `super::matching`), and wake it
//! only while it shows live daemon frames. Whether the segment is there, and why not, is kept
//! for the panel.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use shmproto::{
    DetectionsReader, Namespace, OpenError, PublishedDetections, ReadError, SegmentError,
};

use crate::feed::local::sleep_unless_stopped;

/// How often the worker looks for the segment while there is none.
const PROBE_PERIOD: Duration = Duration::from_millis(500);
/// Longest a wait blocks before the worker checks whether it should stop.
const WAIT_SLICE: Duration = Duration::from_millis(200);
/// Results waiting for the GUI, at most; older ones are dropped.
const WAITING: usize = 8;

/// Where the daemon's detections stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonDetectionsState {
    /// Not looked for yet.
    Starting,
    /// No detections segment: the daemon is not detecting (or not running).
    Absent,
    /// Attached to the detections writer of this process.
    Connected { writer_pid: u32 },
    /// The segment is there but cannot be read (the reason), or its writer went away; the
    /// worker keeps trying.
    Unavailable(String),
}

/// State both ends share.
struct Shared {
    state: Mutex<DaemonDetectionsState>,
    /// The last result that could not be read (a broken writer), for the panel.
    last_error: Mutex<Option<String>>,
    /// True while the GUI shows live daemon frames: then each result wakes it.
    wants_repaints: AtomicBool,
    stop: AtomicBool,
}

/// The GUI's end of the worker; dropping it stops the worker (within `WAIT_SLICE`).
pub struct DaemonDetections {
    results: Receiver<PublishedDetections>,
    shared: Arc<Shared>,
}

impl DaemonDetections {
    /// Starts watching `namespace`'s detections; the worker wakes `ctx` per result while
    /// [`Self::set_wants_repaints`] says so.
    pub fn spawn(namespace: Namespace, ctx: egui::Context) -> std::io::Result<Self> {
        let (tx, results) = crossbeam_channel::bounded(WAITING);
        let shared = Arc::new(Shared {
            state: Mutex::new(DaemonDetectionsState::Starting),
            last_error: Mutex::new(None),
            wants_repaints: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let worker_shared = Arc::clone(&shared);
        let oldest = results.clone();
        std::thread::Builder::new()
            .name("daemon detections".to_owned())
            .spawn(move || run_worker(&namespace, &tx, &oldest, &worker_shared, &ctx))?;
        Ok(DaemonDetections { results, shared })
    }

    /// The results that arrived since the last call, oldest first.
    pub fn take_results(&self) -> Vec<PublishedDetections> {
        self.results.try_iter().collect()
    }

    pub fn state(&self) -> DaemonDetectionsState {
        lock(&self.shared.state).clone()
    }

    /// Why the last unreadable result could not be read, if one could not.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.shared.last_error).clone()
    }

    /// Whether each result should wake the GUI (it shows live daemon frames).
    pub fn set_wants_repaints(&self, wants_repaints: bool) {
        // Relaxed: a hint; a result seen a moment before the change wakes the GUI or not.
        self.shared
            .wants_repaints
            .store(wants_repaints, Ordering::Relaxed);
    }
}

impl Drop for DaemonDetections {
    fn drop(&mut self) {
        // Relaxed: the flag guards no data; the worker only needs to see it eventually.
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn run_worker(
    namespace: &Namespace,
    tx: &Sender<PublishedDetections>,
    oldest: &Receiver<PublishedDetections>,
    shared: &Shared,
    ctx: &egui::Context,
) {
    let should_stop = || shared.stop.load(Ordering::Relaxed);
    let set_state = |state: DaemonDetectionsState| {
        let mut current = lock(&shared.state);
        if *current != state {
            tracing::debug!("daemon detections: {state:?}");
            *current = state;
            drop(current);
            ctx.request_repaint();
        }
    };
    while !should_stop() {
        let mut reader = match DetectionsReader::open(namespace) {
            Ok(reader) => reader,
            Err(err) => {
                set_state(match &err {
                    OpenError::Segment(SegmentError::NotFound { .. }) => {
                        DaemonDetectionsState::Absent
                    }
                    _ => DaemonDetectionsState::Unavailable(err.to_string()),
                });
                sleep_unless_stopped(PROBE_PERIOD, should_stop);
                continue;
            }
        };
        tracing::info!(
            "reading the daemon's detections (writer pid {})",
            reader.writer_pid()
        );
        set_state(DaemonDetectionsState::Connected {
            writer_pid: reader.writer_pid(),
        });
        while !should_stop() {
            match reader.wait_next(WAIT_SLICE) {
                Ok(None) => {}
                Ok(Some(published)) => {
                    hand_over(tx, oldest, published);
                    // Relaxed: see `set_wants_repaints`.
                    if shared.wants_repaints.load(Ordering::Relaxed) {
                        ctx.request_repaint();
                    }
                }
                Err(err @ ReadError::Detections { .. }) => {
                    // Only this result is lost; the next wait goes on.
                    tracing::warn!("{err}");
                    *lock(&shared.last_error) = Some(err.to_string());
                }
                Err(err) => {
                    tracing::info!("the daemon's detections stopped: {err}");
                    set_state(DaemonDetectionsState::Unavailable(err.to_string()));
                    break;
                }
            }
        }
    }
    tracing::debug!("daemon detections worker stopped");
}

/// Sends `published`, dropping the oldest waiting result if the channel is full.
fn hand_over(
    tx: &Sender<PublishedDetections>,
    oldest: &Receiver<PublishedDetections>,
    published: PublishedDetections,
) {
    let mut published = published;
    loop {
        match tx.try_send(published) {
            Ok(()) => return,
            Err(TrySendError::Full(rejected)) => {
                // Only this worker sends, so taking one out makes room.
                let _ = oldest.try_recv();
                published = rejected;
            }
            // Cannot happen while we hold a receiver.
            Err(TrySendError::Disconnected(_)) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use shmproto::{DetectionResult, DetectionsWriter, DetectionsWriterConfig, DetectorInfo};

    use super::*;

    fn result(frame_number: u64) -> DetectionResult {
        DetectionResult {
            frame_number,
            frame_publish_mono_ns: shmproto::monotonic_now_ns(),
            detector: DetectorInfo {
                format: "depth".to_owned(),
                model: None,
            },
            score_threshold: 0.25,
            inference_ms: 3.0,
            detections: Vec::new(),
        }
    }

    fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(Instant::now() < deadline, "not reached: {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn results_arrive_while_the_daemon_detects_and_absence_is_reported() {
        let namespace = Namespace::new(&format!("appdet{}", std::process::id())).unwrap();
        let feed = DaemonDetections::spawn(namespace.clone(), egui::Context::default()).unwrap();
        wait_for("absent", || feed.state() == DaemonDetectionsState::Absent);

        let mut writer =
            DetectionsWriter::create(DetectionsWriterConfig::new(namespace.clone())).unwrap();
        wait_for("connected", || {
            matches!(feed.state(), DaemonDetectionsState::Connected { .. })
        });
        // A burst larger than the channel: the newest survive.
        for frame_number in 1..=20 {
            writer.publish(&result(frame_number)).unwrap();
        }
        let mut frames = Vec::new();
        wait_for("the newest result", || {
            frames.extend(
                feed.take_results()
                    .into_iter()
                    .map(|published| published.result.frame_number),
            );
            frames.last() == Some(&20)
        });
        assert!(
            frames.windows(2).all(|pair| pair[0] < pair[1]),
            "{frames:?}"
        );

        drop(writer);
        wait_for("gone", || {
            !matches!(feed.state(), DaemonDetectionsState::Connected { .. })
        });
    }

    #[test]
    fn a_full_channel_drops_the_oldest() {
        let (tx, rx) = crossbeam_channel::bounded(2);
        let published = |frame_number| PublishedDetections {
            publish_seq: frame_number,
            publish_mono_ns: 0,
            source_frame: shmproto::SourceFrame {
                session_id: 1,
                capture_wall_ns: 0,
                capture_mono_ns: 0,
            },
            result: result(frame_number),
        };
        for frame_number in 1..=5 {
            hand_over(&tx, &rx, published(frame_number));
        }
        let left: Vec<u64> = rx.try_iter().map(|p| p.result.frame_number).collect();
        assert_eq!(left, vec![4, 5]);
    }
}
