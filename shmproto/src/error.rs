//! Errors of the writer and reader sides.

use crate::layout::LayoutError;
use crate::liveness::Liveness;
use crate::segment::SegmentError;

/// Why a reader could not attach to a namespace.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Segment(#[from] SegmentError),
    /// A segment's bytes do not describe a valid protocol segment.
    #[error("shared-memory segment {segment} is invalid: {problem}")]
    Invalid {
        segment: String,
        problem: LayoutError,
    },
    /// The segments belong to different writers (one was replaced while we opened them).
    #[error("shared-memory segment {segment} belongs to writer session {found:#x}, expected {expected:#x} (writer restarted; try again)")]
    SessionMismatch {
        segment: String,
        expected: u64,
        found: u64,
    },
    /// The segments exist but their writer is not live.
    #[error("segments of namespace {namespace} are not usable: {liveness}")]
    NotLive {
        namespace: String,
        liveness: Liveness,
    },
}

impl OpenError {
    /// Transient, or no segments yet: a writer may appear soon.
    pub fn may_appear_soon(&self) -> bool {
        self.is_transient() || matches!(self, OpenError::Segment(SegmentError::NotFound { .. }))
    }

    /// Whether opening again shortly may succeed (writer starting or being replaced).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            OpenError::SessionMismatch { .. }
                | OpenError::NotLive {
                    liveness: Liveness::Starting { .. } | Liveness::Replaced { .. },
                    ..
                }
        ) || self.is_being_created()
    }

    /// A segment a writer has just created: still zero-filled (no magic yet) or without
    /// bytes. Its writer writes the header a few microseconds later (protocol.md, "Known
    /// limitations"), so this is a writer starting, not a corrupt segment.
    fn is_being_created(&self) -> bool {
        match self {
            OpenError::Invalid {
                problem: LayoutError::Magic { found, .. },
                ..
            } => found.bytes().all(|byte| byte == 0),
            OpenError::Invalid {
                problem: LayoutError::TooSmall { found: 0, .. },
                ..
            } => true,
            _ => false,
        }
    }
}

/// Why a writer could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Geometry(#[from] crate::GeometryError),
    #[error("invalid writer configuration: {0}")]
    Config(String),
    /// Another writer is alive in this namespace; it must be stopped first.
    #[error("another writer (pid {pid}) is alive in namespace {namespace}; stop it first")]
    WriterAlive { pid: u32, namespace: String },
    #[error(transparent)]
    Segment(#[from] SegmentError),
}

/// Why a frame or status could not be published. Nothing is published in that case.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{plane} plane has {found} bytes, the writer's geometry needs {expected}")]
    PlaneSize {
        plane: &'static str,
        expected: usize,
        found: usize,
    },
    #[error("{what} JSON is {len} bytes, more than the {capacity} reserved for it")]
    JsonTooLarge {
        what: &'static str,
        len: usize,
        capacity: usize,
    },
    /// A number that JSON cannot carry (`serde_json` would write `null`, which readers
    /// refuse): `field` names it, e.g. `detections[2].score`.
    #[error("{what} field {field} is NaN or infinite; JSON cannot carry it")]
    NotFinite { what: &'static str, field: String },
    #[error("cannot encode {what} as JSON: {source}")]
    Json {
        what: &'static str,
        source: serde_json::Error,
    },
    /// A slot's plane lies outside its segment: a bug in this crate, never caused by readers.
    #[error("the writer's slot layout does not fit its segments")]
    Layout,
    /// A segment's file was truncated under the writer (its owner can): frames written into
    /// it reach nobody. Move to new segments ([`crate::Writer::replace`]).
    #[error("shared-memory segment {segment} was truncated by another process; frames written to it reach no reader")]
    SegmentLost { segment: String },
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The writer stopped or died; open the namespace again when it is back.
    #[error("{0}")]
    WriterGone(Liveness),
    /// A record in shared memory is impossible (a broken or hostile writer).
    #[error("shared-memory segment {segment} is corrupt: {problem}")]
    Corrupt { segment: String, problem: String },
    /// The frame's metadata is not valid JSON of the expected shape.
    #[error("frame metadata is not valid: {0}")]
    Metadata(#[from] serde_json::Error),
    /// A detection result in the detections segment is not valid JSON of the expected shape
    /// (a broken or hostile writer). Only that result is lost: the next read waits for the
    /// next one.
    #[error("detection result in shared-memory segment {segment} is not valid: {source}")]
    Detections {
        segment: String,
        source: serde_json::Error,
    },
    /// The writer-status record is not valid JSON of the expected shape.
    #[error("the writer status record is not valid: {0}")]
    Status(serde_json::Error),
    /// A segment's file was truncated under this reader: its writer's frames no longer reach
    /// it. Open the namespace again.
    #[error("shared-memory segment {segment} was truncated; open the namespace again")]
    SegmentLost { segment: String },
    /// An in-place read ([`crate::Reader::read_in_place`]) looked at publish `publish_seq`
    /// while the writer was overwriting its slot: what the closure made of it was discarded.
    /// Nothing is wrong; read again (a newer frame is there).
    #[error("frame {publish_seq} was overwritten while it was read in place; read again")]
    Overwritten { publish_seq: u64 },
}
