//! The reader (client) side: copies whole, consistent frames out of shared memory.

use std::sync::atomic::{fence, Ordering};
use std::time::{Duration, Instant};

use crate::error::{OpenError, ReadError};
use crate::frame::{FrameBuf, FrameHeader};
use crate::layout::{
    SLOT_CAPTURE_MONO, SLOT_CAPTURE_WALL, SLOT_FRAME_NUMBER, SLOT_METADATA_LEN, SLOT_PUBLISH_MONO,
    SLOT_PUBLISH_SEQ, SLOT_SEQ,
};
use crate::liveness::{Liveness, LIVENESS_CHECK_INTERVAL};
use crate::segment;
use crate::session::Session;
use crate::status::WriterStatus;
use crate::{Geometry, Namespace};

/// How often a read retries when the writer overwrote the slot during the copy, before it
/// gives up until the next publish. Each retry targets the newest frame, so it only fails
/// when the writer laps the whole ring during every copy.
const MAX_READ_ATTEMPTS: u32 = 64;

/// Whether the colour segment of `namespace` exists: the cheap "is a daemon there?" probe.
pub fn probe(namespace: &Namespace) -> bool {
    segment::exists(&namespace.rgb_segment())
}

/// A client of one namespace. Many readers (in any number of processes) can read at once;
/// readers never write to shared memory.
pub struct Reader {
    session: Session,
    namespace: Namespace,
    last_returned: u64,
    /// A publish number whose slot could not be read in [`MAX_READ_ATTEMPTS`] tries (a writer
    /// lapping the ring, or a `latest` naming no slot): not waited for again, so a broken
    /// writer cannot make its readers spin.
    unreadable: u64,
    /// When the pid and heartbeat were last checked (the state word is checked every time).
    last_full_check: std::cell::Cell<Option<Instant>>,
}

enum Attempt {
    Done,
    Raced,
}

impl Reader {
    /// Attaches to the live writer of `namespace`.
    pub fn open(namespace: &Namespace) -> Result<Self, OpenError> {
        let session = Session::open(namespace)?;
        let liveness = session.liveness();
        if !liveness.is_live() {
            return Err(OpenError::NotLive {
                namespace: namespace.to_string(),
                liveness,
            });
        }
        Ok(Reader {
            session,
            namespace: namespace.clone(),
            last_returned: 0,
            unreadable: 0,
            last_full_check: std::cell::Cell::new(None),
        })
    }

    /// Like [`Reader::open`], but waits up to `timeout` for a writer that is starting, being
    /// replaced (new geometry), or whose segments do not exist yet.
    pub fn open_waiting(namespace: &Namespace, timeout: Duration) -> Result<Self, OpenError> {
        let deadline = Instant::now() + timeout;
        loop {
            match Reader::open(namespace) {
                Err(error) if Instant::now() < deadline && error.may_appear_soon() => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                result => return result,
            }
        }
    }

    /// A reader over an already opened session, whatever its liveness (for inspection).
    pub(crate) fn from_session(session: Session, namespace: Namespace) -> Self {
        Reader {
            session,
            namespace,
            last_returned: 0,
            unreadable: 0,
            last_full_check: std::cell::Cell::new(None),
        }
    }

    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    pub fn geometry(&self) -> Geometry {
        self.session.header.geometry
    }

    pub fn writer_pid(&self) -> u32 {
        self.session.header.writer_pid
    }

    pub fn session_id(&self) -> u64 {
        self.session.layout.metadata.session_id
    }

    /// When the writer started, nanoseconds since the Unix epoch.
    pub fn writer_started_wall_ns(&self) -> u64 {
        self.session.header.started_wall_ns
    }

    pub fn liveness(&self) -> Liveness {
        self.session.liveness()
    }

    /// Frames the writer has published since it started.
    pub fn frames_published(&self) -> u64 {
        // Relaxed: an informational counter; no data is read through it.
        self.session.latest().load(Ordering::Relaxed)
    }

    /// How long ago the newest frame was published, `None` before the first frame. A live
    /// writer whose last publish is old is alive but not delivering (camera stalled, paused).
    pub fn last_publish_age(&self) -> Option<Duration> {
        let latest = self.frames_published();
        if latest == 0 {
            return None;
        }
        let slot = self.session.slot_of(latest);
        // Relaxed: an approximate age is all that is asked; a racing overwrite only makes the
        // timestamp newer.
        let published = self
            .session
            .slot_word(slot, SLOT_PUBLISH_MONO)
            .load(Ordering::Relaxed);
        Some(Duration::from_nanos(
            crate::monotonic_now_ns().saturating_sub(published),
        ))
    }

    /// Copies the newest frame into `frame` if it is newer than the last one this reader
    /// returned. `Ok(false)`: nothing newer (the writer is alive). Never blocks.
    pub fn read_latest(&mut self, frame: &mut FrameBuf) -> Result<bool, ReadError> {
        if self.read_newer(frame)? {
            return Ok(true);
        }
        // A truncated control segment reads as zeros (an "initializing" writer): say what it is.
        if let Some(segment) = self.session.lost_segment() {
            return Err(ReadError::SegmentLost {
                segment: segment.to_owned(),
            });
        }
        match self.liveness() {
            Liveness::Live { .. } => Ok(false),
            gone => Err(ReadError::WriterGone(gone)),
        }
    }

    /// Blocks until a frame newer than the last one returned is published, then copies it
    /// into `frame`. `Ok(false)` when `timeout` passes first with the writer still alive;
    /// `Err(ReadError::WriterGone)` as soon as the writer stops or dies (within 250 ms of its
    /// death).
    pub fn wait_next(
        &mut self,
        frame: &mut FrameBuf,
        timeout: Duration,
    ) -> Result<bool, ReadError> {
        let deadline = Instant::now() + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if !self.wait_for_publish(remaining)? {
                return Ok(false);
            }
            if self.read_newer(frame)? {
                return Ok(true);
            }
            // The writer lapped the ring during every copy attempt; wait for the next frame.
            if Instant::now() >= deadline {
                return Ok(false);
            }
        }
    }

    /// Blocks until a frame newer than the last one returned is published, without copying
    /// it. `Ok(true)`: one is there (read it with [`Reader::read_latest`]); `Ok(false)`: the
    /// timeout passed; `Err(ReadError::WriterGone)`: the writer stopped or died.
    pub fn wait_for_publish(&self, timeout: Duration) -> Result<bool, ReadError> {
        let deadline = Instant::now() + timeout;
        loop {
            // Acquire, and loaded before `latest` is checked: if this value already includes
            // the increment of some publish, that publish's `latest` store is visible to the
            // check below; otherwise the futex sees the word differ and returns at once. So no
            // publish between the check and the sleep can be slept through.
            let observed = self.session.wake_word().load(Ordering::Acquire);
            // Acquire: pairs with the writer's Release store of `latest`.
            let latest = self.session.latest().load(Ordering::Acquire);
            if latest > self.last_returned && latest != self.unreadable {
                return Ok(true);
            }
            self.check_writer()?;
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            let slice = (deadline - now).min(LIVENESS_CHECK_INTERVAL);
            crate::wait::wait_while_equal(self.session.wake_word(), observed, slice);
        }
    }

    /// Fails when the writer is gone. The state word is read every time (a clean close or a
    /// replacement is seen at once); the pid and heartbeat, which cost a system call and a
    /// /proc read, at most every [`LIVENESS_CHECK_INTERVAL`], not once per frame.
    fn check_writer(&self) -> Result<(), ReadError> {
        // Acquire: as in `Session::liveness`.
        let state = self.session.state().load(Ordering::Acquire);
        let due = self
            .last_full_check
            .get()
            .is_none_or(|at| at.elapsed() >= LIVENESS_CHECK_INTERVAL);
        if let Some(segment) = self.session.lost_segment() {
            return Err(ReadError::SegmentLost {
                segment: segment.to_owned(),
            });
        }
        if state == crate::layout::STATE_LIVE && !due {
            return Ok(());
        }
        self.last_full_check.set(Some(Instant::now()));
        match self.liveness() {
            Liveness::Live { .. } => Ok(()),
            gone => Err(ReadError::WriterGone(gone)),
        }
    }

    /// The writer's status record, `None` if the writer never wrote one.
    pub fn writer_status(&self) -> Result<Option<WriterStatus>, ReadError> {
        let session = &self.session;
        let capacity = session.header.status_capacity as usize;
        let mut bytes = vec![0u8; capacity];
        for _ in 0..MAX_READ_ATTEMPTS {
            // Acquire/fence/Relaxed: the seqlock read of `try_read_slot`, on the status record.
            let before = session.status_seq().load(Ordering::Acquire);
            if before == 0 {
                return Ok(None);
            }
            if before % 2 == 1 {
                std::thread::yield_now();
                continue;
            }
            let len = session.status_len().load(Ordering::Relaxed) as usize;
            let copied = len.min(capacity);
            session
                .control
                .read_bytes(session.status_data_offset(), &mut bytes[..copied]);
            fence(Ordering::Acquire);
            if session.status_seq().load(Ordering::Relaxed) != before {
                continue;
            }
            if len > capacity {
                return Err(self.corrupt(format!(
                    "writer status length {len} exceeds its capacity {capacity}"
                )));
            }
            return serde_json::from_slice(&bytes[..len])
                .map(Some)
                .map_err(ReadError::Status);
        }
        Ok(None)
    }

    fn corrupt(&self, problem: String) -> ReadError {
        ReadError::Corrupt {
            segment: self.session.control.name().to_owned(),
            problem,
        }
    }

    /// Reads the newest frame if it is newer than the last returned one.
    fn read_newer(&mut self, frame: &mut FrameBuf) -> Result<bool, ReadError> {
        let mut latest = 0;
        for _ in 0..MAX_READ_ATTEMPTS {
            // Acquire: pairs with the writer's Release store of `latest`, which it makes after
            // the slot's even sequence; the slot is complete when we look at it.
            latest = self.session.latest().load(Ordering::Acquire);
            if latest <= self.last_returned {
                return Ok(false);
            }
            match self.try_read_slot(latest, frame)? {
                Attempt::Done => {
                    self.last_returned = latest;
                    return Ok(true);
                }
                Attempt::Raced => std::hint::spin_loop(),
            }
        }
        // Wait for the next publish rather than trying this one again at once.
        self.unreadable = latest;
        Ok(false)
    }

    /// One seqlock read of the slot holding `publish_seq`.
    fn try_read_slot(&self, publish_seq: u64, frame: &mut FrameBuf) -> Result<Attempt, ReadError> {
        let session = &self.session;
        let slot = session.slot_of(publish_seq);
        let seq = session.slot_word(slot, SLOT_SEQ);
        // Acquire: pairs with the writer's Release store of the even sequence that completed
        // this slot; all slot bytes written before it are visible to the copies below.
        let before = seq.load(Ordering::Acquire);
        if before % 2 == 1 {
            return Ok(Attempt::Raced);
        }
        // Relaxed: these fields are validated by the sequence re-check below.
        let slot_publish_seq = session
            .slot_word(slot, SLOT_PUBLISH_SEQ)
            .load(Ordering::Relaxed);
        if slot_publish_seq != publish_seq {
            // The writer has already lapped the ring past this frame; start again from latest.
            return Ok(Attempt::Raced);
        }
        let header = FrameHeader {
            publish_seq,
            frame_number: session
                .slot_word(slot, SLOT_FRAME_NUMBER)
                .load(Ordering::Relaxed),
            capture_wall_ns: session
                .slot_word(slot, SLOT_CAPTURE_WALL)
                .load(Ordering::Relaxed),
            capture_mono_ns: session
                .slot_word(slot, SLOT_CAPTURE_MONO)
                .load(Ordering::Relaxed),
            publish_mono_ns: session
                .slot_word(slot, SLOT_PUBLISH_MONO)
                .load(Ordering::Relaxed),
        };
        let metadata_len = session
            .slot_u32(slot, SLOT_METADATA_LEN)
            .load(Ordering::Relaxed) as usize;
        let capacity = session.header.metadata_capacity as usize;

        frame.prepare(session.header.geometry, capacity);
        // The ranges come from headers validated against the mapped sizes at open, so these
        // copies stay inside the segments whatever the shared bytes say now.
        let copied = session.rgb.read_bytes(
            Session::data_offset(&session.layout.rgb, slot),
            &mut frame.rgb,
        ) && match (&session.depth, &session.layout.depth) {
            (Some(segment), Some(plane)) => {
                segment.read_bytes(Session::data_offset(plane, slot), &mut frame.depth)
            }
            _ => true,
        } && session.control.read_bytes(
            Session::data_offset(&session.layout.metadata, slot),
            &mut frame.metadata_json[..metadata_len.min(capacity)],
        );

        // Acquire fence, then a Relaxed re-read: if any byte we copied came from a newer write,
        // the writer's Release fence (after its odd store) synchronises with this fence, so we
        // see the odd or a later sequence here and discard the copy.
        fence(Ordering::Acquire);
        if seq.load(Ordering::Relaxed) != before {
            return Ok(Attempt::Raced);
        }
        if let Some(segment) = session.lost_segment() {
            return Err(ReadError::SegmentLost {
                segment: segment.to_owned(),
            });
        }
        if !copied {
            return Err(self.corrupt(format!("slot {slot} lies outside its segments")));
        }
        if metadata_len > capacity {
            return Err(self.corrupt(format!(
                "slot {slot} metadata length {metadata_len} exceeds its capacity {capacity}"
            )));
        }
        frame.header = header;
        frame.metadata_len = metadata_len;
        Ok(Attempt::Done)
    }
}
