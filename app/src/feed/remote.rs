//! A camera on another machine as a feed: frames from an `aaa-camera-daemon bridge` over Zenoh
//! (`aaa --remote ENDPOINT`), through `zenoh_bridge::RemoteFeed`.
//!
//! The Zenoh session reconnects by itself when the bridge goes away and comes back; the worker
//! only turns what it sees into [`FeedEvent`]s: frames arriving is "connected", none for
//! [`LOST_AFTER`] is "lost" (with the reason: no bridge, or a bridge that sends nothing).
//! Decoding (CDR, RVL or zstd depth) runs on the worker thread, for the frames it takes; the
//! newest complete frame wins, so a slow GUI or link never builds up latency.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use zenoh_bridge::{KeyPrefix, RemoteFeed as BridgeFeed, RemoteFrame, SessionSettings};

use super::{frame_link, FeedEvent, FrameFeed, FrameLink, FrameSender, Origin};
use crate::frame::{Frame, FrameError};

/// Longest a wait for a frame blocks before the worker checks whether it should stop.
const WAIT_SLICE: Duration = Duration::from_millis(200);
/// No frame for this long after frames flowed: the remote camera is lost. Longer than a
/// reconnection (Zenoh retries within a second) would make a restart look like a pause.
pub const LOST_AFTER: Duration = Duration::from_secs(2);

/// Frames of one remote camera (a bridge's key prefix) on a worker thread.
pub struct RemoteFeed {
    link: FrameLink,
    /// Shared with the worker: it takes the frames, the GUI the detection results.
    bridge: Arc<BridgeFeed>,
    name: String,
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
}

impl RemoteFeed {
    /// Opens the Zenoh session (a bad endpoint or configuration is an error here, at once) and
    /// starts the worker. The bridge need not be there yet: frames come when it is.
    pub fn spawn(
        settings: &SessionSettings,
        prefix: &KeyPrefix,
    ) -> Result<Self, zenoh_bridge::BridgeError> {
        let bridge = Arc::new(BridgeFeed::open(settings, prefix)?);
        let feed = Arc::clone(&bridge);
        let name = format!("remote {} ({})", remote_locator(settings), prefix.as_str());
        let (sender, link) = frame_link();
        let stop = Arc::new(AtomicBool::new(false));
        let worker_stop = Arc::clone(&stop);
        let worker = std::thread::Builder::new()
            .name("remote source".to_owned())
            .spawn(move || run_worker(&feed, sender, &worker_stop))
            .map_err(|error| {
                zenoh_bridge::BridgeError::Local(format!("cannot start a thread: {error}"))
            })?;
        Ok(RemoteFeed {
            link,
            bridge,
            name,
            stop,
            worker: Some(worker),
        })
    }
}

/// The endpoint the user named, for the status bar ("tcp/10.0.0.2:7447").
fn remote_locator(settings: &SessionSettings) -> String {
    match &settings.endpoint {
        Some(endpoint) => endpoint.locator().to_owned(),
        None => "(endpoints of the configuration file)".to_owned(),
    }
}

impl FrameFeed for RemoteFeed {
    fn origin(&self) -> Origin {
        Origin::Remote
    }

    fn describe(&self) -> String {
        self.name.clone()
    }

    fn link(&self) -> &FrameLink {
        &self.link
    }

    fn take_detections(&self) -> Vec<shmproto::DetectionResult> {
        self.bridge.take_detections()
    }
}

impl Drop for RemoteFeed {
    /// Tells the worker to stop without waiting for it (it ends within `WAIT_SLICE`, closing
    /// the session).
    fn drop(&mut self) {
        // Relaxed: the flag guards no data; the worker only needs to see it eventually.
        self.stop.store(true, Ordering::Relaxed);
        drop(self.worker.take());
    }
}

/// Whether frames flow, as the worker last told the GUI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// Before the first frame, or after a loss was reported.
    Waiting,
    /// Frames arrive; the last one at this instant.
    Flowing { last_frame_at: Instant },
}

fn run_worker(feed: &BridgeFeed, mut sender: FrameSender, stop: &AtomicBool) {
    let should_stop =
        |sender: &FrameSender| stop.load(Ordering::Relaxed) || sender.is_viewer_gone();
    sender.send_event(FeedEvent::Searching {
        detail: format!(
            "a bridge ({}), key {}",
            feed.endpoint(),
            feed.prefix().as_str()
        ),
    });
    let mut flow = Flow::Waiting;
    let mut bad_frames = 0u64;
    while !should_stop(&sender) {
        match feed.next_frame(WAIT_SLICE) {
            Ok(Some(remote)) => match frame_from_remote(remote) {
                Ok(frame) => {
                    if flow == Flow::Waiting {
                        tracing::info!("remote camera: frames from {}", feed.endpoint());
                        sender.send_event(FeedEvent::Connected {
                            detail: format!("{}, key {}", feed.endpoint(), feed.prefix().as_str()),
                        });
                    }
                    flow = Flow::Flowing {
                        last_frame_at: Instant::now(),
                    };
                    sender.send_frame(frame);
                }
                Err(error) => {
                    bad_frames += 1;
                    if bad_frames == 1 {
                        tracing::warn!("dropping a remote frame that is not a frame: {error}");
                    }
                }
            },
            Ok(None) => {}
            // One frame whose messages do not decode is dropped, not a reason to disconnect.
            Err(error) => {
                bad_frames += 1;
                if bad_frames == 1 {
                    tracing::warn!("dropping a remote frame that does not decode: {error}");
                }
            }
        }
        if let Flow::Flowing { last_frame_at } = flow {
            if last_frame_at.elapsed() >= LOST_AFTER {
                let reason = if feed.connected() {
                    format!(
                        "the bridge sends no frames (none for {} s)",
                        LOST_AFTER.as_secs()
                    )
                } else {
                    "the bridge went away".to_owned()
                };
                tracing::warn!("remote camera lost: {reason}");
                sender.send_event(FeedEvent::Lost { reason });
                flow = Flow::Waiting;
            }
        }
    }
    tracing::debug!("remote source worker stopped");
}

/// The viewer's frame from a decoded remote frame (sizes checked again: the sender is another
/// machine).
pub fn frame_from_remote(remote: RemoteFrame) -> Result<Frame, FrameError> {
    Frame::from_depth_units(
        remote.geometry,
        remote.rgb,
        remote.depth_units,
        remote.metadata,
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_endpoint_is_refused_at_once() {
        let settings = SessionSettings::connect("tcp/no port here");
        let prefix: KeyPrefix = "aaa/test/remote".parse().unwrap();
        let error = RemoteFeed::spawn(&settings, &prefix).err().unwrap();
        assert!(
            error.to_string().contains("invalid Zenoh endpoint"),
            "{error}"
        );
    }
}
