//! Looking at a namespace from the outside: which segments exist, who owns them, and whether
//! their writers live (the frame writer's three segments and the detections writer's one).
//! Used by status and cleanup tools; never needs the writers' cooperation.

use std::time::Duration;

use crate::detections_session::DetectionsSession;
use crate::error::{CreateError, OpenError};
use crate::liveness::Liveness;
use crate::ring::Ring;
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

/// The detections writer described by a namespace's detections segment.
#[derive(Debug, Clone)]
pub struct DetectionsReport {
    pub liveness: Liveness,
    pub started_wall_ns: u64,
    pub results_published: u64,
    pub last_publish_age: Option<Duration>,
}

/// Everything `inspect` found.
#[derive(Debug, Clone)]
pub struct NamespaceReport {
    pub namespace: Namespace,
    /// The frame writer's segments (colour, depth, metadata), then the detections segment
    /// (`Namespace::all_segment_names`), whether they exist or not.
    pub segments: Vec<SegmentReport>,
    /// The frame writer, when the control segment is valid.
    pub writer: Option<WriterReport>,
    /// Why the frame segments could not be read, when some exist but do not form a valid
    /// session.
    pub problem: Option<String>,
    /// The detections writer, when the detections segment is valid. No detections segment is
    /// normal: detection is off.
    pub detections: Option<DetectionsReport>,
    /// Why the detections segment could not be read, when it exists but is not valid.
    pub detections_problem: Option<String>,
}

impl NamespaceReport {
    pub fn any_segment_exists(&self) -> bool {
        self.segments
            .iter()
            .any(|segment| segment.state != SegmentState::Absent)
    }

    /// Segments exist but no writer holds them ([`Liveness::holds_segments`]): neither the
    /// frame writer nor the detections writer, and this user can tell (segments of another
    /// user are not judged). Exactly when [`remove_stale`] removes them.
    pub fn is_stale(&self) -> bool {
        self.any_segment_exists() && self.foreign_owner().is_none() && !self.writer_holds()
    }

    /// Whether a writer of the namespace (frames or detections) holds its segments.
    pub fn writer_holds(&self) -> bool {
        let frames = self.writer.as_ref().map(|writer| writer.liveness);
        let detections = self.detections.as_ref().map(|report| report.liveness);
        frames
            .into_iter()
            .chain(detections)
            .any(|liveness| liveness.holds_segments())
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
        .all_segment_names()
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
    let exists = |names: &[String]| {
        segments
            .iter()
            .any(|segment| names.contains(&segment.name) && segment.state != SegmentState::Absent)
    };
    let frames_exist = exists(&namespace.segment_names());
    let detections_exist = exists(&[namespace.detections_segment()]);
    let mut report = NamespaceReport {
        namespace: namespace.clone(),
        segments,
        writer: None,
        problem: None,
        detections: None,
        detections_problem: None,
    };
    if frames_exist {
        inspect_frames(&mut report);
    }
    if detections_exist {
        match DetectionsSession::open(namespace) {
            Ok(session) => {
                report.detections = Some(DetectionsReport {
                    liveness: session.liveness(),
                    started_wall_ns: session.header.started_wall_ns,
                    results_published: session.published(),
                    last_publish_age: session.last_publish_age(),
                })
            }
            Err(OpenError::NotLive { liveness, .. }) => {
                report.detections_problem = Some(liveness.to_string());
            }
            Err(error) => report.detections_problem = Some(error.to_string()),
        }
    }
    report
}

/// Fills in the frame writer of `report`'s namespace.
fn inspect_frames(report: &mut NamespaceReport) {
    let namespace = &report.namespace;
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
}

/// Removes the segments of `namespace` (the frame writer's and the detections segment) unless
/// a writer holds them: a live (or starting) frame writer or detections writer makes it
/// refuse with [`CreateError::WriterAlive`] and remove nothing, so that cleanup never removes
/// half of a running daemon's segments. Returns the names removed.
pub fn remove_stale(namespace: &Namespace) -> Result<Vec<String>, CreateError> {
    let frames = namespace.segment_names();
    let detections = [namespace.detections_segment()];
    let frames_left = crate::reclaim::leftovers(namespace, &frames, None, || {
        Session::open(namespace).map(|session| session.liveness())
    })?;
    let detections_left = crate::reclaim::leftovers(namespace, &detections, None, || {
        DetectionsSession::open(namespace).map(|session| session.liveness())
    })?;
    let mut doomed: Vec<&String> = Vec::new();
    if frames_left.is_some() {
        doomed.extend(&frames);
    }
    if detections_left.is_some() {
        doomed.extend(&detections);
    }
    let mut removed = Vec::new();
    for name in doomed {
        match segment::unlink(name) {
            Ok(()) => removed.push(name.clone()),
            Err(SegmentError::NotFound { .. }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(removed)
}
