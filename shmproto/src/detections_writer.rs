//! The writer of the detections segment: publishes one [`DetectionResult`] per slot, without
//! ever waiting for readers. Independent of the frame [`crate::Writer`]: detection can be
//! turned on after the frame writer exists, and off again (docs/protocol.md, section 19).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::detections_session::DetectionsSession;
use crate::error::{CreateError, PublishError};
use crate::frame::FrameHeader;
use crate::heartbeat::Heartbeat;
use crate::layout::{
    MAX_JSON_CAPACITY, MAX_SLOTS, MIN_JSON_CAPACITY, MIN_SLOTS, SLOT_FRAME_SESSION, STATE_CLOSED,
    STATE_LIVE,
};
use crate::reclaim;
use crate::ring::{self, Ring, SlotFields};
use crate::writer::SegmentOwner;
use crate::{DetectionResult, Namespace};

/// How a detections writer lays out its segment.
#[derive(Debug, Clone)]
pub struct DetectionsWriterConfig {
    pub namespace: Namespace,
    /// Give the segment to this user and group (mode 0600 either way), as the frame writer
    /// does with its segments.
    pub owner: Option<SegmentOwner>,
    /// Results kept in flight. 8 by default; `2..=64`.
    pub slot_count: u32,
    /// Bytes reserved for each result's JSON. 256 KiB by default; `1024..=1048576`.
    pub result_capacity: u32,
}

impl DetectionsWriterConfig {
    pub fn new(namespace: Namespace) -> Self {
        DetectionsWriterConfig {
            namespace,
            owner: None,
            slot_count: 8,
            result_capacity: 256 * 1024,
        }
    }

    fn validate(&self) -> Result<(), CreateError> {
        if !(MIN_SLOTS..=MAX_SLOTS).contains(&self.slot_count) {
            return Err(CreateError::Config(format!(
                "slot_count {} is outside {MIN_SLOTS}..={MAX_SLOTS}",
                self.slot_count
            )));
        }
        if !(MIN_JSON_CAPACITY..=MAX_JSON_CAPACITY).contains(&self.result_capacity) {
            return Err(CreateError::Config(format!(
                "result_capacity {} is outside {MIN_JSON_CAPACITY}..={MAX_JSON_CAPACITY}",
                self.result_capacity
            )));
        }
        Ok(())
    }
}

/// The frame a result was computed from, as the frame writer published it: stored in the
/// result's slot record beside the JSON (0 in a field: not known).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SourceFrame {
    /// `session_id` of the frame segments the frame was read from ([`crate::Reader::session_id`]):
    /// frame numbers start again in a new frame-writer session.
    pub session_id: u64,
    /// The frame's capture time, nanoseconds since the Unix epoch.
    pub capture_wall_ns: u64,
    /// The frame's capture time on `CLOCK_MONOTONIC`.
    pub capture_mono_ns: u64,
}

impl SourceFrame {
    /// The frame whose header is `header`, read from the frame segments of session
    /// `session_id`.
    pub fn new(session_id: u64, header: &FrameHeader) -> Self {
        SourceFrame {
            session_id,
            capture_wall_ns: header.capture_wall_ns,
            capture_mono_ns: header.capture_mono_ns,
        }
    }
}

/// The publishing side of a namespace's detections segment. One per namespace at a time;
/// dropping it marks the segment closed (readers notice at once) and removes it.
pub struct DetectionsWriter {
    session: Arc<DetectionsSession>,
    namespace: Namespace,
    published: u64,
    json: Vec<u8>,
    reclaimed: Option<String>,
    heartbeat: Option<Heartbeat>,
}

impl DetectionsWriter {
    /// Creates the detections segment of `config.namespace` and goes live.
    ///
    /// A segment left by a detections writer that is gone, or that is not a valid detections
    /// segment, is removed and recreated (see [`DetectionsWriter::reclaimed`]); a live one
    /// makes this fail with [`CreateError::WriterAlive`]. The frame segments are not touched.
    pub fn create(config: DetectionsWriterConfig) -> Result<Self, CreateError> {
        config.validate()?;
        let namespace = &config.namespace;
        let names = [namespace.detections_segment()];
        let (session, reclaimed) = reclaim::create_reclaiming(
            || {
                reclaim::reclaim(
                    namespace,
                    &names,
                    config.owner.map(|owner| owner.uid),
                    || DetectionsSession::open(namespace).map(|session| session.liveness()),
                )
            },
            || {
                DetectionsSession::create(
                    namespace,
                    config.slot_count,
                    config.result_capacity,
                    config.owner,
                )
            },
        )?;
        let session = Arc::new(session);
        let heartbeat = Heartbeat::start(Arc::clone(&session))?;
        // Release: publishes the whole header (written before) to readers that load the state
        // with Acquire and see LIVE.
        session.state().store(STATE_LIVE, Ordering::Release);
        Ok(DetectionsWriter {
            session,
            namespace: config.namespace,
            published: 0,
            json: Vec::new(),
            reclaimed,
            heartbeat: Some(heartbeat),
        })
    }

    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    pub fn session_id(&self) -> u64 {
        self.session.segment.session_id
    }

    /// Bytes reserved for each result's JSON.
    pub fn result_capacity(&self) -> u32 {
        self.session.header.result_capacity
    }

    /// What was found and removed under the segment's name when the writer was created, if
    /// anything ("writer gone (process 123 no longer exists)", "invalid segment ...").
    pub fn reclaimed(&self) -> Option<&str> {
        self.reclaimed.as_deref()
    }

    /// Results published so far.
    pub fn results_published(&self) -> u64 {
        self.published
    }

    /// Publishes one result; its slot record names no source frame beyond the result's own
    /// `frame_number` (see [`DetectionsWriter::publish_for_frame`]). Never waits for readers.
    /// Returns the result's publish number (1, 2, ...).
    pub fn publish(&mut self, result: &DetectionResult) -> Result<u64, PublishError> {
        self.publish_for_frame(result, SourceFrame::default())
    }

    /// Publishes one result computed from `source`, whose session and capture times go into
    /// the slot record. Never waits for readers. Fails without publishing anything when the
    /// JSON does not fit `result_capacity` ([`PublishError::JsonTooLarge`]) or a number in the
    /// result is NaN or infinite ([`PublishError::NotFinite`]: JSON cannot carry it).
    pub fn publish_for_frame(
        &mut self,
        result: &DetectionResult,
        source: SourceFrame,
    ) -> Result<u64, PublishError> {
        const WHAT: &str = "detection result";
        if let Some(field) = first_non_finite(result) {
            return Err(PublishError::NotFinite { what: WHAT, field });
        }
        self.json.clear();
        serde_json::to_writer(&mut self.json, result)
            .map_err(|source| PublishError::Json { what: WHAT, source })?;
        let session = &*self.session;
        let capacity = session.result_capacity();
        if self.json.len() > capacity {
            return Err(PublishError::JsonTooLarge {
                what: WHAT,
                len: self.json.len(),
                capacity,
            });
        }
        let publish_seq = self.published + 1;
        let fields = SlotFields {
            frame_number: result.frame_number,
            capture_wall_ns: source.capture_wall_ns,
            capture_mono_ns: source.capture_mono_ns,
            json_len: self.json.len() as u32,
        };
        let json = &self.json;
        ring::publish_slot(session, publish_seq, &fields, |slot| {
            // Relaxed: inside the slot's seqlock, published with the rest of the slot by the
            // Release store of the even sequence.
            session
                .slot_word(slot, SLOT_FRAME_SESSION)
                .store(source.session_id, Ordering::Relaxed);
            // The slot's range comes from the layout this writer created; if it did not fit,
            // nothing is published.
            if session
                .control
                .write_bytes(session.slot_data_offset(slot), json)
            {
                Ok(())
            } else {
                Err(PublishError::Layout)
            }
        })?;
        self.published = publish_seq;
        if let Some(segment) = session.lost_segment() {
            return Err(PublishError::SegmentLost {
                segment: segment.to_owned(),
            });
        }
        Ok(publish_seq)
    }
}

impl Drop for DetectionsWriter {
    fn drop(&mut self) {
        self.heartbeat = None;
        ring::close(&*self.session, STATE_CLOSED);
        reclaim::unlink_if_ours(&[self.namespace.detections_segment()], self.session_id());
    }
}

/// The first number of `result` that JSON cannot carry (NaN, infinite), by its path.
fn first_non_finite(result: &DetectionResult) -> Option<String> {
    let bad = |value: &f32| !value.is_finite();
    if bad(&result.score_threshold) {
        return Some("score_threshold".into());
    }
    if bad(&result.inference_ms) {
        return Some("inference_ms".into());
    }
    for (index, detection) in result.detections.iter().enumerate() {
        let position = detection.position.as_ref();
        let field = if bad(&detection.score) {
            "score"
        } else if detection.box_px.iter().any(bad) {
            "box_px"
        } else if position.is_some_and(|p| bad(&p.depth_m)) {
            "position.depth_m"
        } else if position.is_some_and(|p| p.point_m.iter().any(bad)) {
            "position.point_m"
        } else if position.is_some_and(|p| bad(&p.distance_m)) {
            "position.distance_m"
        } else if position
            .and_then(|p| p.extent_m.as_ref())
            .is_some_and(|extent| extent.iter().flatten().any(bad))
        {
            "position.extent_m"
        } else {
            continue;
        };
        return Some(format!("detections[{index}].{field}"));
    }
    None
}
