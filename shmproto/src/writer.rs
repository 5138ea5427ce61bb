//! The writer (daemon) side: creates the segments and publishes frames without ever waiting
//! for readers.

use std::sync::atomic::{fence, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use crate::error::{CreateError, PublishError};
use crate::layout::{
    ControlHeader, Layout, SegmentKind, MAX_JSON_CAPACITY, MAX_SLOTS, MIN_JSON_CAPACITY, MIN_SLOTS,
    SEGMENT_HEADER_LEN, SLOT_CAPTURE_MONO, SLOT_CAPTURE_WALL, SLOT_FRAME_NUMBER, SLOT_METADATA_LEN,
    SLOT_PUBLISH_MONO, SLOT_PUBLISH_SEQ, SLOT_SEQ, SLOT_TABLE_OFFSET, STATE_CLOSED, STATE_LIVE,
    STATE_REPLACED,
};
use crate::liveness::{Liveness, HEARTBEAT_INTERVAL};
use crate::segment::{self, Segment, SegmentError};
use crate::session::Session;
use crate::status::WriterStatus;
use crate::{monotonic_now_ns, wall_now_ns, FrameMetadata, Geometry, Namespace};

/// User and group that the segments are handed to (instead of the creating user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentOwner {
    pub uid: u32,
    pub gid: u32,
}

impl SegmentOwner {
    /// The user who ran `sudo`, when this process runs as root through sudo
    /// (`SUDO_UID`/`SUDO_GID`); `None` otherwise.
    pub fn from_sudo_env() -> Option<Self> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return None;
        }
        let uid = std::env::var("SUDO_UID").ok()?.parse().ok()?;
        let gid = std::env::var("SUDO_GID").ok()?.parse().ok()?;
        Some(SegmentOwner { uid, gid })
    }
}

/// How a writer lays out its segments.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    pub namespace: Namespace,
    pub geometry: Geometry,
    /// Frames kept in flight; more slots let slower readers finish a copy before the writer
    /// comes round again. 4 by default.
    pub slot_count: u32,
    /// Bytes reserved for each frame's metadata JSON. 16 KiB by default.
    pub metadata_capacity: u32,
    /// Bytes reserved for the writer-status JSON. 16 KiB by default.
    pub status_capacity: u32,
    /// Give the segments to this user and group (mode 0600 either way).
    pub owner: Option<SegmentOwner>,
}

impl WriterConfig {
    pub fn new(namespace: Namespace, geometry: Geometry) -> Self {
        WriterConfig {
            namespace,
            geometry,
            slot_count: 4,
            metadata_capacity: 16 * 1024,
            status_capacity: 16 * 1024,
            owner: None,
        }
    }

    fn validate(&self) -> Result<(), CreateError> {
        self.geometry.validate()?;
        if !(MIN_SLOTS..=MAX_SLOTS).contains(&self.slot_count) {
            return Err(CreateError::Config(format!(
                "slot_count {} is outside {MIN_SLOTS}..={MAX_SLOTS}",
                self.slot_count
            )));
        }
        for (what, capacity) in [
            ("metadata_capacity", self.metadata_capacity),
            ("status_capacity", self.status_capacity),
        ] {
            if !(MIN_JSON_CAPACITY..=MAX_JSON_CAPACITY).contains(&capacity) {
                return Err(CreateError::Config(format!(
                    "{what} {capacity} is outside {MIN_JSON_CAPACITY}..={MAX_JSON_CAPACITY}"
                )));
            }
        }
        Ok(())
    }
}

/// Stamps the heartbeat every [`HEARTBEAT_INTERVAL`] until stopped.
struct Heartbeat {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    fn start(session: Arc<Session>) -> Result<Self, SegmentError> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("shmproto-heartbeat".into())
            .spawn(move || {
                let (stopped, wake) = &*thread_stop;
                let Ok(mut stopped) = stopped.lock() else {
                    return;
                };
                while !*stopped {
                    // Relaxed: the heartbeat is a bare timestamp; readers compare it with their
                    // clock and no other memory is published through it.
                    session
                        .heartbeat()
                        .store(monotonic_now_ns(), Ordering::Relaxed);
                    stopped = match wake.wait_timeout(stopped, HEARTBEAT_INTERVAL) {
                        Ok((guard, _)) => guard,
                        Err(_) => return,
                    };
                }
            })
            .map_err(|source| SegmentError::Os {
                segment: "heartbeat thread".into(),
                source,
            })?;
        Ok(Heartbeat {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        let (stopped, wake) = &*self.stop;
        if let Ok(mut stopped) = stopped.lock() {
            *stopped = true;
        }
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The publishing side of a namespace. One per namespace at a time; dropping it marks the
/// segments closed (readers notice at once) and removes them.
pub struct Writer {
    session: Arc<Session>,
    config: WriterConfig,
    publish_seq: u64,
    json: Vec<u8>,
    reclaimed: Option<String>,
    heartbeat: Option<Heartbeat>,
    /// The state left in the segments when the writer goes away.
    final_state: u32,
    /// Per slot, the caller's name for what its planes hold ([`SlotPlanes::contents_id`]).
    slot_contents: Vec<u64>,
}

/// The planes of the slot being written, for [`Writer::publish_with`].
#[derive(Debug)]
pub struct SlotPlanes<'a> {
    /// The colour plane, `geometry.color_len()` bytes.
    pub rgb: &'a mut [u8],
    /// The depth plane, `geometry.depth_len()` bytes; `None` without depth.
    pub depth: Option<&'a mut [u8]>,
    /// What the planes hold: the value the caller left here the last time it filled this
    /// slot, or 0 (new segments, or a [`Writer::publish`] since). Set it to name the new
    /// contents, so that the next fill of the slot can redraw only what changed; 0 if unknown.
    pub contents_id: &'a mut u64,
}

/// Ends a slot write that did not finish (its `fill` panicked): the slot names no frame any
/// more and its sequence goes even again.
struct SlotUnfinished<'a> {
    seq: &'a std::sync::atomic::AtomicU64,
    publish_seq: &'a std::sync::atomic::AtomicU64,
    before: u64,
}

impl Drop for SlotUnfinished<'_> {
    fn drop(&mut self) {
        // Publish numbers start at 1: no reader looks for 0, so none accepts this slot, not
        // even one that chose it before the write began. Relaxed: inside the seqlock, published
        // by the Release store below, as for a finished write.
        self.publish_seq.store(0, Ordering::Relaxed);
        self.seq
            .store(self.before.wrapping_add(2), Ordering::Release);
    }
}

/// Removes names created so far if creation fails half-way.
struct CreatedNames(Vec<String>);

impl Drop for CreatedNames {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = segment::unlink_if_present(name);
        }
    }
}

fn random_session_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded from the OS's random source; mixing in time and pid keeps ids of
    // successive writers distinct even if that seed were reused.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(monotonic_now_ns());
    hasher.write_u32(std::process::id());
    hasher.finish().max(1)
}

impl Writer {
    /// Creates the segments of `config.namespace` and goes live.
    ///
    /// Segments left by a writer that is gone (dead process, stale heartbeat, clean close) or
    /// that are not valid protocol segments are removed and recreated; see
    /// [`Writer::reclaimed`]. A live writer makes this fail with [`CreateError::WriterAlive`].
    pub fn create(config: WriterConfig) -> Result<Self, CreateError> {
        config.validate()?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let reclaimed =
                reclaim_namespace(&config.namespace, config.owner.map(|owner| owner.uid))?;
            match create_segments(&config) {
                Ok(session) => {
                    let slot_count = session.slot_count() as usize;
                    let session = Arc::new(session);
                    let heartbeat = Heartbeat::start(Arc::clone(&session))?;
                    // Release: publishes the whole header (written above) to readers that
                    // load the state with Acquire and see LIVE.
                    session.state().store(STATE_LIVE, Ordering::Release);
                    return Ok(Writer {
                        session,
                        config: config.clone(),
                        publish_seq: 0,
                        json: Vec::with_capacity(config.metadata_capacity as usize),
                        reclaimed,
                        heartbeat: Some(heartbeat),
                        final_state: STATE_CLOSED,
                        slot_contents: vec![0; slot_count],
                    });
                }
                // Another writer created the name between our check and our create: look again
                // (it is live now, so the next check refuses with its pid).
                Err(CreateError::Segment(SegmentError::Exists { .. })) if attempts < 3 => continue,
                Err(error) => return Err(error),
            }
        }
    }

    pub fn namespace(&self) -> &Namespace {
        &self.config.namespace
    }

    pub fn geometry(&self) -> Geometry {
        self.session.header.geometry
    }

    /// Frames published so far.
    pub fn frames_published(&self) -> u64 {
        self.publish_seq
    }

    pub fn session_id(&self) -> u64 {
        self.session.layout.metadata.session_id
    }

    /// What was found and removed in this namespace when the writer was created, if anything
    /// ("writer gone (process 123 no longer exists)", "invalid segment ...").
    pub fn reclaimed(&self) -> Option<&str> {
        self.reclaimed.as_deref()
    }

    /// Publishes one frame. Never waits for readers. `depth` must be given exactly when the
    /// geometry has depth. The binary header fields are taken from `metadata`.
    pub fn publish(
        &mut self,
        rgb: &[u8],
        depth: Option<&[u8]>,
        metadata: &FrameMetadata,
    ) -> Result<u64, PublishError> {
        let geometry = self.geometry();
        if rgb.len() != geometry.color_len() {
            return Err(PublishError::PlaneSize {
                plane: "colour",
                expected: geometry.color_len(),
                found: rgb.len(),
            });
        }
        let depth_len = depth.map_or(0, <[u8]>::len);
        if depth_len != geometry.depth_len() || depth.is_some() != geometry.depth.is_some() {
            return Err(PublishError::PlaneSize {
                plane: "depth",
                expected: geometry.depth_len(),
                found: depth_len,
            });
        }
        self.publish_with(metadata, |planes| {
            planes.rgb.copy_from_slice(rgb);
            if let (Some(slot_depth), Some(depth)) = (planes.depth, depth) {
                slot_depth.copy_from_slice(depth);
            }
            *planes.contents_id = 0;
        })
    }

    /// Publishes one frame written in place: `fill` gets the planes of the next slot and must
    /// overwrite them completely (they hold an older frame). No copy: a source that can draw
    /// straight into the planes saves the copy [`Writer::publish`] makes. Never waits for
    /// readers; `fill` should be quick, as the slot is unreadable while it runs. If `fill`
    /// panics, the slot is left unreadable and the frame is not published.
    pub fn publish_with(
        &mut self,
        metadata: &FrameMetadata,
        fill: impl FnOnce(SlotPlanes<'_>),
    ) -> Result<u64, PublishError> {
        self.json.clear();
        serde_json::to_writer(&mut self.json, metadata).map_err(|source| PublishError::Json {
            what: "frame metadata",
            source,
        })?;
        let session = &*self.session;
        let capacity = session.header.metadata_capacity as usize;
        if self.json.len() > capacity {
            return Err(PublishError::JsonTooLarge {
                what: "frame metadata",
                len: self.json.len(),
                capacity,
            });
        }

        let publish_seq = self.publish_seq + 1;
        let slot = session.slot_of(publish_seq);
        let seq = session.slot_word(slot, SLOT_SEQ);
        // Relaxed: this process is the only one that writes the sequence word.
        let before = seq.load(Ordering::Relaxed);
        // Odd = being written. Relaxed store followed by a Release fence: the fence orders this
        // store before every store below, so a reader whose copy saw any new byte also sees the
        // odd (or a later) sequence when it re-reads after its Acquire fence, and retries.
        seq.store(before.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        // If `fill` panics, the slot is left naming no frame (publish number 0) with an even
        // sequence: readers that were copying it see the sequence changed and retry, and no
        // reader accepts it later.
        let unfinished = SlotUnfinished {
            seq,
            publish_seq: session.slot_word(slot, SLOT_PUBLISH_SEQ),
            before,
        };

        let rgb_offset = Session::data_offset(&session.layout.rgb, slot);
        let depth_plane = session.depth.as_ref().zip(session.layout.depth.as_ref());
        // SAFETY: `&mut self` makes this writer the only code in the process writing its
        // slots' planes (the heartbeat thread only stamps the control segment), the slot's
        // sequence word is odd, and the two planes are in different segments, so the slices
        // are the only references to their bytes and disjoint; they are dropped before the
        // slot is published below. Readers, in other processes or in this one, map the
        // segments separately and only copy the bytes raw (never through references), keeping
        // a copy only if the sequence word shows no write overlapped it.
        let planes = unsafe {
            (
                session
                    .rgb
                    .bytes_mut(rgb_offset, session.header.geometry.color_len()),
                depth_plane.map(|(segment, header)| {
                    segment.bytes_mut(
                        Session::data_offset(header, slot),
                        session.header.geometry.depth_len(),
                    )
                }),
            )
        };
        // Plane ranges come from the layout this writer created, so they are inside their
        // segments; if not, nothing is published (and `unfinished` restores the sequence).
        let (Some(rgb), Some(depth)) = (planes.0, planes.1.map_or(Some(None), |d| d.map(Some)))
        else {
            return Err(PublishError::Layout);
        };
        // Unknown contents until `fill` returns.
        let mut contents_id = std::mem::take(&mut self.slot_contents[slot as usize]);
        fill(SlotPlanes {
            rgb,
            depth,
            contents_id: &mut contents_id,
        });
        self.slot_contents[slot as usize] = contents_id;
        let written = session.control.write_bytes(
            Session::data_offset(&session.layout.metadata, slot),
            &self.json,
        );
        debug_assert!(written, "writer layout ranges must fit their segments");
        // From here on nothing can fail: the slot is completed below.
        std::mem::forget(unfinished);

        // Relaxed: these fields are inside the slot's seqlock; the Release store of the even
        // sequence below publishes them together with the planes.
        session
            .slot_word(slot, SLOT_PUBLISH_SEQ)
            .store(publish_seq, Ordering::Relaxed);
        session
            .slot_word(slot, SLOT_FRAME_NUMBER)
            .store(metadata.frame_number, Ordering::Relaxed);
        session
            .slot_word(slot, SLOT_CAPTURE_WALL)
            .store(metadata.capture_wall_ns, Ordering::Relaxed);
        session
            .slot_word(slot, SLOT_CAPTURE_MONO)
            .store(metadata.capture_mono_ns, Ordering::Relaxed);
        session
            .slot_u32(slot, SLOT_METADATA_LEN)
            .store(self.json.len() as u32, Ordering::Relaxed);
        session
            .slot_word(slot, SLOT_PUBLISH_MONO)
            .store(monotonic_now_ns(), Ordering::Relaxed);
        // Release: everything written into the slot above happens-before a reader's Acquire
        // load that sees this even value.
        seq.store(before.wrapping_add(2), Ordering::Release);
        // Release: a reader that sees `publish_seq` as latest (Acquire) finds the slot
        // complete. Stored after the slot so `latest` never names a slot still being written.
        session.latest().store(publish_seq, Ordering::Release);
        // Release: pairs with the reader's Acquire load of the wake word taken before it checks
        // `latest`; if the reader saw this increment it also sees the new `latest`, so a reader
        // that missed the frame is guaranteed to see the word change and not sleep through it.
        session.wake_word().fetch_add(1, Ordering::Release);
        crate::wait::wake_all(session.wake_word());
        self.publish_seq = publish_seq;
        if let Some(segment) = session.lost_segment() {
            return Err(PublishError::SegmentLost {
                segment: segment.to_owned(),
            });
        }
        Ok(publish_seq)
    }

    /// Whether shared memory has room for segments of `geometry` beside these ones, as
    /// [`Writer::replace`] needs (the old segments stay allocated while readers map them).
    /// Lets a caller refuse a new mode and keep the old one instead of losing both.
    pub fn check_room(&self, geometry: Geometry) -> Result<(), CreateError> {
        let mut config = self.config.clone();
        config.geometry = geometry;
        config.validate()?;
        let needed = segments_len(&config)?;
        match crate::segment::free_space() {
            Some(available) if available < needed => {
                Err(CreateError::Segment(SegmentError::NoSpace {
                    segment: config.namespace.rgb_segment(),
                    needed,
                    available: Some(available),
                }))
            }
            _ => Ok(()),
        }
    }

    /// Moves to new segments with `geometry` under the same names. Readers of the old
    /// segments are told to open again ([`crate::Liveness::Replaced`]) instead of that the
    /// writer stopped. Keeps the configuration otherwise; on error the old segments are gone.
    pub fn replace(mut self, geometry: Geometry) -> Result<Writer, CreateError> {
        let mut config = self.config.clone();
        config.geometry = geometry;
        config.validate()?;
        self.final_state = STATE_REPLACED;
        drop(self);
        Writer::create(config)
    }

    /// Replaces the writer-status record.
    pub fn set_status(&mut self, status: &WriterStatus) -> Result<(), PublishError> {
        let session = &*self.session;
        self.json.clear();
        serde_json::to_writer(&mut self.json, status).map_err(|source| PublishError::Json {
            what: "writer status",
            source,
        })?;
        let capacity = session.header.status_capacity as usize;
        if self.json.len() > capacity {
            return Err(PublishError::JsonTooLarge {
                what: "writer status",
                len: self.json.len(),
                capacity,
            });
        }
        let seq = session.status_seq();
        // Same seqlock discipline as a frame slot (see `publish`).
        let before = seq.load(Ordering::Relaxed);
        seq.store(before.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        let written = session
            .control
            .write_bytes(session.status_data_offset(), &self.json);
        debug_assert!(written, "status record must fit the control segment");
        session
            .status_len()
            .store(self.json.len() as u32, Ordering::Relaxed);
        seq.store(before.wrapping_add(2), Ordering::Release);
        if let Some(segment) = session.lost_segment() {
            return Err(PublishError::SegmentLost {
                segment: segment.to_owned(),
            });
        }
        Ok(())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.heartbeat = None;
        let session = &*self.session;
        // Release: a reader that sees CLOSED (or REPLACED) also sees every frame published
        // before it.
        session.state().store(self.final_state, Ordering::Release);
        session.wake_word().fetch_add(1, Ordering::Release);
        crate::wait::wake_all(session.wake_word());
        // Remove the names only while they are still ours: a writer that was frozen and
        // replaced must not delete its successor's segments.
        let session_id = self.session_id();
        for name in self.config.namespace.segment_names() {
            if read_session_id(&name) == Some(session_id) {
                let _ = segment::unlink(&name);
            }
        }
    }
}

/// The session id in a segment's header, if it exists and has our magic.
fn read_session_id(name: &str) -> Option<u64> {
    let segment = Segment::open(name).ok()?;
    let mut bytes = [0u8; SEGMENT_HEADER_LEN];
    if !segment.read_bytes(0, &mut bytes) || bytes[..8] != crate::layout::MAGIC {
        return None;
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&bytes[crate::layout::OFF_SESSION..crate::layout::OFF_SESSION + 8]);
    Some(u64::from_le_bytes(id))
}

/// Refuses if a live writer owns the namespace; otherwise removes whatever is left there and
/// says what that was.
pub(crate) fn reclaim_namespace(
    namespace: &Namespace,
    trusted_owner: Option<u32>,
) -> Result<Option<String>, CreateError> {
    let Some(found) = leftovers(namespace, Some(trusted_owner))? else {
        return Ok(None);
    };
    for name in namespace.segment_names() {
        segment::unlink_if_present(&name)?;
    }
    Ok(Some(found))
}

/// The one judgement of whether a namespace's segments may be removed: `Ok(None)` when there
/// are none, `Ok(Some(what))` when they are leftovers (dead, closed or replaced writer, or
/// not valid protocol segments), `Err(WriterAlive)` while a writer is live or starting.
///
/// `writer_owner`: for a writer about to create the segments, the user it hands them to
/// (`Some(None)`: none). Segments of any other user than this one, root and that owner (or
/// anything but a regular file) were not made by a writer of ours, whatever liveness they
/// claim, and are leftovers. `None` (cleanup, which cannot know whom a writer handed its
/// segments to): every owner's liveness is believed.
pub(crate) fn leftovers(
    namespace: &Namespace,
    writer_owner: Option<Option<u32>>,
) -> Result<Option<String>, CreateError> {
    if !namespace
        .segment_names()
        .iter()
        .any(|name| segment::exists(name))
    {
        return Ok(None);
    }
    if let Some(trusted_owner) = writer_owner {
        for name in namespace.segment_names() {
            match segment::stat(&name) {
                Ok(stat) if !crate::runtime_dir::is_trusted_owner(stat.uid, trusted_owner) => {
                    return Ok(Some(format!(
                        "shared-memory segment {name} belongs to uid {}, not to a writer of ours",
                        stat.uid
                    )))
                }
                Err(error @ SegmentError::NotRegular { .. }) => return Ok(Some(error.to_string())),
                _ => {}
            }
        }
    }
    let alive = |pid| CreateError::WriterAlive {
        pid,
        namespace: namespace.to_string(),
    };
    match Session::open(namespace) {
        Ok(session) => match session.liveness() {
            holding if holding.holds_segments() => Err(alive(holding.pid())),
            gone => Ok(Some(gone.to_string())),
        },
        Err(crate::OpenError::NotLive {
            liveness: Liveness::Starting { pid },
            ..
        }) => Err(alive(pid)),
        Err(crate::OpenError::Segment(error @ SegmentError::PermissionDenied { .. })) => {
            Err(error.into())
        }
        Err(other) => Ok(Some(other.to_string())),
    }
}

/// Bytes of all segments of a writer with `config`.
fn segments_len(config: &WriterConfig) -> Result<u64, CreateError> {
    let layout = Layout::new(
        &config.geometry,
        config.slot_count,
        config.metadata_capacity,
        config.status_capacity,
        1,
    )
    .ok_or_else(|| CreateError::Config("segment sizes overflow".into()))?;
    Ok(layout.metadata.total_len
        + layout.rgb.total_len
        + layout.depth.as_ref().map_or(0, |depth| depth.total_len))
}

fn create_segments(config: &WriterConfig) -> Result<Session, CreateError> {
    let namespace = &config.namespace;
    let geometry = config.geometry;
    let layout = Layout::new(
        &geometry,
        config.slot_count,
        config.metadata_capacity,
        config.status_capacity,
        random_session_id(),
    )
    .ok_or_else(|| CreateError::Config("segment sizes overflow".into()))?;
    let mut created = CreatedNames(Vec::new());
    let too_big = |name: &str| {
        CreateError::Config(format!(
            "segment {name} would not fit this machine's address space"
        ))
    };

    // The control segment first: readers probe for the colour segment, and by the time it
    // exists the control segment does too (in state INITIALIZING until everything is ready).
    let control_name = namespace.metadata_segment();
    let control_len =
        usize::try_from(layout.metadata.total_len).map_err(|_| too_big(&control_name))?;
    let trusted_owner = config.owner.map(|owner| owner.uid);
    let control = Segment::create(&control_name, control_len, trusted_owner)?;
    created.0.push(control_name.clone());
    let mut head = [0u8; SLOT_TABLE_OFFSET];
    head[..SEGMENT_HEADER_LEN].copy_from_slice(&layout.metadata.encode(SegmentKind::Metadata));
    let header = ControlHeader {
        writer_pid: std::process::id(),
        started_wall_ns: wall_now_ns(),
        geometry,
        metadata_capacity: config.metadata_capacity,
        status_capacity: config.status_capacity,
    };
    header.encode_into(&mut head);
    control.write_bytes(0, &head);

    let create_plane = |name: String, plane: &crate::layout::SegmentHeader, kind| {
        let len = usize::try_from(plane.total_len).map_err(|_| too_big(&name))?;
        let segment = Segment::create(&name, len, trusted_owner)?;
        segment.write_bytes(0, &plane.encode(kind));
        Ok::<_, CreateError>((name, segment))
    };
    let (rgb_name, rgb) = create_plane(namespace.rgb_segment(), &layout.rgb, SegmentKind::Rgb)?;
    created.0.push(rgb_name);
    let depth = match &layout.depth {
        Some(plane) => {
            let (name, segment) =
                create_plane(namespace.depth_segment(), plane, SegmentKind::Depth)?;
            created.0.push(name);
            Some(segment)
        }
        None => None,
    };
    if let Some(owner) = config.owner {
        for segment in [&control, &rgb].into_iter().chain(depth.as_ref()) {
            segment.hand_over(owner.uid, owner.gid)?;
        }
    }
    let session = Session {
        control,
        rgb,
        depth,
        layout,
        header,
    };
    // Relaxed: the Release store of LIVE in `create` publishes this with the rest.
    session
        .heartbeat()
        .store(monotonic_now_ns(), Ordering::Relaxed);
    created.0.clear();
    Ok(session)
}
