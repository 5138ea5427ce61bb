//! The writer (daemon) side: creates the segments and publishes frames without ever waiting
//! for readers.

use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;

use crate::error::{CreateError, PublishError};
use crate::heartbeat::Heartbeat;
use crate::layout::{
    ControlHeader, Layout, SegmentKind, MAX_JSON_CAPACITY, MAX_SLOTS, MIN_JSON_CAPACITY, MIN_SLOTS,
    SEGMENT_HEADER_LEN, SLOT_TABLE_OFFSET, STATE_CLOSED, STATE_LIVE, STATE_REPLACED,
};
use crate::reclaim::{self, CreatedNames};
use crate::ring::{self, Ring, SlotFields};
use crate::segment::{Segment, SegmentError};
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

impl Writer {
    /// Creates the segments of `config.namespace` and goes live.
    ///
    /// Segments left by a writer that is gone (dead process, stale heartbeat, clean close) or
    /// that are not valid protocol segments are removed and recreated; see
    /// [`Writer::reclaimed`]. A live writer makes this fail with [`CreateError::WriterAlive`].
    pub fn create(config: WriterConfig) -> Result<Self, CreateError> {
        config.validate()?;
        let namespace = &config.namespace;
        let trusted_owner = config.owner.map(|owner| owner.uid);
        let (session, reclaimed) = reclaim::create_reclaiming(
            || {
                reclaim::reclaim(namespace, &namespace.segment_names(), trusted_owner, || {
                    Session::open(namespace).map(|session| session.liveness())
                })
            },
            || create_segments(&config),
        )?;
        let slot_count = session.slot_count() as usize;
        let session = Arc::new(session);
        let heartbeat = Heartbeat::start(Arc::clone(&session))?;
        // Release: publishes the whole header (written before) to readers that load the state
        // with Acquire and see LIVE.
        session.state().store(STATE_LIVE, Ordering::Release);
        Ok(Writer {
            session,
            config: config.clone(),
            publish_seq: 0,
            json: Vec::with_capacity(config.metadata_capacity as usize),
            reclaimed,
            heartbeat: Some(heartbeat),
            final_state: STATE_CLOSED,
            slot_contents: vec![0; slot_count],
        })
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
        let fields = SlotFields {
            frame_number: metadata.frame_number,
            capture_wall_ns: metadata.capture_wall_ns,
            capture_mono_ns: metadata.capture_mono_ns,
            json_len: self.json.len() as u32,
        };
        let (json, slot_contents) = (&self.json, &mut self.slot_contents);
        // If `fill` panics (or a plane lies outside its segment), the slot is left naming no
        // frame with an even sequence, and nothing is published (`ring::publish_slot`).
        ring::publish_slot(session, publish_seq, &fields, |slot| {
            let rgb_offset = Session::data_offset(&session.layout.rgb, slot);
            let depth_plane = session.depth.as_ref().zip(session.layout.depth.as_ref());
            // SAFETY: `&mut self` makes this writer the only code in the process writing its
            // slots' planes (the heartbeat thread only stamps the control segment), the slot's
            // sequence word is odd (`publish_slot` calls us between its odd and even stores),
            // and the two planes are in different segments, so the slices are the only
            // references to their bytes and disjoint; they are dropped before this closure
            // returns and the slot is published. Readers, in other processes or in this one,
            // map the segments separately and only copy the bytes raw (never through
            // references), keeping a copy only if the sequence word shows no write overlapped
            // it.
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
            // segments; if not, nothing is published.
            let (Some(rgb), Some(depth)) = (planes.0, planes.1.map_or(Some(None), |d| d.map(Some)))
            else {
                return Err(PublishError::Layout);
            };
            // Unknown contents until `fill` returns.
            let mut contents_id = std::mem::take(&mut slot_contents[slot as usize]);
            fill(SlotPlanes {
                rgb,
                depth,
                contents_id: &mut contents_id,
            });
            slot_contents[slot as usize] = contents_id;
            let written = session
                .control
                .write_bytes(Session::data_offset(&session.layout.metadata, slot), json);
            debug_assert!(written, "writer layout ranges must fit their segments");
            Ok(())
        })?;
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
        ring::close(&*self.session, self.final_state);
        reclaim::unlink_if_ours(&self.config.namespace.segment_names(), self.session_id());
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
        reclaim::random_session_id(),
    )
    .ok_or_else(|| CreateError::Config("segment sizes overflow".into()))?;
    let mut created = CreatedNames::default();
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
    created.push(control_name.clone());
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
    created.push(rgb_name);
    let depth = match &layout.depth {
        Some(plane) => {
            let (name, segment) =
                create_plane(namespace.depth_segment(), plane, SegmentKind::Depth)?;
            created.push(name);
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
    created.keep();
    Ok(session)
}
