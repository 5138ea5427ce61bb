//! A worker thread that runs any `camera_sources::Source` inside the app: the webcam
//! fallback, or the synthetic scene.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use camera_sources::{CapturedFrame, Source, SourceError};
use shmproto::SourceKind;

use super::{frame_link, FeedEvent, FrameFeed, FrameLink, FrameSender, Origin};
use crate::frame::Frame;

/// How long the worker waits before opening the source again after a failure.
const RETRY_PERIOD: Duration = Duration::from_secs(1);

/// Opens the source; called on the worker thread, again after each failure.
pub type SourceOpener = Box<dyn FnMut() -> Result<Box<dyn Source>, SourceError> + Send>;

/// One device can be open once: a new worker for the same device waits for the previous one to
/// close it. Share one lease between all the workers of a device.
pub type DeviceLease = Arc<Mutex<()>>;

/// Runs a [`Source`] on a worker thread of its own.
pub struct LocalFeed {
    origin: Origin,
    link: FrameLink,
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
}

impl LocalFeed {
    /// Starts the worker; it opens the source with `opener` once it holds `lease`.
    pub fn spawn(
        kind: SourceKind,
        opener: SourceOpener,
        lease: DeviceLease,
    ) -> std::io::Result<Self> {
        let (sender, link) = frame_link();
        let stop = Arc::new(AtomicBool::new(false));
        let worker_stop = Arc::clone(&stop);
        let worker = std::thread::Builder::new()
            .name(format!("{kind} source"))
            .spawn(move || {
                // A poisoned lease only means a previous worker panicked; the device is closed.
                let _lease = lease
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                run_worker(kind, opener, sender, &worker_stop);
            })?;
        Ok(LocalFeed {
            origin: Origin::InApp(kind),
            link,
            stop,
            worker: Some(worker),
        })
    }
}

impl FrameFeed for LocalFeed {
    fn origin(&self) -> Origin {
        self.origin
    }

    fn link(&self) -> &FrameLink {
        &self.link
    }
}

impl Drop for LocalFeed {
    /// Tells the worker to stop without waiting for it: it ends after the frame it waits for.
    fn drop(&mut self) {
        // Relaxed: the flag guards no data; the worker only needs to see it eventually.
        self.stop.store(true, Ordering::Relaxed);
        // Detach: joining could block the GUI for a camera frame period.
        drop(self.worker.take());
    }
}

fn run_worker(
    kind: SourceKind,
    mut opener: SourceOpener,
    mut sender: FrameSender,
    stop: &AtomicBool,
) {
    let should_stop =
        |sender: &FrameSender| stop.load(Ordering::Relaxed) || sender.is_viewer_gone();
    let mut last_open_error = None;
    while !should_stop(&sender) {
        let mut source = match opener() {
            Ok(source) => source,
            Err(err) => {
                let error = err.to_string();
                if last_open_error.as_ref() != Some(&error) {
                    tracing::warn!("{kind} source: {error}");
                    sender.send_event(FeedEvent::OpenFailed {
                        error: error.clone(),
                    });
                    last_open_error = Some(error);
                }
                sleep_unless_stopped(RETRY_PERIOD, || should_stop(&sender));
                continue;
            }
        };
        last_open_error = None;
        let info = source.info();
        tracing::info!("{kind} source opened: {}", info.description);
        sender.send_event(FeedEvent::Connected {
            detail: info.description.clone(),
        });
        let mut fps = FpsMeter::default();
        let mut captured = CapturedFrame::default();
        while !should_stop(&sender) {
            if let Err(err) = source.next_frame(&mut captured) {
                tracing::warn!("{kind} source: {err}");
                sender.send_event(FeedEvent::Lost {
                    reason: err.to_string(),
                });
                break;
            }
            let geometry = source.geometry();
            let metadata = info.frame_metadata(captured.stamp(), fps.tick());
            let rgb = std::mem::take(&mut captured.rgb);
            // The buffers no longer hold what the source drew into them.
            captured.contents_id = 0;
            match Frame::from_planes(geometry, rgb, &captured.depth, metadata, None) {
                Ok(frame) => sender.send_frame(frame),
                Err(err) => {
                    sender.send_event(FeedEvent::Lost {
                        reason: format!("the {kind} source delivered a malformed frame: {err}"),
                    });
                    break;
                }
            }
        }
        // Close the device before retrying or stopping.
        drop(source);
        sleep_unless_stopped(RETRY_PERIOD, || should_stop(&sender));
    }
    tracing::debug!("{kind} source worker stopped");
}

/// Sleeps in short steps so that a stop request is honoured quickly.
pub(crate) fn sleep_unless_stopped(total: Duration, should_stop: impl Fn() -> bool) {
    let deadline = Instant::now() + total;
    while !should_stop() {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(50)));
    }
}

/// Frames per second over about the last second.
#[derive(Default)]
struct FpsMeter {
    window_start: Option<Instant>,
    frames_in_window: u32,
    fps: f32,
}

impl FpsMeter {
    fn tick(&mut self) -> f32 {
        let now = Instant::now();
        let start = *self.window_start.get_or_insert(now);
        self.frames_in_window += 1;
        let elapsed = now.duration_since(start);
        if elapsed >= Duration::from_secs(1) {
            self.fps = self.frames_in_window as f32 / elapsed.as_secs_f32();
            self.window_start = Some(now);
            self.frames_in_window = 0;
        }
        self.fps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use camera_sources::SourceInfo;
    use shmproto::{Geometry, Intrinsics};

    /// A source that counts frames of a flat wall, and fails after `fail_after` frames.
    struct WallSource {
        next_number: u64,
        fail_after: u64,
    }

    impl Source for WallSource {
        fn geometry(&self) -> Geometry {
            Geometry::rgbd(8, 6)
        }

        fn info(&self) -> SourceInfo {
            SourceInfo {
                kind: SourceKind::Other,
                description: "wall".to_owned(),
                intrinsics: Some(Intrinsics::pinhole_from_fov(8, 6, 60.0)),
                depth_scale_m: Some(0.001),
                depth_aligned_to_color: true,
            }
        }

        fn next_frame(&mut self, frame: &mut CapturedFrame) -> Result<(), SourceError> {
            if self.next_number > self.fail_after {
                return Err(SourceError::Capture {
                    kind: SourceKind::Other,
                    reason: "unplugged".to_owned(),
                });
            }
            std::thread::sleep(Duration::from_millis(5));
            frame.frame_number = self.next_number;
            frame.capture_mono_ns = shmproto::monotonic_now_ns();
            frame.rgb = vec![7; 8 * 6 * 3];
            frame.depth = [0xE8, 0x03].repeat(8 * 6);
            self.next_number += 1;
            Ok(())
        }
    }

    fn next_event(link: &FrameLink) -> FeedEvent {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(event) = link.next_event() {
                return event;
            }
            assert!(Instant::now() < deadline, "no event from the worker");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn worker_delivers_frames_then_reports_the_loss() {
        let opener: SourceOpener = Box::new(|| {
            Ok(Box::new(WallSource {
                next_number: 1,
                fail_after: 3,
            }))
        });
        let feed = LocalFeed::spawn(SourceKind::Other, opener, DeviceLease::default()).unwrap();
        let link = feed.link();
        assert!(matches!(next_event(link), FeedEvent::Connected { .. }));
        assert_eq!(
            next_event(link),
            FeedEvent::Lost {
                reason: "the other source failed: unplugged".to_owned()
            }
        );
        let frame = link.take_newest_frame().expect("the last frame is waiting");
        assert_eq!(frame.frame_number, 3);
        assert_eq!(frame.depth_m_at([0, 0]), Some(1.0));
        assert_eq!(link.stats().received, 3);
    }

    /// Every frame the worker forwards is whole, not only the first (a source that redraws
    /// only what changed must not be fooled by the buffers the worker hands on).
    #[test]
    fn synthetic_frames_arrive_whole_frame_after_frame() {
        use camera_sources::synthetic::{SyntheticConfig, SyntheticSource};

        let config = SyntheticConfig {
            width: 320,
            height: 240,
            fps: 0.0,
            ..SyntheticConfig::default()
        };
        let opener: SourceOpener = Box::new(move || {
            SyntheticSource::new(config).map(|source| Box::new(source) as Box<dyn Source>)
        });
        let feed = LocalFeed::spawn(SourceKind::Synthetic, opener, DeviceLease::default()).unwrap();
        let link = feed.link();
        let deadline = Instant::now() + Duration::from_secs(10);
        let frame = loop {
            assert!(Instant::now() < deadline, "no frame past the fifth");
            match link.take_newest_frame() {
                Some(frame) if frame.frame_number >= 5 => break frame,
                _ => std::thread::sleep(Duration::from_millis(2)),
            }
        };
        // The same frame from a fresh source, into fresh buffers.
        let mut reference_source = SyntheticSource::new(config).unwrap();
        let mut reference = CapturedFrame::default();
        while reference.frame_number < frame.frame_number {
            reference_source.next_frame(&mut reference).unwrap();
        }
        assert!(
            frame.rgb == reference.rgb,
            "colour of frame {} differs",
            frame.frame_number
        );
    }

    #[test]
    fn open_failures_are_reported_once_and_retried() {
        let opener: SourceOpener = Box::new(|| {
            Err(SourceError::Open {
                kind: SourceKind::Webcam,
                reason: "no camera".to_owned(),
            })
        });
        let feed = LocalFeed::spawn(SourceKind::Webcam, opener, DeviceLease::default()).unwrap();
        assert_eq!(
            next_event(feed.link()),
            FeedEvent::OpenFailed {
                error: "cannot open the webcam source: no camera".to_owned()
            }
        );
        assert_eq!(feed.origin().to_string(), "webcam");
    }
}
