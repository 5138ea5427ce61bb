//! What feeds frames to the viewer: the [`FrameFeed`] trait and its implementations, the
//! daemon ([`daemon`], through `shmproto`), a camera `Source` run inside the app ([`local`]),
//! a camera on another machine through a Zenoh bridge (`remote`, cargo feature `zenoh`), and a
//! feed the caller fills by hand ([`ChannelFeed`]).
//!
//! (A camera is a `camera_sources::Source`; a feed is the viewer's side of whatever delivers
//! frames to it, one of which runs such a `Source`.)
//!
//! Every feed runs its device on a worker thread of its own and hands frames to the GUI
//! through a [`link`]: a bounded channel of capacity 1 that replaces the old frame rather than
//! queueing (a slow GUI skips frames, it never lags behind), plus a channel of rare state
//! events. The worker asks egui for a repaint on each frame and event, so the GUI only runs
//! when there is something new.

pub mod daemon;
pub mod link;
pub mod local;
#[cfg(feature = "zenoh")]
pub mod remote;

use std::fmt;

use shmproto::SourceKind;

pub use link::{frame_link, ChannelFeed, FrameLink, FrameSender, LinkStats, WriterReport};

/// Where a feed's frames come from, as the status bar names it ("Source: daemon").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The capture daemon, through shared memory.
    Daemon,
    /// A `camera_sources::Source` run inside the app (the webcam fallback, or the
    /// synthetic scene).
    InApp(SourceKind),
    /// A camera on another machine, through a Zenoh bridge (`aaa --remote`).
    Remote,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Daemon => f.write_str("daemon"),
            Origin::InApp(SourceKind::Webcam) => f.write_str("webcam"),
            Origin::InApp(kind) => write!(f, "{kind} (in-app)"),
            Origin::Remote => f.write_str("remote"),
        }
    }
}

/// A change in a feed's connection, sent by its worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    /// The source is not there (yet); the worker keeps looking. `detail` says what it looks for.
    Searching { detail: String },
    /// The source was opened; frames follow. `detail` describes it (writer pid, device).
    Connected { detail: String },
    /// The source is there but could not be opened; the worker retries.
    OpenFailed { error: String },
    /// The source was delivering and stopped (daemon died or quit, camera unplugged); the
    /// worker tries to reconnect.
    Lost { reason: String },
}

/// Frames for the viewer: the GUI side of a worker thread.
pub trait FrameFeed {
    /// What the status bar calls this feed's source.
    fn origin(&self) -> Origin;

    /// What the status bar says the source is: the origin, or more where there is more to say
    /// (a remote feed names its endpoint and key).
    fn describe(&self) -> String {
        self.origin().to_string()
    }

    /// The channels the worker feeds.
    fn link(&self) -> &FrameLink;

    /// Detection results that came with the frames since the last call (a remote camera's
    /// daemon detects on its own host); none for the other feeds, whose daemon's results are
    /// read from shared memory.
    fn take_detections(&self) -> Vec<shmproto::DetectionResult> {
        Vec::new()
    }
}
