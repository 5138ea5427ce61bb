//! Looking at a namespace from the outside: which segments exist, who owns them, and whether
//! their writer lives. Used by status and cleanup tools; never needs the writer's cooperation.

use std::time::Duration;

use crate::error::{CreateError, OpenError};
use crate::liveness::Liveness;
use crate::segment::{self, SegmentError, SegmentStat};
use crate::session::Session;
use crate::status::WriterStatus;
use crate::{Geometry, Namespace, Reader};

/// One segment name and what the operating system says about it.
#[derive(Debug, Clone)]
pub struct SegmentReport {
    pub name: String,
    /// `None` when the segment does not exist or cannot be opened (see `state`).
    pub stat: Option<SegmentStat>,
    pub state: SegmentState,
}

/// Whether a segment name is in use, and whether this user can look at what uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentState {
    Absent,
    /// A regular file this user can open (`stat` holds its details).
    Present,
    /// It exists but belongs to another user who keeps it private: `uid` when the system can
    /// tell (Linux).
    Foreign {
        uid: Option<u32>,
    },
    /// Something that is not a segment has the name (a FIFO, a directory...), or it could
    /// not be examined; the text says which.
    Unusable(String),
}

/// The writer described by a namespace's control segment.
#[derive(Debug, Clone)]
pub struct WriterReport {
    pub liveness: Liveness,
    pub geometry: Geometry,
    pub started_wall_ns: u64,
    pub frames_published: u64,
    pub last_publish_age: Option<Duration>,
    pub status: Option<WriterStatus>,
}

/// Everything `inspect` found.
#[derive(Debug, Clone)]
pub struct NamespaceReport {
    pub namespace: Namespace,
    pub segments: Vec<SegmentReport>,
    /// The writer, when the control segment is valid.
    pub writer: Option<WriterReport>,
    /// Why the segments could not be read, when some exist but do not form a valid session.
    pub problem: Option<String>,
}

impl NamespaceReport {
    pub fn any_segment_exists(&self) -> bool {
        self.segments
            .iter()
            .any(|segment| segment.state != SegmentState::Absent)
    }

    /// Segments exist but no writer holds them ([`Liveness::holds_segments`]), and this user
    /// can tell (segments of another user are not judged).
    pub fn is_stale(&self) -> bool {
        self.any_segment_exists()
            && self.foreign_owner().is_none()
            && !self
                .writer
                .as_ref()
                .is_some_and(|writer| writer.liveness.holds_segments())
    }

    /// The owner of segments this user may not open, if there are such segments.
    pub fn foreign_owner(&self) -> Option<u32> {
        self.segments
            .iter()
            .find_map(|segment| match &segment.state {
                SegmentState::Foreign { uid } => Some(uid.unwrap_or(u32::MAX)),
                _ => None,
            })
    }
}

/// Reports on the segments of `namespace`.
pub fn inspect(namespace: &Namespace) -> NamespaceReport {
    let segments: Vec<SegmentReport> = namespace
        .segment_names()
        .into_iter()
        .map(|name| {
            let (stat, state) = match segment::stat(&name) {
                Ok(stat) => (Some(stat), SegmentState::Present),
                Err(SegmentError::NotFound { .. }) => (None, SegmentState::Absent),
                Err(SegmentError::PermissionDenied { .. }) => (
                    None,
                    SegmentState::Foreign {
                        uid: segment::owner_uid(&name),
                    },
                ),
                Err(error) => (None, SegmentState::Unusable(error.to_string())),
            };
            SegmentReport { name, stat, state }
        })
        .collect();
    let mut report = NamespaceReport {
        namespace: namespace.clone(),
        segments,
        writer: None,
        problem: None,
    };
    if !report.any_segment_exists() {
        return report;
    }
    match Session::open(namespace) {
        Ok(session) => {
            let liveness = session.liveness();
            let reader = Reader::from_session(session, namespace.clone());
            report.writer = Some(WriterReport {
                liveness,
                geometry: reader.geometry(),
                started_wall_ns: reader.writer_started_wall_ns(),
                frames_published: reader.frames_published(),
                last_publish_age: reader.last_publish_age(),
                status: match reader.writer_status() {
                    Ok(status) => status,
                    Err(error) => {
                        report.problem = Some(error.to_string());
                        None
                    }
                },
            });
        }
        Err(OpenError::NotLive { liveness, .. }) => {
            report.problem = Some(liveness.to_string());
        }
        Err(error) => report.problem = Some(error.to_string()),
    }
    report
}

/// Removes the segments of `namespace` unless a live (or starting) writer owns them. Returns
/// the names removed.
pub fn remove_stale(namespace: &Namespace) -> Result<Vec<String>, CreateError> {
    if crate::writer::leftovers(namespace, None)?.is_none() {
        return Ok(Vec::new());
    }
    let mut removed = Vec::new();
    for name in namespace.segment_names() {
        match segment::unlink(&name) {
            Ok(()) => removed.push(name),
            Err(SegmentError::NotFound { .. }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(removed)
}
