//! The three mapped segments of one frame-writer session, and where each record lives in them.

use std::sync::atomic::{AtomicU32, AtomicU64};

use crate::error::OpenError;
use crate::layout::{
    ControlHeader, Layout, SegmentHeader, SegmentKind, OFF_STATE, OFF_WRITER_PID,
    SLOT_TABLE_OFFSET, STATE_INITIALIZING, STATUS_LEN, STATUS_RECORD_LEN, STATUS_SEQ,
};
use crate::liveness::Liveness;
use crate::ring::Ring;
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

impl Ring for Session {
    fn control(&self) -> &Segment {
        &self.control
    }

    fn writer_pid(&self) -> u32 {
        self.header.writer_pid
    }

    fn slot_count(&self) -> u32 {
        self.layout.metadata.slot_count
    }

    fn lost_segment(&self) -> Option<&str> {
        [&self.control, &self.rgb]
            .into_iter()
            .chain(self.depth.as_ref())
            .find(|segment| segment.is_detached())
            .map(Segment::name)
    }
}

impl Session {
    pub(crate) fn data_offset(header: &SegmentHeader, slot: u32) -> usize {
        (header.data_offset + u64::from(slot) * header.slot_stride) as usize
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
}

/// A control segment (kind 1 or 4) opened and checked up to its common header and state
/// (docs/protocol.md, section 6, steps 1 to 3): what the kind-specific parsing starts from.
pub(crate) struct OpenedControl {
    pub(crate) segment: Segment,
    pub(crate) header: SegmentHeader,
    /// The first 256 bytes, copied after the state was seen to be past INITIALIZING.
    pub(crate) head: [u8; SLOT_TABLE_OFFSET],
}

impl OpenedControl {
    /// Opens the control segment `name` of `kind`, validates its common header and refuses a
    /// writer still initializing (its header may be incomplete).
    pub(crate) fn open(
        name: &str,
        kind: SegmentKind,
        namespace: &crate::Namespace,
    ) -> Result<Self, OpenError> {
        use std::sync::atomic::Ordering;

        let segment = Segment::open(name)?;
        let mut head = [0u8; SLOT_TABLE_OFFSET];
        let available = segment.len().min(SLOT_TABLE_OFFSET);
        segment.read_bytes(0, &mut head[..available]);
        let header = SegmentHeader::parse(&head[..available], kind, segment.len() as u64)
            .map_err(|problem| invalid(name, problem))?;
        // Acquire pairs with the writer's Release store of LIVE (or CLOSED): everything the
        // writer put in the header before going live is visible once we see a later state.
        let state = segment.atomic_u32(OFF_STATE).load(Ordering::Acquire);
        // Re-read the header now that the state says it is complete (the common header
        // validated above guarantees `data_offset >= 256` bytes are mapped).
        segment.read_bytes(0, &mut head);
        if state == STATE_INITIALIZING {
            let at = OFF_WRITER_PID;
            let pid = u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
            return Err(OpenError::NotLive {
                namespace: namespace.to_string(),
                liveness: Liveness::judge(state, pid, 0, 0),
            });
        }
        Ok(OpenedControl {
            segment,
            header,
            head,
        })
    }
}

/// `OpenError::Invalid` for segment `name`.
pub(crate) fn invalid(name: &str, problem: crate::layout::LayoutError) -> OpenError {
    OpenError::Invalid {
        segment: name.to_owned(),
        problem,
    }
}

impl Session {
    /// Maps and validates the segments of `namespace`, whatever the writer's liveness (the
    /// caller decides what a dead writer means). Refuses a writer still initializing: its
    /// header may be incomplete.
    pub(crate) fn open(namespace: &crate::Namespace) -> Result<Self, crate::OpenError> {
        let control_name = namespace.metadata_segment();
        let OpenedControl {
            segment: control,
            header: metadata,
            head,
        } = OpenedControl::open(&control_name, SegmentKind::Metadata, namespace)?;
        let header = ControlHeader::parse(&head, &metadata)
            .map_err(|problem| invalid(&control_name, problem))?;

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
            // Two checks, so that the message names the field that is wrong and its value.
            if plane.slot_count != metadata.slot_count {
                return Err(invalid(
                    &name,
                    crate::layout::LayoutError::Field {
                        field: "slot_count",
                        expected: format!("{} (the control segment's)", metadata.slot_count),
                        found: u64::from(plane.slot_count),
                    },
                ));
            }
            if plane.slot_stride < plane_len as u64 {
                return Err(invalid(
                    &name,
                    crate::layout::LayoutError::Field {
                        field: "slot_stride",
                        expected: format!("at least the plane size {plane_len}"),
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
