//! The mapped detections segment of one detections-writer session (docs/protocol.md,
//! section 19): opened and validated like a reader does, or created like a writer does.

use std::sync::atomic::Ordering;

use crate::error::{CreateError, OpenError};
use crate::layout::{DetectionsHeader, SegmentHeader, SegmentKind, SEGMENT_HEADER_LEN};
use crate::reclaim::{random_session_id, CreatedNames};
use crate::ring::Ring;
use crate::segment::Segment;
use crate::session::{invalid, OpenedControl};
use crate::writer::SegmentOwner;
use crate::{monotonic_now_ns, wall_now_ns, Namespace};

/// The detections segment plus its validated headers. Every offset computed here lies inside
/// the segment: the headers were validated against the mapped length (reader) or produced it
/// (writer).
pub(crate) struct DetectionsSession {
    pub(crate) control: Segment,
    pub(crate) segment: SegmentHeader,
    pub(crate) header: DetectionsHeader,
}

impl Ring for DetectionsSession {
    fn control(&self) -> &Segment {
        &self.control
    }

    fn writer_pid(&self) -> u32 {
        self.header.writer_pid
    }

    fn slot_count(&self) -> u32 {
        self.segment.slot_count
    }

    fn lost_segment(&self) -> Option<&str> {
        self.control.is_detached().then(|| self.control.name())
    }
}

impl DetectionsSession {
    /// Where slot `slot`'s result JSON starts.
    pub(crate) fn slot_data_offset(&self, slot: u32) -> usize {
        (self.segment.data_offset + u64::from(slot) * self.segment.slot_stride) as usize
    }

    pub(crate) fn result_capacity(&self) -> usize {
        self.header.result_capacity as usize
    }

    /// Maps and validates the detections segment of `namespace`, whatever the writer's
    /// liveness (the caller decides what a dead writer means). Refuses a writer still
    /// initializing: its header may be incomplete.
    pub(crate) fn open(namespace: &Namespace) -> Result<Self, OpenError> {
        let name = namespace.detections_segment();
        let opened = OpenedControl::open(&name, SegmentKind::Detections, namespace)?;
        let header = DetectionsHeader::parse(&opened.head, &opened.header)
            .map_err(|problem| invalid(&name, problem))?;
        Ok(DetectionsSession {
            control: opened.segment,
            segment: opened.header,
            header,
        })
    }

    /// Creates the detections segment of `namespace` (docs/protocol.md, section 7.1, for one
    /// segment) in state INITIALIZING, handed to `owner` if given. The caller reclaims the
    /// name first, then starts the heartbeat and goes LIVE.
    pub(crate) fn create(
        namespace: &Namespace,
        slot_count: u32,
        result_capacity: u32,
        owner: Option<SegmentOwner>,
    ) -> Result<Self, CreateError> {
        let name = namespace.detections_segment();
        let segment =
            DetectionsHeader::segment_header(slot_count, result_capacity, random_session_id())
                .ok_or_else(|| CreateError::Config("segment sizes overflow".into()))?;
        let len = usize::try_from(segment.total_len).map_err(|_| {
            CreateError::Config(format!(
                "segment {name} would not fit this machine's address space"
            ))
        })?;
        let control = Segment::create(&name, len, owner.map(|owner| owner.uid))?;
        let mut created = CreatedNames::default();
        created.push(name);
        let mut head = [0u8; crate::layout::SLOT_TABLE_OFFSET];
        head[..SEGMENT_HEADER_LEN].copy_from_slice(&segment.encode(SegmentKind::Detections));
        let header = DetectionsHeader {
            writer_pid: std::process::id(),
            started_wall_ns: wall_now_ns(),
            result_capacity,
        };
        header.encode_into(&mut head);
        control.write_bytes(0, &head);
        if let Some(owner) = owner {
            control.hand_over(owner.uid, owner.gid)?;
        }
        let session = DetectionsSession {
            control,
            segment,
            header,
        };
        // Relaxed: the writer's Release store of LIVE publishes this with the rest.
        session
            .heartbeat()
            .store(monotonic_now_ns(), Ordering::Relaxed);
        created.keep();
        Ok(session)
    }
}
