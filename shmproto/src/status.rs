//! The writer's status record: what the source is doing, independent of frames.
//!
//! Frames stop when a camera is unplugged; the status keeps telling readers why.

use serde::{Deserialize, Serialize};

use crate::metadata::SourceKind;

/// What the writer's source is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    /// Opening the source.
    Starting,
    /// Publishing frames.
    Streaming,
    /// Publishing deliberately paused.
    Paused,
    /// The source failed; the writer retries (see `message`).
    Error,
}

impl SourceState {
    /// The name on the wire and in messages: `streaming`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            SourceState::Starting => "starting",
            SourceState::Streaming => "streaming",
            SourceState::Paused => "paused",
            SourceState::Error => "error",
        }
    }
}

/// Published next to the frames, updated whenever the writer's situation changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriterStatus {
    pub state: SourceState,
    /// The last error, or other human-readable detail about `state`.
    pub message: Option<String>,
    pub source_kind: SourceKind,
    pub source_description: String,
    /// When this status was written, nanoseconds since the Unix epoch.
    pub updated_wall_ns: u64,
    /// Writer-specific details (the daemon's counters, its target fps, ...).
    #[serde(default)]
    pub extra: serde_json::Value,
}

/// Counters and rates of a running daemon: the `extra` field of its writer status, and the
/// answer to the `metrics` command (protocol.md lists the fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DaemonMetrics {
    pub pid: u32,
    pub uptime_s: f64,
    /// Frames per second published over the last measurement window.
    pub fps: f64,
    /// The frame rate asked for (0 = as fast as possible).
    pub target_fps: f64,
    pub frames_published: u64,
    /// Frames the source skipped (gaps in its frame numbers).
    pub frames_dropped: u64,
    /// Mean time to publish one frame (writing it into shared memory; rendering it there for
    /// the synthetic source), microseconds.
    pub publish_us: f64,
    /// Mean time from capture to the end of publishing, microseconds.
    pub capture_to_publish_us: f64,
    /// CPU used by the whole daemon over the last window, percent of one core.
    pub cpu_percent: f64,
    /// Resident memory, bytes.
    pub rss_bytes: u64,
    pub width: u32,
    pub height: u32,
    pub source_failures: u64,
    pub last_error: Option<String>,
    /// Live detection (absent from writers that do not detect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection: Option<crate::DetectionStatus>,
}
