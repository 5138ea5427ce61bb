//! The channel pair between a feed's worker thread and the GUI.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use shmproto::DaemonMetrics;
use shmproto::SourceState;

use super::{FeedEvent, FrameFeed, Origin};
use crate::frame::Frame;

/// Frames waiting for the GUI: one. A newer frame replaces it (see [`FrameSender::send_frame`]).
const FRAME_CAPACITY: usize = 1;

/// State both ends share. Every field is a statistic or a hint that orders nothing else (the
/// frames themselves travel through the channel, which synchronises), so all accesses are
/// `Relaxed`: a reader that sees a value a moment late shows a number one frame old.
#[derive(Debug)]
struct Shared {
    /// Set once the GUI has polled; the worker asks this context for repaints.
    repaint: OnceLock<egui::Context>,
    /// False while the viewer is frozen: frames still flow but need no repaint each, and the
    /// ones replaced in the channel are not counted as dropped.
    live_view: AtomicBool,
    /// False once the GUI end is dropped: the worker should stop.
    viewer_attached: AtomicBool,
    /// Frames the worker got from its source.
    received: AtomicU64,
    /// Frames that never reached the display: skipped by the worker's reader (gaps in the frame
    /// numbers) or replaced in the channel before the GUI took them.
    dropped: AtomicU64,
    /// `CLOCK_MONOTONIC` time of the last frame received, ns; 0 before the first.
    last_received_mono_ns: AtomicU64,
    /// What the writer last said about itself (daemon sources only); `None` before the first
    /// report of the current connection.
    writer: Mutex<Option<WriterReport>>,
    /// True while the GUI shows the daemon's metrics: then a change of metrics alone wakes it.
    wants_metrics: AtomicBool,
}

/// The writer's status record as the daemon worker last read it (`shmproto::WriterStatus`),
/// with the daemon's metrics parsed out of its `extra` field.
#[derive(Debug, Clone, PartialEq)]
pub struct WriterReport {
    pub state: SourceState,
    /// The writer's last error or other detail about `state`.
    pub message: Option<String>,
    /// `None` when the writer publishes no daemon metrics (another writer, an older daemon).
    pub metrics: Option<DaemonMetrics>,
    /// When the writer last rewrote its status, nanoseconds since the Unix epoch.
    pub updated_wall_ns: u64,
    /// Why the status record could not be read, if it could not.
    pub read_error: Option<String>,
}

/// Numbers links so that the viewer can tell one from another.
static NEXT_LINK_ID: AtomicU64 = AtomicU64::new(1);

/// Creates the two ends of a link.
pub fn frame_link() -> (FrameSender, FrameLink) {
    let (frames_tx, frames_rx) = crossbeam_channel::bounded(FRAME_CAPACITY);
    let (events_tx, events_rx) = crossbeam_channel::unbounded();
    let shared = Arc::new(Shared {
        repaint: OnceLock::new(),
        live_view: AtomicBool::new(true),
        viewer_attached: AtomicBool::new(true),
        received: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        last_received_mono_ns: AtomicU64::new(0),
        writer: Mutex::new(None),
        wants_metrics: AtomicBool::new(false),
    });
    let sender = FrameSender {
        frames_tx,
        frames_rx_for_replacing: frames_rx.clone(),
        events_tx,
        shared: Arc::clone(&shared),
        last_frame_number: None,
    };
    let link = FrameLink {
        // Relaxed: only uniqueness matters, which the atomic increment gives in any order.
        id: NEXT_LINK_ID.fetch_add(1, Ordering::Relaxed),
        frames_rx,
        events_rx,
        shared,
    };
    (sender, link)
}

/// The worker's end.
#[derive(Debug)]
pub struct FrameSender {
    frames_tx: Sender<Frame>,
    /// The worker takes the stale frame out itself when the channel is full.
    frames_rx_for_replacing: Receiver<Frame>,
    events_tx: Sender<FeedEvent>,
    shared: Arc<Shared>,
    last_frame_number: Option<u64>,
}

impl FrameSender {
    /// Hands a frame to the GUI, replacing the one still waiting there, and asks for a repaint.
    pub fn send_frame(&mut self, frame: Frame) {
        let frame_number = frame.frame_number;
        if let Some(last) = self.last_frame_number {
            // A smaller number means a new writer session: no gap to count.
            let skipped = frame_number.saturating_sub(last).saturating_sub(1);
            self.shared.dropped.fetch_add(skipped, Ordering::Relaxed);
        }
        self.last_frame_number = Some(frame_number);
        self.shared.received.fetch_add(1, Ordering::Relaxed);
        self.shared
            .last_received_mono_ns
            .store(shmproto::monotonic_now_ns(), Ordering::Relaxed);

        let live_view = self.shared.live_view.load(Ordering::Relaxed);
        let mut frame = frame;
        loop {
            match self.frames_tx.try_send(frame) {
                Ok(()) => break,
                Err(TrySendError::Full(rejected)) => {
                    // Only this worker sends, so after taking the waiting frame out there is room
                    // (unless the GUI took it first, then there was room anyway).
                    if self.frames_rx_for_replacing.try_recv().is_ok() && live_view {
                        self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    frame = rejected;
                }
                // Cannot happen while we hold a receiver; nobody is listening either way.
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
        if live_view {
            self.request_repaint();
        }
    }

    /// Sends a state change to the GUI and asks for a repaint.
    pub fn send_event(&mut self, event: FeedEvent) {
        if matches!(event, FeedEvent::Connected { .. }) {
            self.last_frame_number = None;
        }
        if matches!(event, FeedEvent::Connected { .. } | FeedEvent::Lost { .. }) {
            // A report belongs to one connection.
            *lock(&self.shared.writer) = None;
        }
        // The GUI end holds the receiver until it is dropped, and then nobody needs the event.
        if self.events_tx.send(event).is_ok() {
            self.request_repaint();
        }
    }

    /// Stores what the writer says about itself. Wakes the GUI only when its state or message
    /// changed, or its metrics changed while the GUI shows them: the status is read a few times
    /// a second, and an idle GUI must stay asleep.
    pub fn report_writer(&mut self, report: WriterReport) {
        let wake = {
            let mut writer = lock(&self.shared.writer);
            let wake = match writer.as_ref() {
                None => true,
                Some(old) => {
                    old.state != report.state
                        || old.message != report.message
                        || old.read_error != report.read_error
                        || (old.metrics != report.metrics
                            && self.shared.wants_metrics.load(Ordering::Relaxed))
                }
            };
            *writer = Some(report);
            wake
        };
        if wake {
            self.request_repaint();
        }
    }

    /// True once the GUI dropped its end: the worker should stop.
    pub fn is_viewer_gone(&self) -> bool {
        !self.shared.viewer_attached.load(Ordering::Relaxed)
    }

    fn request_repaint(&self) {
        // Read after the send: if the GUI attaches its context only after this read, its first
        // poll comes after the attach and sees what was sent.
        if let Some(ctx) = self.shared.repaint.get() {
            ctx.request_repaint();
        }
    }
}

/// Counters of a link, for the status bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkStats {
    pub received: u64,
    pub dropped: u64,
    /// `CLOCK_MONOTONIC` ns of the last frame the worker received, `None` before the first.
    pub last_received_mono_ns: Option<u64>,
}

/// The GUI's end.
#[derive(Debug)]
pub struct FrameLink {
    id: u64,
    frames_rx: Receiver<Frame>,
    events_rx: Receiver<FeedEvent>,
    shared: Arc<Shared>,
}

impl FrameLink {
    /// Unique among the links of this process.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Lets the worker wake the GUI through `ctx` (the first call wins; later ones are no-ops).
    pub fn attach(&self, ctx: &egui::Context) {
        if self.shared.repaint.get().is_none() {
            // An error means another call attached first, which is just as good.
            let _ = self.shared.repaint.set(ctx.clone());
        }
    }

    /// The newest frame, if one arrived since the last call.
    pub fn take_newest_frame(&self) -> Option<Frame> {
        self.frames_rx.try_iter().last()
    }

    /// The next state event, if any.
    pub fn next_event(&self) -> Option<FeedEvent> {
        self.events_rx.try_recv().ok()
    }

    /// While frozen the worker stops asking for a repaint per frame.
    pub fn set_live_view(&self, live_view: bool) {
        self.shared.live_view.store(live_view, Ordering::Relaxed);
    }

    /// What the writer last said about itself (daemon sources; `None` for others).
    pub fn writer_report(&self) -> Option<WriterReport> {
        lock(&self.shared.writer).clone()
    }

    /// Whether a change of the writer's metrics alone should wake the GUI (the health panel is
    /// open).
    pub fn set_wants_metrics(&self, wants_metrics: bool) {
        self.shared
            .wants_metrics
            .store(wants_metrics, Ordering::Relaxed);
    }

    pub fn stats(&self) -> LinkStats {
        let last = self.shared.last_received_mono_ns.load(Ordering::Relaxed);
        LinkStats {
            received: self.shared.received.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            last_received_mono_ns: (last != 0).then_some(last),
        }
    }
}

impl Drop for FrameLink {
    fn drop(&mut self) {
        self.shared.viewer_attached.store(false, Ordering::Relaxed);
    }
}

/// The report behind `mutex`; a panic elsewhere left a whole value, so poisoning is ignored.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A feed filled by hand through its [`FrameSender`]: tests, tools, anything that produces
/// frames on its own thread.
#[derive(Debug)]
pub struct ChannelFeed {
    origin: Origin,
    link: FrameLink,
}

impl ChannelFeed {
    pub fn new(origin: Origin) -> (ChannelFeed, FrameSender) {
        let (sender, link) = frame_link();
        (ChannelFeed { origin, link }, sender)
    }
}

impl FrameFeed for ChannelFeed {
    fn origin(&self) -> Origin {
        self.origin
    }

    fn link(&self) -> &FrameLink {
        &self.link
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::test_frames::plane_frame;

    #[test]
    fn a_newer_frame_replaces_the_waiting_one() {
        let (mut sender, link) = frame_link();
        for number in 1..=5 {
            sender.send_frame(plane_frame(number, 4, 4, 1000));
        }
        assert_eq!(link.take_newest_frame().map(|f| f.frame_number), Some(5));
        assert_eq!(link.take_newest_frame(), None);
        let stats = link.stats();
        assert_eq!((stats.received, stats.dropped), (5, 4));
        assert!(stats.last_received_mono_ns.is_some());
    }

    #[test]
    fn gaps_in_frame_numbers_count_as_dropped_but_a_restart_does_not() {
        let (mut sender, link) = frame_link();
        for number in [1, 2, 5, 1] {
            sender.send_frame(plane_frame(number, 4, 4, 1000));
            link.take_newest_frame();
        }
        assert_eq!(link.stats().dropped, 2);
    }

    #[test]
    fn frames_replaced_while_frozen_are_not_dropped() {
        let (mut sender, link) = frame_link();
        link.set_live_view(false);
        for number in 1..=3 {
            sender.send_frame(plane_frame(number, 4, 4, 1000));
        }
        assert_eq!(link.stats().dropped, 0);
        assert_eq!(link.take_newest_frame().map(|f| f.frame_number), Some(3));
    }

    #[test]
    fn writer_reports_wake_the_gui_only_when_something_shown_changed() {
        use std::sync::atomic::AtomicU32;

        let (mut sender, link) = frame_link();
        let ctx = egui::Context::default();
        let woken = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&woken);
        ctx.set_request_repaint_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        link.attach(&ctx);
        // egui reports a repaint request once per pass: let it settle, then count the
        // requests one report makes.
        let count = |sender: &mut FrameSender, report: WriterReport| {
            for _ in 0..5 {
                let mut output = ctx.run_ui(egui::RawInput::default(), |_| {});
                output.textures_delta.clear();
                if !ctx.has_requested_repaint() {
                    break;
                }
            }
            woken.store(0, Ordering::Relaxed);
            sender.report_writer(report);
            woken.load(Ordering::Relaxed)
        };
        let report = |state, uptime_s| WriterReport {
            state,
            message: None,
            metrics: Some(DaemonMetrics {
                uptime_s,
                ..DaemonMetrics::default()
            }),
            updated_wall_ns: 1,
            read_error: None,
        };
        assert_eq!(count(&mut sender, report(SourceState::Streaming, 1.0)), 1);
        assert_eq!(
            count(&mut sender, report(SourceState::Streaming, 1.0)),
            0,
            "the same again"
        );
        assert_eq!(
            count(&mut sender, report(SourceState::Streaming, 2.0)),
            0,
            "new metrics nobody looks at"
        );
        link.set_wants_metrics(true);
        assert_eq!(
            count(&mut sender, report(SourceState::Streaming, 3.0)),
            1,
            "the health panel is open"
        );
        link.set_wants_metrics(false);
        assert_eq!(
            count(&mut sender, report(SourceState::Paused, 3.0)),
            1,
            "a new state"
        );
        assert_eq!(
            link.writer_report().map(|report| report.state),
            Some(SourceState::Paused)
        );
        sender.send_event(FeedEvent::Lost {
            reason: "gone".to_owned(),
        });
        assert_eq!(
            link.writer_report(),
            None,
            "a report belongs to one connection"
        );
    }

    #[test]
    fn worker_learns_that_the_viewer_left() {
        let (sender, link) = frame_link();
        assert!(!sender.is_viewer_gone());
        drop(link);
        assert!(sender.is_viewer_gone());
    }
}
