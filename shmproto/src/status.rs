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
