//! The reader of the detections segment: copies whole results out of shared memory (never a
//! torn or half-written one), parses them, and waits for the next one on the futex
//! (docs/protocol.md, section 19).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::cursor::Cursor;
use crate::detections_session::DetectionsSession;
use crate::detections_writer::SourceFrame;
use crate::error::{OpenError, ReadError};
use crate::layout::SLOT_FRAME_SESSION;
use crate::liveness::Liveness;
use crate::ring::{self, Ring};
use crate::{DetectionResult, Namespace};

/// One result as the writer published it.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedDetections {
    /// Position of this result in the writer's publish order, starting at 1.
    pub publish_seq: u64,
    /// When the writer finished publishing it, on `CLOCK_MONOTONIC`.
    pub publish_mono_ns: u64,
    /// The frame it was computed from, as far as the writer said (0 in a field: not told).
    /// `result.frame_number` names the frame too.
    pub source_frame: SourceFrame,
    pub result: DetectionResult,
}

/// A client of one namespace's detections segment. Many readers (in any number of
/// processes) can read at once; readers never write to shared memory.
pub struct DetectionsReader {
    session: DetectionsSession,
    namespace: Namespace,
    cursor: Cursor,
    /// Room for one result's JSON (`result_capacity` bytes), reused for every read.
    json: Vec<u8>,
    /// The newest result returned, for [`DetectionsReader::read_latest`].
    latest: Option<PublishedDetections>,
}

impl DetectionsReader {
    /// Attaches to the live detections writer of `namespace`. The errors are those of
    /// [`crate::Reader::open`]: no segment (`Segment(NotFound)`: detection is not on), a
    /// segment that is not a private regular file of ours, invalid bytes (`Invalid`), a
    /// writer that is not live (`NotLive`).
    pub fn open(namespace: &Namespace) -> Result<Self, OpenError> {
        let session = DetectionsSession::open(namespace)?;
        let liveness = session.liveness();
        if !liveness.is_live() {
            return Err(OpenError::NotLive {
                namespace: namespace.to_string(),
                liveness,
            });
        }
        let json = vec![0u8; session.result_capacity()];
        Ok(DetectionsReader {
            session,
            namespace: namespace.clone(),
            cursor: Cursor::default(),
            json,
            latest: None,
        })
    }

    /// Like [`DetectionsReader::open`], but waits up to `timeout` for a writer that is
    /// starting or whose segment does not exist yet.
    pub fn open_waiting(namespace: &Namespace, timeout: Duration) -> Result<Self, OpenError> {
        let deadline = Instant::now() + timeout;
        loop {
            match DetectionsReader::open(namespace) {
                Err(error) if Instant::now() < deadline && error.may_appear_soon() => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                result => return result,
            }
        }
    }

    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    pub fn writer_pid(&self) -> u32 {
        self.session.header.writer_pid
    }

    pub fn session_id(&self) -> u64 {
        self.session.segment.session_id
    }

    /// When the writer started, nanoseconds since the Unix epoch.
    pub fn writer_started_wall_ns(&self) -> u64 {
        self.session.header.started_wall_ns
    }

    /// Bytes the writer reserved for each result's JSON.
    pub fn result_capacity(&self) -> u32 {
        self.session.header.result_capacity
    }

    pub fn liveness(&self) -> Liveness {
        self.session.liveness()
    }

    /// Results the writer has published since it started.
    pub fn results_published(&self) -> u64 {
        self.session.published()
    }

    /// How long ago the newest result was published, `None` before the first.
    pub fn last_publish_age(&self) -> Option<Duration> {
        self.session.last_publish_age()
    }

    /// The newest complete result: one published since the last call if there is one, else
    /// the one returned last (compare `publish_seq`); `Ok(None)` before the first. Never
    /// blocks. Fails when the writer is gone (once every result published before is
    /// returned) or a result is not valid (once; the next call goes on).
    pub fn read_latest(&mut self) -> Result<Option<PublishedDetections>, ReadError> {
        if let Some(newer) = self.read_newer()? {
            return Ok(Some(newer));
        }
        self.cursor.check_writer(&self.session)?;
        Ok(self.latest.clone())
    }

    /// Blocks until a result newer than the last one returned is published, then returns it.
    /// `Ok(None)` when `timeout` passes first with the writer still alive;
    /// `Err(ReadError::WriterGone)` as soon as the writer stops or dies (within 250 ms of its
    /// death). A result that is not valid JSON of the expected shape is an error once; the
    /// next call waits for the next result.
    pub fn wait_next(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<PublishedDetections>, ReadError> {
        let deadline = Instant::now() + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if !self.cursor.wait_for_publish(&self.session, remaining)? {
                return Ok(None);
            }
            if let Some(result) = self.read_newer()? {
                return Ok(Some(result));
            }
            // The writer lapped the ring during every copy attempt; wait for the next result.
            if Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    /// Reads the newest result if it is newer than the last one returned. The cursor moves
    /// past it before it is checked, so a broken result is reported once, not at every call.
    fn read_newer(&mut self) -> Result<Option<PublishedDetections>, ReadError> {
        let session = &self.session;
        let json = &mut self.json;
        let capacity = session.result_capacity();
        let read = self.cursor.read_newer(session, |publish_seq| {
            Ok(ring::read_slot(session, publish_seq, |slot, record| {
                // Relaxed: inside the seqlock; `read_slot` discards it if the slot changed.
                let frame_session = session
                    .slot_word(slot, SLOT_FRAME_SESSION)
                    .load(Ordering::Relaxed);
                let len = (record.fields.json_len as usize).min(capacity);
                // The range comes from the header validated against the mapped size at open.
                let copied = session
                    .control
                    .read_bytes(session.slot_data_offset(slot), &mut json[..len]);
                (frame_session, copied)
            }))
        })?;
        let Some((record, (frame_session, copied))) = read else {
            return Ok(None);
        };
        if let Some(segment) = session.lost_segment() {
            return Err(ReadError::SegmentLost {
                segment: segment.to_owned(),
            });
        }
        let slot = session.slot_of(record.publish_seq);
        let segment = session.control.name();
        let corrupt = |problem: String| ReadError::Corrupt {
            segment: segment.to_owned(),
            problem,
        };
        let len = record.fields.json_len as usize;
        if !copied {
            return Err(corrupt(format!("slot {slot} lies outside its segment")));
        }
        if len > capacity {
            return Err(corrupt(format!(
                "slot {slot} result length {len} exceeds its capacity {capacity}"
            )));
        }
        let result: DetectionResult =
            serde_json::from_slice(&json[..len]).map_err(|source| ReadError::Detections {
                segment: segment.to_owned(),
                source,
            })?;
        if result.frame_number != record.fields.frame_number {
            return Err(corrupt(format!(
                "slot {slot} names frame {} but its result frame {}",
                record.fields.frame_number, result.frame_number
            )));
        }
        let published = PublishedDetections {
            publish_seq: record.publish_seq,
            publish_mono_ns: record.publish_mono_ns,
            source_frame: SourceFrame {
                session_id: frame_session,
                capture_wall_ns: record.fields.capture_wall_ns,
                capture_mono_ns: record.fields.capture_mono_ns,
            },
            result,
        };
        self.latest = Some(published.clone());
        Ok(Some(published))
    }
}
