//! The three mapped segments of one writer session, and where each record lives in them.

use std::sync::atomic::{AtomicU32, AtomicU64};

use crate::layout::{
    ControlHeader, Layout, SegmentHeader, OFF_HEARTBEAT, OFF_LATEST, OFF_STATE, OFF_WAKE,
    SLOT_RECORD_LEN, SLOT_TABLE_OFFSET, STATUS_LEN, STATUS_RECORD_LEN, STATUS_SEQ,
};
use crate::liveness::Liveness;
use crate::segment::Segment;

/// Mapped segments plus their validated headers. Every offset computed here lies inside its
/// segment: the headers were validated against the mapped lengths (reader) or produced the
/// mapped lengths (writer).
pub(crate) struct Session {
    pub(crate) control: Segment,
    pub(crate) rgb: Segment,
    pub(crate) depth: Option<Segment>,
    pub(crate) layout: Layout,
    pub(crate) header: ControlHeader,
}

impl Session {
    /// The name of a segment whose file was truncated under its mapping, if any (see
    /// [`crate::truncation_guard`]).
    pub(crate) fn lost_segment(&self) -> Option<&str> {
        [&self.control, &self.rgb]
            .into_iter()
            .chain(self.depth.as_ref())
            .find(|segment| segment.is_detached())
            .map(Segment::name)
    }

    pub(crate) fn slot_count(&self) -> u32 {
        self.layout.metadata.slot_count
    }

    /// The slot that holds publish number `publish_seq` (which starts at 1).
    pub(crate) fn slot_of(&self, publish_seq: u64) -> u32 {
        ((publish_seq - 1) % u64::from(self.slot_count())) as u32
    }

    pub(crate) fn slot_record(&self, slot: u32) -> usize {
        SLOT_TABLE_OFFSET + slot as usize * SLOT_RECORD_LEN
    }

    pub(crate) fn slot_word(&self, slot: u32, field: usize) -> &AtomicU64 {
        self.control.atomic_u64(self.slot_record(slot) + field)
    }

    pub(crate) fn slot_u32(&self, slot: u32, field: usize) -> &AtomicU32 {
        self.control.atomic_u32(self.slot_record(slot) + field)
    }

    pub(crate) fn data_offset(header: &SegmentHeader, slot: u32) -> usize {
        (header.data_offset + u64::from(slot) * header.slot_stride) as usize
    }

    pub(crate) fn state(&self) -> &AtomicU32 {
        self.control.atomic_u32(OFF_STATE)
    }

    pub(crate) fn heartbeat(&self) -> &AtomicU64 {
        self.control.atomic_u64(OFF_HEARTBEAT)
    }

    pub(crate) fn latest(&self) -> &AtomicU64 {
        self.control.atomic_u64(OFF_LATEST)
    }

    pub(crate) fn wake_word(&self) -> &AtomicU32 {
        self.control.atomic_u32(OFF_WAKE)
    }

    fn status_record(&self) -> usize {
        ControlHeader::status_record_offset(self.slot_count())
    }

    pub(crate) fn status_seq(&self) -> &AtomicU64 {
        self.control.atomic_u64(self.status_record() + STATUS_SEQ)
    }

    pub(crate) fn status_len(&self) -> &AtomicU32 {
        self.control.atomic_u32(self.status_record() + STATUS_LEN)
    }

    pub(crate) fn status_data_offset(&self) -> usize {
        self.status_record() + STATUS_RECORD_LEN
    }

    pub(crate) fn liveness(&self) -> Liveness {
        use std::sync::atomic::Ordering;
        // Acquire on the state pairs with the writer's Release stores of LIVE and CLOSED, so a
        // reader that sees LIVE also sees the heartbeat and header written before it.
        let state = self.state().load(Ordering::Acquire);
        // Relaxed: the heartbeat is a timestamp compared with a clock; no data depends on it.
        let heartbeat = self.heartbeat().load(Ordering::Relaxed);
        Liveness::judge(
            state,
            self.header.writer_pid,
            heartbeat,
            crate::monotonic_now_ns(),
        )
    }
}

impl Session {
    /// Maps and validates the segments of `namespace`, whatever the writer's liveness (the
    /// caller decides what a dead writer means). Refuses a writer still initializing: its
    /// header may be incomplete.
    pub(crate) fn open(namespace: &crate::Namespace) -> Result<Self, crate::OpenError> {
        use crate::error::OpenError;
        use crate::layout::{SegmentKind, STATE_INITIALIZING};
        use std::sync::atomic::Ordering;

        let control_name = namespace.metadata_segment();
        let control = Segment::open(&control_name)?;
        let mut bytes = [0u8; SLOT_TABLE_OFFSET];
        let available = control.len().min(SLOT_TABLE_OFFSET);
        control.read_bytes(0, &mut bytes[..available]);
        let invalid = |segment: &str, problem| OpenError::Invalid {
            segment: segment.to_owned(),
            problem,
        };
        let metadata = SegmentHeader::parse(
            &bytes[..available],
            SegmentKind::Metadata,
            control.len() as u64,
        )
        .map_err(|problem| invalid(&control_name, problem))?;
        // Acquire pairs with the writer's Release store of LIVE (or CLOSED): everything the
        // writer put in the header before going live is visible once we see a later state.
        let state = control.atomic_u32(OFF_STATE).load(Ordering::Acquire);
        // Re-read the header now that the state says it is complete.
        control.read_bytes(0, &mut bytes);
        let header = ControlHeader::parse(&bytes, &metadata)
            .map_err(|problem| invalid(&control_name, problem));
        let header = match (state, header) {
            (STATE_INITIALIZING, _) => {
                let at = crate::layout::OFF_WRITER_PID;
                let pid =
                    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
                return Err(OpenError::NotLive {
                    namespace: namespace.to_string(),
                    liveness: Liveness::judge(state, pid, 0, 0),
                });
            }
            (_, header) => header?,
        };

        let open_plane = |name: String,
                          kind: SegmentKind,
                          plane_len: usize|
         -> Result<(Segment, SegmentHeader), OpenError> {
            let segment = Segment::open(&name)?;
            let mut plane_bytes = [0u8; crate::layout::SEGMENT_HEADER_LEN];
            let available = segment.len().min(plane_bytes.len());
            segment.read_bytes(0, &mut plane_bytes[..available]);
            let plane = SegmentHeader::parse(&plane_bytes[..available], kind, segment.len() as u64)
                .map_err(|problem| invalid(&name, problem))?;
            if plane.session_id != metadata.session_id {
                return Err(OpenError::SessionMismatch {
                    segment: name,
                    expected: metadata.session_id,
                    found: plane.session_id,
                });
            }
            if plane.slot_count != metadata.slot_count || plane.slot_stride < plane_len as u64 {
                return Err(invalid(
                    &name,
                    crate::layout::LayoutError::Field {
                        field: "slot_count/slot_stride",
                        expected: format!(
                            "{} slots of at least {plane_len} bytes",
                            metadata.slot_count
                        ),
                        found: plane.slot_stride,
                    },
                ));
            }
            Ok((segment, plane))
        };
        let geometry = header.geometry;
        let (rgb, rgb_header) = open_plane(
            namespace.rgb_segment(),
            SegmentKind::Rgb,
            geometry.color_len(),
        )?;
        let (depth, depth_header) = match geometry.depth {
            Some(_) => {
                let (segment, plane) = open_plane(
                    namespace.depth_segment(),
                    SegmentKind::Depth,
                    geometry.depth_len(),
                )?;
                (Some(segment), Some(plane))
            }
            None => (None, None),
        };
        Ok(Session {
            control,
            rgb,
            depth,
            layout: Layout {
                metadata,
                rgb: rgb_header,
                depth: depth_header,
            },
            header,
        })
    }
}
