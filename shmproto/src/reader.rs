//! The reader (client) side: copies whole, consistent frames out of shared memory.

use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cursor::{Cursor, MAX_READ_ATTEMPTS};
use crate::error::{OpenError, ReadError};
use crate::frame::{FrameBuf, FrameHeader};
use crate::frame_view::{FrameView, PlaneView};
use crate::held_frame::HeldFrame;
use crate::liveness::Liveness;
use crate::ring::{self, Ring};
use crate::segment;
use crate::session::Session;
use crate::status::WriterStatus;
use crate::{Geometry, Namespace};

/// Whether the colour segment of `namespace` exists: the cheap "is a daemon there?" probe.
pub fn probe(namespace: &Namespace) -> bool {
    segment::exists(&namespace.rgb_segment())
}

/// A client of one namespace. Many readers (in any number of processes) can read at once;
/// readers never write to shared memory.
pub struct Reader {
    /// Shared with the [`HeldFrame`]s handed out, which keep its mappings alive.
    session: Arc<Session>,
    namespace: Namespace,
    /// The last frame returned, and when the writer was last checked.
    cursor: Cursor,
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
            session: Arc::new(session),
            namespace: namespace.clone(),
            cursor: Cursor::default(),
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
            session: Arc::new(session),
            namespace,
            cursor: Cursor::default(),
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
        self.session.published()
    }

    /// How long ago the newest frame was published, `None` before the first frame. A live
    /// writer whose last publish is old is alive but not delivering (camera stalled, paused).
    pub fn last_publish_age(&self) -> Option<Duration> {
        self.session.last_publish_age()
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

    /// Lets `look` look at the newest frame where it lies in shared memory, if it is newer
    /// than the last one this reader returned, then checks that the writer did not touch its
    /// slot meanwhile (docs/protocol.md, section 8.1). Never blocks.
    ///
    /// `Ok(Some(value))`: `look` saw one whole frame and `value` is what it made of it.
    /// `Ok(None)`: nothing newer (the writer is alive); `look` was not called.
    /// `Err(ReadError::Overwritten)`: the writer overwrote the slot while `look` ran; `value`
    /// was dropped and the frame does not count as returned: read again (a newer one is there).
    /// `look` is called at most once; it runs while the writer may be rewriting the bytes, so
    /// what it does besides computing its value must be harmless to repeat or to throw away.
    pub fn read_in_place<T>(
        &mut self,
        look: impl FnOnce(&FrameView<'_>) -> T,
    ) -> Result<Option<T>, ReadError> {
        let mut look = Some(look);
        if let Some(value) = self.in_place_newer(&mut look)? {
            return Ok(Some(value));
        }
        if let Some(segment) = self.session.lost_segment() {
            return Err(ReadError::SegmentLost {
                segment: segment.to_owned(),
            });
        }
        match self.liveness() {
            Liveness::Live { .. } => Ok(None),
            gone => Err(ReadError::WriterGone(gone)),
        }
    }

    /// [`Reader::read_in_place`] after blocking (as [`Reader::wait_next`] does, on the same
    /// futex) until a frame newer than the last one returned is published. `Ok(None)` when
    /// `timeout` passes first with the writer still alive; `Err(ReadError::WriterGone)` as
    /// soon as the writer stops or dies; `Err(ReadError::Overwritten)` as in `read_in_place`.
    pub fn wait_next_in_place<T>(
        &mut self,
        timeout: Duration,
        look: impl FnOnce(&FrameView<'_>) -> T,
    ) -> Result<Option<T>, ReadError> {
        let deadline = Instant::now() + timeout;
        let mut look = Some(look);
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if !self.wait_for_publish(remaining)? {
                return Ok(None);
            }
            if let Some(value) = self.in_place_newer(&mut look)? {
                return Ok(Some(value));
            }
            // The slot was being written at every attempt, before `look` ran (it runs only on
            // a slot that was complete when the read began): wait for the next frame.
            if Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    /// Holds the newest frame where it lies in shared memory, if it is newer than the last one
    /// this reader returned, for as long as the caller likes: the bindings' in-place read
    /// (Python's numpy arrays over the slot), where the look at the frame cannot be one Rust
    /// closure. Never blocks. `Ok(None)`: nothing newer (the writer is alive).
    ///
    /// The frame counts as returned at once. Nothing checks it until the caller asks
    /// ([`HeldFrame::check`]), which it must do after its last look and before it trusts what
    /// it made of the bytes (docs/protocol.md, section 8.1).
    pub fn read_held(&mut self) -> Result<Option<HeldFrame>, ReadError> {
        if let Some(held) = self.held_newer()? {
            return Ok(Some(held));
        }
        if let Some(segment) = self.session.lost_segment() {
            return Err(ReadError::SegmentLost {
                segment: segment.to_owned(),
            });
        }
        match self.liveness() {
            Liveness::Live { .. } => Ok(None),
            gone => Err(ReadError::WriterGone(gone)),
        }
    }

    /// [`Reader::read_held`] after blocking (as [`Reader::wait_next`] does) until a frame
    /// newer than the last one returned is published. `Ok(None)` when `timeout` passes first
    /// with the writer still alive; `Err(ReadError::WriterGone)` as soon as the writer stops
    /// or dies.
    pub fn wait_next_held(&mut self, timeout: Duration) -> Result<Option<HeldFrame>, ReadError> {
        let deadline = Instant::now() + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if !self.wait_for_publish(remaining)? {
                return Ok(None);
            }
            if let Some(held) = self.held_newer()? {
                return Ok(Some(held));
            }
            // The slot was being written at every attempt: wait for the next frame.
            if Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    fn held_newer(&mut self) -> Result<Option<HeldFrame>, ReadError> {
        let session = &self.session;
        self.cursor.read_newer(session.as_ref(), |publish_seq| {
            Ok(begin_in_place(session, publish_seq)?
                .map(|begun| HeldFrame::new(Arc::clone(session), begun)))
        })
    }

    /// Blocks until a frame newer than the last one returned is published, without copying
    /// it. `Ok(true)`: one is there (read it with [`Reader::read_latest`]); `Ok(false)`: the
    /// timeout passed; `Err(ReadError::WriterGone)`: the writer stopped or died.
    pub fn wait_for_publish(&self, timeout: Duration) -> Result<bool, ReadError> {
        self.cursor.wait_for_publish(self.session.as_ref(), timeout)
    }

    /// The writer's status record, `None` if the writer never wrote one.
    pub fn writer_status(&self) -> Result<Option<WriterStatus>, ReadError> {
        let session = &self.session;
        let capacity = session.header.status_capacity as usize;
        let mut bytes = vec![0u8; capacity];
        for _ in 0..MAX_READ_ATTEMPTS {
            // Acquire/fence/Relaxed: the seqlock read of `ring::read_slot`, on the status record.
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

    /// One in-place read of the newest frame if it is newer than the last returned one: tries
    /// until a slot is complete when the read begins, then runs `look` (taken out of its
    /// option) on it once.
    fn in_place_newer<T, F: FnOnce(&FrameView<'_>) -> T>(
        &mut self,
        look: &mut Option<F>,
    ) -> Result<Option<T>, ReadError> {
        let session: &Session = &self.session;
        self.cursor.read_newer(session, |publish_seq| {
            look_in_place(session, publish_seq, look)
        })
    }

    /// Reads the newest frame if it is newer than the last returned one.
    fn read_newer(&mut self, frame: &mut FrameBuf) -> Result<bool, ReadError> {
        let session: &Session = &self.session;
        let read = self.cursor.read_newer(session, |publish_seq| {
            try_read_slot(session, publish_seq, frame)
        })?;
        Ok(read.is_some())
    }
}

/// One seqlock read of the slot holding `publish_seq` into `frame`; `Ok(None)`: raced.
fn try_read_slot(
    session: &Session,
    publish_seq: u64,
    frame: &mut FrameBuf,
) -> Result<Option<()>, ReadError> {
    let capacity = session.header.metadata_capacity as usize;
    let read = ring::read_slot(session, publish_seq, |slot, record| {
        let metadata_len = record.fields.json_len as usize;
        frame.prepare(session.header.geometry, capacity);
        // The ranges come from headers validated against the mapped sizes at open, so these
        // copies stay inside the segments whatever the shared bytes say now.
        session.rgb.read_bytes(
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
        )
    });
    let Some((record, copied)) = read else {
        return Ok(None);
    };
    let slot = session.slot_of(publish_seq);
    if let Some(segment) = session.lost_segment() {
        return Err(ReadError::SegmentLost {
            segment: segment.to_owned(),
        });
    }
    let corrupt = |problem: String| ReadError::Corrupt {
        segment: session.control.name().to_owned(),
        problem,
    };
    if !copied {
        return Err(corrupt(format!("slot {slot} lies outside its segments")));
    }
    let metadata_len = record.fields.json_len as usize;
    if metadata_len > capacity {
        return Err(corrupt(format!(
            "slot {slot} metadata length {metadata_len} exceeds its capacity {capacity}"
        )));
    }
    frame.header = FrameHeader {
        publish_seq,
        frame_number: record.fields.frame_number,
        capture_wall_ns: record.fields.capture_wall_ns,
        capture_mono_ns: record.fields.capture_mono_ns,
        publish_mono_ns: record.publish_mono_ns,
    };
    frame.metadata_len = metadata_len;
    Ok(Some(()))
}

/// The first half of an in-place read of the slot holding `publish_seq`: `Ok(None)` when the
/// slot is being written or holds another publish (try again); an error when the slot claims
/// more metadata than it can hold and that claim is the writer's (the slot did not change).
pub(crate) fn begin_in_place(
    session: &Session,
    publish_seq: u64,
) -> Result<Option<ring::BegunRead>, ReadError> {
    let Some(begun) = ring::begin_read(session, publish_seq) else {
        return Ok(None);
    };
    let capacity = session.header.metadata_capacity as usize;
    let metadata_len = begun.record.fields.json_len as usize;
    if metadata_len > capacity {
        // Only the writer's claim while the slot is unchanged; otherwise a race: try again.
        if !ring::finish_read(session, &begun) {
            return Ok(None);
        }
        return Err(ReadError::Corrupt {
            segment: session.control.name().to_owned(),
            problem: format!(
                "slot {} metadata length {metadata_len} exceeds its capacity {capacity}",
                begun.slot
            ),
        });
    }
    Ok(Some(begun))
}

/// One in-place read of the slot holding `publish_seq`: `Ok(None)` (and `look` not called)
/// when the slot is being written or holds another publish; otherwise `look` runs on the slot
/// where it lies and its value counts only if the slot's sequence did not change meanwhile.
fn look_in_place<T, F: FnOnce(&FrameView<'_>) -> T>(
    session: &Session,
    publish_seq: u64,
    look: &mut Option<F>,
) -> Result<Option<T>, ReadError> {
    let Some(begun) = begin_in_place(session, publish_seq)? else {
        return Ok(None);
    };
    let slot = begun.slot;
    let metadata_len = begun.record.fields.json_len as usize;
    let Some(look) = look.take() else {
        // Not reached: `look` is only taken on the attempt that ends the read.
        return Ok(None);
    };
    let geometry = session.header.geometry;
    // The planes' offsets and lengths come from headers validated against the mapped sizes at
    // open (and every copy checks its range again), so the view stays inside the segments
    // whatever the shared bytes say now. The metadata length was checked just above.
    let view = FrameView {
        geometry,
        header: FrameHeader {
            publish_seq,
            frame_number: begun.record.fields.frame_number,
            capture_wall_ns: begun.record.fields.capture_wall_ns,
            capture_mono_ns: begun.record.fields.capture_mono_ns,
            publish_mono_ns: begun.record.publish_mono_ns,
        },
        rgb: PlaneView {
            segment: &session.rgb,
            offset: Session::data_offset(&session.layout.rgb, slot),
            len: geometry.color_len(),
            row_len: geometry.width as usize * 3,
        },
        depth: match (&session.depth, &session.layout.depth) {
            (Some(segment), Some(plane)) => Some(PlaneView {
                segment,
                offset: Session::data_offset(plane, slot),
                len: geometry.depth_len(),
                row_len: geometry.width as usize * 2,
            }),
            _ => None,
        },
        metadata: PlaneView {
            segment: &session.control,
            offset: Session::data_offset(&session.layout.metadata, slot),
            len: metadata_len,
            row_len: metadata_len,
        },
    };
    let value = look(&view);
    // A truncated segment reads as zeros after the SIGBUS guard detached it (its sequence
    // word too, so the check below may pass): say what happened first.
    if let Some(segment) = session.lost_segment() {
        return Err(ReadError::SegmentLost {
            segment: segment.to_owned(),
        });
    }
    if !ring::finish_read(session, &begun) {
        return Err(ReadError::Overwritten { publish_seq });
    }
    Ok(Some(value))
}
