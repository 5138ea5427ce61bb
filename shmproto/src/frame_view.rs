//! In-place reads: a look at the newest complete slot where it lies in shared memory, without
//! copying the whole frame first (docs/protocol.md, section 8.1).
//!
//! A [`FrameView`] only exists inside the closure given to [`crate::Reader::read_in_place`] or
//! [`crate::Reader::wait_next_in_place`]; the reader re-checks the slot's sequence word when
//! the closure returns and throws its value away ([`crate::ReadError::Overwritten`]) if the
//! writer touched the slot meanwhile.
//!
//! The view never hands out a Rust reference into the mapping. The writer (another process,
//! or a thread of this one) may be rewriting the very bytes the closure looks at, and a `&[u8]`
//! over bytes that change while it lives would break Rust's aliasing rules (the compiler may
//! assume a shared slice does not change, read it twice and see two values, or cache it).
//! Instead every access is a raw copy out of the mapping into memory the caller owns, exactly
//! as the copying read does: the caller picks what to copy and where to (a row into a scratch
//! buffer, a plane straight into its own frame or texture), and only the copy is ever seen
//! through a reference.

use crate::error::ReadError;
use crate::frame::FrameHeader;
use crate::geometry::Geometry;
use crate::metadata::FrameMetadata;
use crate::segment::Segment;

/// The newest complete frame, where it lies in shared memory. Valid only inside the closure
/// it is given to, and even there its bytes may be changing (a writer lapping the ring): what
/// the closure made of them counts only if the read returns `Ok`.
pub struct FrameView<'a> {
    pub(crate) geometry: Geometry,
    pub(crate) header: FrameHeader,
    pub(crate) rgb: PlaneView<'a>,
    pub(crate) depth: Option<PlaneView<'a>>,
    pub(crate) metadata: PlaneView<'a>,
}

impl<'a> FrameView<'a> {
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// The frame's binary fields (frame number, capture and publish times), read from the slot
    /// record when the read began.
    pub fn header(&self) -> &FrameHeader {
        &self.header
    }

    pub fn frame_number(&self) -> u64 {
        self.header.frame_number
    }

    pub fn publish_mono_ns(&self) -> u64 {
        self.header.publish_mono_ns
    }

    /// Tightly packed RGB8 rows (`width * 3` bytes each).
    pub fn rgb(&self) -> PlaneView<'a> {
        self.rgb
    }

    /// Tightly packed little-endian Z16 rows (`width * 2` bytes each), `None` for a
    /// colour-only writer.
    pub fn depth(&self) -> Option<PlaneView<'a>> {
        self.depth
    }

    /// The metadata JSON exactly as published (its length checked against the slot's
    /// capacity), as a plane of one row.
    pub fn metadata_json(&self) -> PlaneView<'a> {
        self.metadata
    }

    /// Copies the metadata JSON out (small) and parses it. A parse error inside a read that
    /// then fails with [`ReadError::Overwritten`] was caused by the writer, not by the data.
    pub fn metadata(&self) -> Result<FrameMetadata, ReadError> {
        let mut json = vec![0u8; self.metadata.len()];
        self.metadata.copy_to(&mut json);
        Ok(serde_json::from_slice(&json)?)
    }
}

/// One plane of a slot in shared memory: `len` bytes that can only be copied out.
#[derive(Clone, Copy)]
pub struct PlaneView<'a> {
    pub(crate) segment: &'a Segment,
    pub(crate) offset: usize,
    pub(crate) len: usize,
    /// Bytes per row (the whole length for the metadata).
    pub(crate) row_len: usize,
}

impl PlaneView<'_> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes per row.
    pub fn row_len(&self) -> usize {
        self.row_len
    }

    /// Copies `dst.len()` bytes starting at byte `start` of the plane into `dst`; false (and
    /// nothing copied) when that range is not inside the plane.
    pub fn copy_range_to(&self, start: usize, dst: &mut [u8]) -> bool {
        let inside = start
            .checked_add(dst.len())
            .is_some_and(|end| end <= self.len);
        // The plane itself was checked against the segment's mapped length when the reader
        // opened it, and `read_bytes` checks the range again.
        inside && self.segment.read_bytes(self.offset + start, dst)
    }

    /// Copies the start of the plane into `dst` (the whole plane when `dst` has its length);
    /// returns how many bytes were copied.
    pub fn copy_to(&self, dst: &mut [u8]) -> usize {
        let len = dst.len().min(self.len);
        if self.copy_range_to(0, &mut dst[..len]) {
            len
        } else {
            0
        }
    }

    /// Copies the plane out `chunk_len` bytes at a time (the last chunk may be shorter) into
    /// one small buffer that stays in cache, and calls `each` with every chunk's offset in the
    /// plane and its bytes: a pass over the plane without a plane-sized copy.
    pub fn for_each_chunk(&self, chunk_len: usize, mut each: impl FnMut(usize, &[u8])) {
        let chunk_len = chunk_len.clamp(1, self.len.max(1));
        let mut buffer = vec![0u8; chunk_len];
        let mut start = 0;
        while start < self.len {
            let len = chunk_len.min(self.len - start);
            let chunk = &mut buffer[..len];
            if !self.copy_range_to(start, chunk) {
                return;
            }
            each(start, chunk);
            start += len;
        }
    }

    /// [`PlaneView::for_each_chunk`] one row at a time: `each` gets the row index and the row.
    pub fn for_each_row(&self, mut each: impl FnMut(usize, &[u8])) {
        let row_len = self.row_len.max(1);
        self.for_each_chunk(row_len, |start, row| each(start / row_len, row));
    }
}
