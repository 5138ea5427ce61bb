//! Byte layout of the segments (the three frame segments and the detections segment), and
//! validation of headers read from untrusted bytes.
//!
//! Every offset and size here is normative: `docs/protocol.md` describes the same tables. All
//! integers are little-endian (the protocol is only implemented for little-endian machines:
//! x86-64 and ARM64). Parsing works on a private copy of the header bytes, so it is a pure
//! function that tests can feed arbitrary input.

use crate::geometry::{ColorFormat, DepthFormat, Geometry};

/// First 8 bytes of every segment.
pub const MAGIC: [u8; 8] = *b"AAACAMv1";
/// Incompatible layout changes bump the major version; readers refuse other majors.
pub const VERSION_MAJOR: u16 = 1;
/// Compatible additions (new fields in reserved space, new state values, new segment kinds)
/// bump the minor version. 1.1 added the REPLACED state, 1.2 the detections segment (kind 4).
pub const VERSION_MINOR: u16 = 2;

/// Size of the common header at the start of every segment.
pub const SEGMENT_HEADER_LEN: usize = 64;
/// Offset of the control block in the metadata segment.
pub const CONTROL_OFFSET: usize = 64;
/// Offset of the slot table in the metadata segment.
pub const SLOT_TABLE_OFFSET: usize = 256;
/// Bytes per slot record in the slot table.
pub const SLOT_RECORD_LEN: usize = 64;
/// Bytes of the writer-status record header (sequence word and length) before its JSON.
pub const STATUS_RECORD_LEN: usize = 64;
/// Offset of the first plane slot in the colour and depth segments (one page).
pub const PLANE_DATA_OFFSET: usize = 4096;
/// Alignment of slot strides in every segment.
pub const SLOT_ALIGN: usize = 64;

pub const MIN_SLOTS: u32 = 2;
pub const MAX_SLOTS: u32 = 64;
/// Bounds on the per-slot metadata JSON capacity and on the writer-status JSON capacity.
pub const MIN_JSON_CAPACITY: u32 = 1024;
pub const MAX_JSON_CAPACITY: u32 = 1 << 20;

// Field offsets, relative to the segment start.
pub(crate) const OFF_MAGIC: usize = 0;
pub(crate) const OFF_VERSION_MAJOR: usize = 8;
pub(crate) const OFF_VERSION_MINOR: usize = 10;
pub(crate) const OFF_KIND: usize = 12;
pub(crate) const OFF_SESSION: usize = 16;
pub(crate) const OFF_DATA_OFFSET: usize = 24;
pub(crate) const OFF_SLOT_COUNT: usize = 28;
pub(crate) const OFF_SLOT_STRIDE: usize = 32;
pub(crate) const OFF_TOTAL_LEN: usize = 40;

pub(crate) const OFF_STATE: usize = CONTROL_OFFSET;
pub(crate) const OFF_WRITER_PID: usize = CONTROL_OFFSET + 4;
pub(crate) const OFF_HEARTBEAT: usize = CONTROL_OFFSET + 8;
pub(crate) const OFF_STARTED_WALL: usize = CONTROL_OFFSET + 16;
pub(crate) const OFF_LATEST: usize = CONTROL_OFFSET + 24;
pub(crate) const OFF_WAKE: usize = CONTROL_OFFSET + 32;
pub(crate) const OFF_WIDTH: usize = CONTROL_OFFSET + 36;
pub(crate) const OFF_HEIGHT: usize = CONTROL_OFFSET + 40;
pub(crate) const OFF_COLOR_FORMAT: usize = CONTROL_OFFSET + 44;
pub(crate) const OFF_COLOR_STRIDE: usize = CONTROL_OFFSET + 48;
pub(crate) const OFF_DEPTH_FORMAT: usize = CONTROL_OFFSET + 52;
pub(crate) const OFF_DEPTH_STRIDE: usize = CONTROL_OFFSET + 56;
pub(crate) const OFF_METADATA_CAPACITY: usize = CONTROL_OFFSET + 60;
pub(crate) const OFF_STATUS_CAPACITY: usize = CONTROL_OFFSET + 64;
/// The detections segment's control block: the same words as the metadata segment's up to
/// `wake` (offsets 64..100), then the capacity of each result's JSON.
pub(crate) const OFF_RESULT_CAPACITY: usize = CONTROL_OFFSET + 36;

// Slot record fields, relative to the record start.
pub(crate) const SLOT_SEQ: usize = 0;
pub(crate) const SLOT_PUBLISH_SEQ: usize = 8;
pub(crate) const SLOT_FRAME_NUMBER: usize = 16;
pub(crate) const SLOT_CAPTURE_WALL: usize = 24;
pub(crate) const SLOT_CAPTURE_MONO: usize = 32;
pub(crate) const SLOT_PUBLISH_MONO: usize = 40;
/// Length of the slot's JSON: the frame metadata, or the detection result.
pub(crate) const SLOT_METADATA_LEN: usize = 48;
/// Detections segment only: `session_id` of the frame segments the result's source frame was
/// read from (0: not known). Reserved (zero) in the metadata segment's slot records.
pub(crate) const SLOT_FRAME_SESSION: usize = 56;

// Status record fields, relative to the record start.
pub(crate) const STATUS_SEQ: usize = 0;
pub(crate) const STATUS_LEN: usize = 8;

/// Writer states stored in the control block's `state` word.
pub(crate) const STATE_INITIALIZING: u32 = 0;
pub(crate) const STATE_LIVE: u32 = 1;
pub(crate) const STATE_CLOSED: u32 = 2;
/// The writer moved to new segments under the same names (new geometry): open again.
pub(crate) const STATE_REPLACED: u32 = 3;

/// Which segment a header belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentKind {
    Metadata,
    Rgb,
    Depth,
    /// The detections segment (since 1.2): a control block, a slot table and one detection
    /// result JSON per slot.
    Detections,
}

impl SegmentKind {
    pub(crate) const fn code(self) -> u32 {
        match self {
            SegmentKind::Metadata => 1,
            SegmentKind::Rgb => 2,
            SegmentKind::Depth => 3,
            SegmentKind::Detections => 4,
        }
    }

    /// The smallest `data_offset` a segment of this kind can have: after the slot table's
    /// start for the kinds with a control block, after the common header for plane segments.
    const fn min_data_offset(self) -> u64 {
        match self {
            SegmentKind::Metadata | SegmentKind::Detections => SLOT_TABLE_OFFSET as u64,
            SegmentKind::Rgb | SegmentKind::Depth => SEGMENT_HEADER_LEN as u64,
        }
    }
}

/// What is wrong with a segment's bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("too small: expected at least {expected} bytes, found {found}")]
    TooSmall { expected: u64, found: u64 },
    #[error("bad magic: expected {expected:?}, found {found:?}")]
    Magic { expected: String, found: String },
    #[error(
        "unsupported protocol version: expected {expected}.x, found {found_major}.{found_minor}"
    )]
    Version {
        expected: u16,
        found_major: u16,
        found_minor: u16,
    },
    #[error("wrong segment kind: expected {expected}, found {found}")]
    Kind { expected: u32, found: u32 },
    #[error("field {field}: expected {expected}, found {found}")]
    Field {
        field: &'static str,
        expected: String,
        found: u64,
    },
}

fn u16_at(bytes: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes([bytes[offset], bytes[offset + 1]])
}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_le_bytes(word)
}

fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[offset..offset + 8]);
    u64::from_le_bytes(word)
}

fn field_error(field: &'static str, expected: impl Into<String>, found: u64) -> LayoutError {
    LayoutError::Field {
        field,
        expected: expected.into(),
        found,
    }
}

fn align_up(value: u64, align: u64) -> Option<u64> {
    value.checked_add(align - 1).map(|v| v / align * align)
}

/// The common header at the start of every segment, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    pub version_minor: u16,
    pub session_id: u64,
    /// Offset of slot 0's data.
    pub data_offset: u64,
    pub slot_count: u32,
    /// Bytes from one slot's data to the next.
    pub slot_stride: u64,
    /// `data_offset + slot_count * slot_stride`: the size the segment must have.
    pub total_len: u64,
}

impl SegmentHeader {
    /// Parses and validates the common header. `mapped_len` is the size of the segment as the
    /// operating system reports it; the header must not claim more.
    pub fn parse(bytes: &[u8], kind: SegmentKind, mapped_len: u64) -> Result<Self, LayoutError> {
        if bytes.len() < SEGMENT_HEADER_LEN || mapped_len < SEGMENT_HEADER_LEN as u64 {
            return Err(LayoutError::TooSmall {
                expected: SEGMENT_HEADER_LEN as u64,
                found: mapped_len.min(bytes.len() as u64),
            });
        }
        let magic = &bytes[OFF_MAGIC..OFF_MAGIC + 8];
        if magic != MAGIC {
            return Err(LayoutError::Magic {
                expected: String::from_utf8_lossy(&MAGIC).into_owned(),
                found: String::from_utf8_lossy(magic).into_owned(),
            });
        }
        let major = u16_at(bytes, OFF_VERSION_MAJOR);
        let minor = u16_at(bytes, OFF_VERSION_MINOR);
        if major != VERSION_MAJOR {
            return Err(LayoutError::Version {
                expected: VERSION_MAJOR,
                found_major: major,
                found_minor: minor,
            });
        }
        let found_kind = u32_at(bytes, OFF_KIND);
        if found_kind != kind.code() {
            return Err(LayoutError::Kind {
                expected: kind.code(),
                found: found_kind,
            });
        }
        let session_id = u64_at(bytes, OFF_SESSION);
        if session_id == 0 {
            return Err(field_error("session_id", "non-zero", 0));
        }
        let data_offset = u64::from(u32_at(bytes, OFF_DATA_OFFSET));
        let slot_count = u32_at(bytes, OFF_SLOT_COUNT);
        let slot_stride = u64_at(bytes, OFF_SLOT_STRIDE);
        let total_len = u64_at(bytes, OFF_TOTAL_LEN);
        let min_data_offset = kind.min_data_offset();
        if data_offset < min_data_offset || !data_offset.is_multiple_of(SLOT_ALIGN as u64) {
            return Err(field_error(
                "data_offset",
                format!("a multiple of {SLOT_ALIGN} of at least {min_data_offset}"),
                data_offset,
            ));
        }
        if !(MIN_SLOTS..=MAX_SLOTS).contains(&slot_count) {
            return Err(field_error(
                "slot_count",
                format!("{MIN_SLOTS}..={MAX_SLOTS}"),
                slot_count.into(),
            ));
        }
        if slot_stride == 0 || !slot_stride.is_multiple_of(SLOT_ALIGN as u64) {
            return Err(field_error(
                "slot_stride",
                format!("a non-zero multiple of {SLOT_ALIGN}"),
                slot_stride,
            ));
        }
        let computed = slot_stride
            .checked_mul(slot_count.into())
            .and_then(|slots| slots.checked_add(data_offset));
        if computed != Some(total_len) {
            return Err(field_error(
                "total_len",
                format!("data_offset + slot_count * slot_stride = {computed:?}"),
                total_len,
            ));
        }
        if total_len > mapped_len {
            return Err(LayoutError::TooSmall {
                expected: total_len,
                found: mapped_len,
            });
        }
        Ok(SegmentHeader {
            version_minor: minor,
            session_id,
            data_offset,
            slot_count,
            slot_stride,
            total_len,
        })
    }

    /// The header a writer puts at the start of a segment.
    pub(crate) fn encode(&self, kind: SegmentKind) -> [u8; SEGMENT_HEADER_LEN] {
        let mut bytes = [0; SEGMENT_HEADER_LEN];
        bytes[OFF_MAGIC..OFF_MAGIC + 8].copy_from_slice(&MAGIC);
        bytes[OFF_VERSION_MAJOR..OFF_VERSION_MAJOR + 2]
            .copy_from_slice(&VERSION_MAJOR.to_le_bytes());
        bytes[OFF_VERSION_MINOR..OFF_VERSION_MINOR + 2]
            .copy_from_slice(&VERSION_MINOR.to_le_bytes());
        bytes[OFF_KIND..OFF_KIND + 4].copy_from_slice(&kind.code().to_le_bytes());
        bytes[OFF_SESSION..OFF_SESSION + 8].copy_from_slice(&self.session_id.to_le_bytes());
        // data_offset is validated to fit u32 by `Layout::new`.
        bytes[OFF_DATA_OFFSET..OFF_DATA_OFFSET + 4]
            .copy_from_slice(&(self.data_offset as u32).to_le_bytes());
        bytes[OFF_SLOT_COUNT..OFF_SLOT_COUNT + 4].copy_from_slice(&self.slot_count.to_le_bytes());
        bytes[OFF_SLOT_STRIDE..OFF_SLOT_STRIDE + 8]
            .copy_from_slice(&self.slot_stride.to_le_bytes());
        bytes[OFF_TOTAL_LEN..OFF_TOTAL_LEN + 8].copy_from_slice(&self.total_len.to_le_bytes());
        bytes
    }
}

/// The immutable part of the control block (written once before the writer goes live).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlHeader {
    pub writer_pid: u32,
    pub started_wall_ns: u64,
    pub geometry: Geometry,
    /// Capacity of each slot's metadata JSON, bytes.
    pub metadata_capacity: u32,
    /// Capacity of the writer-status JSON, bytes.
    pub status_capacity: u32,
}

impl ControlHeader {
    /// Offset of the status record (its sequence word) for `slot_count` slots.
    pub fn status_record_offset(slot_count: u32) -> usize {
        SLOT_TABLE_OFFSET + slot_count as usize * SLOT_RECORD_LEN
    }

    /// Parses the immutable control fields and checks them against the segment header.
    /// `bytes` must hold at least `SLOT_TABLE_OFFSET` bytes of the metadata segment.
    pub fn parse(bytes: &[u8], segment: &SegmentHeader) -> Result<Self, LayoutError> {
        if bytes.len() < SLOT_TABLE_OFFSET {
            return Err(LayoutError::TooSmall {
                expected: SLOT_TABLE_OFFSET as u64,
                found: bytes.len() as u64,
            });
        }
        let width = u32_at(bytes, OFF_WIDTH);
        let height = u32_at(bytes, OFF_HEIGHT);
        let color_code = u32_at(bytes, OFF_COLOR_FORMAT);
        let Some(color) = ColorFormat::from_code(color_code) else {
            return Err(field_error("color_format", "1 (rgb8)", color_code.into()));
        };
        let depth_code = u32_at(bytes, OFF_DEPTH_FORMAT);
        let depth = match depth_code {
            0 => None,
            code => match DepthFormat::from_code(code) {
                Some(format) => Some(format),
                None => {
                    return Err(field_error(
                        "depth_format",
                        "0 (none) or 1 (z16)",
                        code.into(),
                    ))
                }
            },
        };
        let geometry = Geometry {
            width,
            height,
            color,
            depth,
        };
        for (field, side) in [("width", width), ("height", height)] {
            if !(1..=crate::MAX_DIMENSION_PX).contains(&side) {
                return Err(field_error(
                    field,
                    format!("1..={}", crate::MAX_DIMENSION_PX),
                    side.into(),
                ));
            }
        }
        let color_stride = u32_at(bytes, OFF_COLOR_STRIDE);
        if color_stride as usize != geometry.color_stride() {
            return Err(field_error(
                "color_stride",
                geometry.color_stride().to_string(),
                color_stride.into(),
            ));
        }
        let depth_stride = u32_at(bytes, OFF_DEPTH_STRIDE);
        if depth_stride as usize != geometry.depth_stride() {
            return Err(field_error(
                "depth_stride",
                geometry.depth_stride().to_string(),
                depth_stride.into(),
            ));
        }
        let metadata_capacity = u32_at(bytes, OFF_METADATA_CAPACITY);
        let status_capacity = u32_at(bytes, OFF_STATUS_CAPACITY);
        for (field, capacity) in [
            ("metadata_capacity", metadata_capacity),
            ("status_capacity", status_capacity),
        ] {
            if !(MIN_JSON_CAPACITY..=MAX_JSON_CAPACITY).contains(&capacity) {
                return Err(field_error(
                    field,
                    format!("{MIN_JSON_CAPACITY}..={MAX_JSON_CAPACITY}"),
                    capacity.into(),
                ));
            }
        }
        if segment.slot_stride < u64::from(metadata_capacity) {
            return Err(field_error(
                "slot_stride",
                format!("at least metadata_capacity = {metadata_capacity}"),
                segment.slot_stride,
            ));
        }
        let status_end = Self::status_record_offset(segment.slot_count) as u64
            + STATUS_RECORD_LEN as u64
            + u64::from(status_capacity);
        if segment.data_offset < status_end {
            return Err(field_error(
                "data_offset",
                format!("at least {status_end} (after the slot table and status record)"),
                segment.data_offset,
            ));
        }
        Ok(ControlHeader {
            writer_pid: u32_at(bytes, OFF_WRITER_PID),
            started_wall_ns: u64_at(bytes, OFF_STARTED_WALL),
            geometry,
            metadata_capacity,
            status_capacity,
        })
    }

    /// Writes the immutable control fields into `bytes` (the first `SLOT_TABLE_OFFSET` bytes).
    pub(crate) fn encode_into(&self, bytes: &mut [u8; SLOT_TABLE_OFFSET]) {
        let mut put = |offset: usize, value: &[u8]| {
            bytes[offset..offset + value.len()].copy_from_slice(value);
        };
        put(OFF_WRITER_PID, &self.writer_pid.to_le_bytes());
        put(OFF_STARTED_WALL, &self.started_wall_ns.to_le_bytes());
        put(OFF_WIDTH, &self.geometry.width.to_le_bytes());
        put(OFF_HEIGHT, &self.geometry.height.to_le_bytes());
        put(OFF_COLOR_FORMAT, &self.geometry.color.code().to_le_bytes());
        put(
            OFF_COLOR_STRIDE,
            &(self.geometry.color_stride() as u32).to_le_bytes(),
        );
        let depth_code = self.geometry.depth.map_or(0, DepthFormat::code);
        put(OFF_DEPTH_FORMAT, &depth_code.to_le_bytes());
        put(
            OFF_DEPTH_STRIDE,
            &(self.geometry.depth_stride() as u32).to_le_bytes(),
        );
        put(OFF_METADATA_CAPACITY, &self.metadata_capacity.to_le_bytes());
        put(OFF_STATUS_CAPACITY, &self.status_capacity.to_le_bytes());
    }
}

/// The immutable part of the detections segment's control block (written once before the
/// writer goes live). Its shared words (state, heartbeat, latest, wake) and its slot table are
/// where the metadata segment has them; it has no status record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectionsHeader {
    pub writer_pid: u32,
    pub started_wall_ns: u64,
    /// Capacity of each slot's detection-result JSON, bytes.
    pub result_capacity: u32,
}

impl DetectionsHeader {
    /// Where the first result slot can start for `slot_count` slots: right after the table.
    pub fn slot_table_end(slot_count: u32) -> u64 {
        (SLOT_TABLE_OFFSET + slot_count as usize * SLOT_RECORD_LEN) as u64
    }

    /// Parses the immutable control fields and checks them against the segment header.
    /// `bytes` must hold at least `SLOT_TABLE_OFFSET` bytes of the detections segment.
    pub fn parse(bytes: &[u8], segment: &SegmentHeader) -> Result<Self, LayoutError> {
        if bytes.len() < SLOT_TABLE_OFFSET {
            return Err(LayoutError::TooSmall {
                expected: SLOT_TABLE_OFFSET as u64,
                found: bytes.len() as u64,
            });
        }
        let result_capacity = u32_at(bytes, OFF_RESULT_CAPACITY);
        if !(MIN_JSON_CAPACITY..=MAX_JSON_CAPACITY).contains(&result_capacity) {
            return Err(field_error(
                "result_capacity",
                format!("{MIN_JSON_CAPACITY}..={MAX_JSON_CAPACITY}"),
                result_capacity.into(),
            ));
        }
        if segment.slot_stride < u64::from(result_capacity) {
            return Err(field_error(
                "slot_stride",
                format!("at least result_capacity = {result_capacity}"),
                segment.slot_stride,
            ));
        }
        let table_end = Self::slot_table_end(segment.slot_count);
        if segment.data_offset < table_end {
            return Err(field_error(
                "data_offset",
                format!("at least {table_end} (after the slot table)"),
                segment.data_offset,
            ));
        }
        Ok(DetectionsHeader {
            writer_pid: u32_at(bytes, OFF_WRITER_PID),
            started_wall_ns: u64_at(bytes, OFF_STARTED_WALL),
            result_capacity,
        })
    }

    /// Writes the immutable control fields into `bytes` (the first `SLOT_TABLE_OFFSET` bytes).
    pub(crate) fn encode_into(&self, bytes: &mut [u8; SLOT_TABLE_OFFSET]) {
        bytes[OFF_WRITER_PID..OFF_WRITER_PID + 4].copy_from_slice(&self.writer_pid.to_le_bytes());
        bytes[OFF_STARTED_WALL..OFF_STARTED_WALL + 8]
            .copy_from_slice(&self.started_wall_ns.to_le_bytes());
        bytes[OFF_RESULT_CAPACITY..OFF_RESULT_CAPACITY + 4]
            .copy_from_slice(&self.result_capacity.to_le_bytes());
    }

    /// The common header of a detections segment with `slot_count` slots of
    /// `result_capacity` bytes; `None` if a size overflows (impossible within the bounds on
    /// slots and capacities, but checked anyway).
    pub fn segment_header(
        slot_count: u32,
        result_capacity: u32,
        session_id: u64,
    ) -> Option<SegmentHeader> {
        let data_offset = align_up(Self::slot_table_end(slot_count), SLOT_ALIGN as u64)?;
        if data_offset > u64::from(u32::MAX) {
            return None;
        }
        let slot_stride = align_up(result_capacity.into(), SLOT_ALIGN as u64)?;
        Some(SegmentHeader {
            version_minor: VERSION_MINOR,
            session_id,
            data_offset,
            slot_count,
            slot_stride,
            total_len: slot_stride
                .checked_mul(slot_count.into())?
                .checked_add(data_offset)?,
        })
    }
}

/// Sizes of the three segments for one writer configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub metadata: SegmentHeader,
    pub rgb: SegmentHeader,
    pub depth: Option<SegmentHeader>,
}

impl Layout {
    /// Computes the layout; `None` if a size overflows (impossible after `Geometry::validate`
    /// and the slot/capacity bounds, but checked anyway).
    pub fn new(
        geometry: &Geometry,
        slot_count: u32,
        metadata_capacity: u32,
        status_capacity: u32,
        session_id: u64,
    ) -> Option<Self> {
        let slots = u64::from(slot_count);
        let plane = |len: usize| -> Option<SegmentHeader> {
            let slot_stride = align_up(len as u64, PLANE_DATA_OFFSET as u64)?;
            let data_offset = PLANE_DATA_OFFSET as u64;
            Some(SegmentHeader {
                version_minor: VERSION_MINOR,
                session_id,
                data_offset,
                slot_count,
                slot_stride,
                total_len: slot_stride.checked_mul(slots)?.checked_add(data_offset)?,
            })
        };
        let status_end = ControlHeader::status_record_offset(slot_count) as u64
            + STATUS_RECORD_LEN as u64
            + u64::from(status_capacity);
        let metadata_offset = align_up(status_end, SLOT_ALIGN as u64)?;
        if metadata_offset > u64::from(u32::MAX) {
            return None;
        }
        let metadata_stride = align_up(metadata_capacity.into(), SLOT_ALIGN as u64)?;
        Some(Layout {
            metadata: SegmentHeader {
                version_minor: VERSION_MINOR,
                session_id,
                data_offset: metadata_offset,
                slot_count,
                slot_stride: metadata_stride,
                total_len: metadata_stride
                    .checked_mul(slots)?
                    .checked_add(metadata_offset)?,
            },
            rgb: plane(geometry.color_len())?,
            depth: match geometry.depth {
                Some(_) => Some(plane(geometry.depth_len())?),
                None => None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample_layout() -> Layout {
        Layout::new(&Geometry::default(), 4, 16 * 1024, 4096, 42).unwrap()
    }

    fn encoded_control(layout: &Layout) -> Vec<u8> {
        let mut bytes = vec![0u8; layout.metadata.total_len as usize];
        bytes[..SEGMENT_HEADER_LEN].copy_from_slice(&layout.metadata.encode(SegmentKind::Metadata));
        let mut control = [0u8; SLOT_TABLE_OFFSET];
        control[..SEGMENT_HEADER_LEN].copy_from_slice(&bytes[..SEGMENT_HEADER_LEN]);
        ControlHeader {
            writer_pid: 7,
            started_wall_ns: 9,
            geometry: Geometry::default(),
            metadata_capacity: 16 * 1024,
            status_capacity: 4096,
        }
        .encode_into(&mut control);
        bytes[..SLOT_TABLE_OFFSET].copy_from_slice(&control);
        bytes
    }

    #[test]
    fn encoded_headers_parse_back() {
        let layout = sample_layout();
        let bytes = encoded_control(&layout);
        let header =
            SegmentHeader::parse(&bytes, SegmentKind::Metadata, bytes.len() as u64).unwrap();
        assert_eq!(header, layout.metadata);
        let control = ControlHeader::parse(&bytes, &header).unwrap();
        assert_eq!(control.geometry, Geometry::default());
        assert_eq!(control.writer_pid, 7);
        let rgb = layout.rgb.encode(SegmentKind::Rgb);
        assert_eq!(
            SegmentHeader::parse(&rgb, SegmentKind::Rgb, layout.rgb.total_len).unwrap(),
            layout.rgb
        );
    }

    #[test]
    fn truncated_segment_is_too_small() {
        let layout = sample_layout();
        let rgb = layout.rgb.encode(SegmentKind::Rgb);
        let error =
            SegmentHeader::parse(&rgb, SegmentKind::Rgb, layout.rgb.total_len - 1).unwrap_err();
        assert!(matches!(error, LayoutError::TooSmall { .. }), "{error}");
    }

    #[test]
    fn wrong_version_and_kind_are_named() {
        let layout = sample_layout();
        let mut rgb = layout.rgb.encode(SegmentKind::Rgb);
        rgb[OFF_VERSION_MAJOR] = 2;
        let error = SegmentHeader::parse(&rgb, SegmentKind::Rgb, layout.rgb.total_len).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("unsupported protocol version: expected 1.x, found 2.{VERSION_MINOR}")
        );
        let depth = layout.depth.unwrap().encode(SegmentKind::Depth);
        let error = SegmentHeader::parse(&depth, SegmentKind::Rgb, u64::MAX).unwrap_err();
        assert!(matches!(
            error,
            LayoutError::Kind {
                expected: 2,
                found: 3
            }
        ));
    }

    #[test]
    fn overflowing_geometry_is_refused() {
        let layout = sample_layout();
        let mut bytes = encoded_control(&layout);
        bytes[OFF_WIDTH..OFF_WIDTH + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let header =
            SegmentHeader::parse(&bytes, SegmentKind::Metadata, bytes.len() as u64).unwrap();
        let error = ControlHeader::parse(&bytes, &header).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "field width: expected 1..={MAX_DIMENSION_PX}, found 4294967295",
                MAX_DIMENSION_PX = crate::MAX_DIMENSION_PX
            )
        );
    }

    fn encoded_detections() -> (SegmentHeader, Vec<u8>) {
        let header = DetectionsHeader::segment_header(8, 4096, 42).unwrap();
        let mut bytes = vec![0u8; header.total_len as usize];
        let mut control = [0u8; SLOT_TABLE_OFFSET];
        control[..SEGMENT_HEADER_LEN].copy_from_slice(&header.encode(SegmentKind::Detections));
        DetectionsHeader {
            writer_pid: 7,
            started_wall_ns: 9,
            result_capacity: 4096,
        }
        .encode_into(&mut control);
        bytes[..SLOT_TABLE_OFFSET].copy_from_slice(&control);
        (header, bytes)
    }

    #[test]
    fn detections_headers_parse_back_and_are_not_metadata() {
        let (header, bytes) = encoded_detections();
        assert_eq!(header.data_offset, 256 + 8 * 64);
        let parsed =
            SegmentHeader::parse(&bytes, SegmentKind::Detections, bytes.len() as u64).unwrap();
        assert_eq!(parsed, header);
        let control = DetectionsHeader::parse(&bytes, &parsed).unwrap();
        assert_eq!((control.writer_pid, control.result_capacity), (7, 4096));
        let error =
            SegmentHeader::parse(&bytes, SegmentKind::Metadata, bytes.len() as u64).unwrap_err();
        assert!(
            matches!(
                error,
                LayoutError::Kind {
                    expected: 1,
                    found: 4
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn a_detections_capacity_beyond_its_slots_is_refused() {
        let (header, mut bytes) = encoded_detections();
        bytes[OFF_RESULT_CAPACITY..OFF_RESULT_CAPACITY + 4].copy_from_slice(&8192u32.to_le_bytes());
        let error = DetectionsHeader::parse(&bytes, &header).unwrap_err();
        assert_eq!(
            error.to_string(),
            "field slot_stride: expected at least result_capacity = 8192, found 4096"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), len in any::<u64>()) {
            if let Ok(header) = SegmentHeader::parse(&bytes, SegmentKind::Metadata, len) {
                prop_assert!(header.total_len <= len);
                let _ = ControlHeader::parse(&bytes, &header);
            }
            let _ = SegmentHeader::parse(&bytes, SegmentKind::Rgb, len);
            if let Ok(header) = SegmentHeader::parse(&bytes, SegmentKind::Detections, len) {
                prop_assert!(header.total_len <= len);
                let _ = DetectionsHeader::parse(&bytes, &header);
            }
        }

        #[test]
        fn mutated_detections_headers_never_panic(index in 0usize..SLOT_TABLE_OFFSET, value in any::<u8>()) {
            let (_, mut bytes) = encoded_detections();
            bytes[index] = value;
            if let Ok(header) = SegmentHeader::parse(&bytes, SegmentKind::Detections, bytes.len() as u64) {
                if let Ok(control) = DetectionsHeader::parse(&bytes, &header) {
                    prop_assert!(header.total_len <= bytes.len() as u64);
                    prop_assert!(header.slot_stride >= u64::from(control.result_capacity));
                    prop_assert!(header.data_offset >= DetectionsHeader::slot_table_end(header.slot_count));
                }
            }
        }

        #[test]
        fn mutated_valid_headers_never_panic(index in 0usize..SLOT_TABLE_OFFSET, value in any::<u8>()) {
            let layout = sample_layout();
            let mut bytes = encoded_control(&layout);
            bytes[index] = value;
            if let Ok(header) = SegmentHeader::parse(&bytes, SegmentKind::Metadata, bytes.len() as u64) {
                if let Ok(control) = ControlHeader::parse(&bytes, &header) {
                    // Whatever parses must describe a segment that fits the mapping.
                    prop_assert!(header.total_len <= bytes.len() as u64);
                    prop_assert!(control.geometry.validate().is_ok());
                }
            }
        }
    }
}
