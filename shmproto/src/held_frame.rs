//! A frame held where it lies in shared memory across calls (docs/protocol.md, section 8.1,
//! "Holding a frame in place"): the in-place read for bindings to languages whose code cannot
//! run inside one Rust closure. Python's `aaa_camera` hands numpy arrays over the slot to a
//! `with` block and checks the slot when the block ends.
//!
//! It offers addresses, not slices. The writer (another process) may rewrite the bytes at any
//! time, and a Rust reference over bytes that change while it lives is undefined behaviour (see
//! [`crate::FrameView`]); the foreign code that reads through the addresses has no such rule,
//! and what it made of them counts only if [`HeldFrame::check`] passes after its last read.
//!
//! A held frame keeps the reader's mappings alive (the reader may move on to new segments, or
//! be dropped), so its addresses stay valid as long as it lives. A segment truncated under it
//! reads as zeros (the SIGBUS guard replaces the mapping) and `check` says it was lost.

use std::ptr::NonNull;
use std::sync::Arc;

use crate::error::ReadError;
use crate::frame::{FrameBuf, FrameHeader};
use crate::geometry::Geometry;
use crate::metadata::FrameMetadata;
use crate::ring::{self, BegunRead, Ring};
use crate::session::Session;

/// The newest frame when it was taken, held where it lies. Its bytes are provisional until
/// [`HeldFrame::check`] passes after the last look at them.
pub struct HeldFrame {
    session: Arc<Session>,
    begun: BegunRead,
}

/// One plane of a held frame: its address in the mapping and its length.
#[derive(Debug, Clone, Copy)]
pub struct HeldPlane {
    /// Valid for `len` bytes as long as the [`HeldFrame`] lives; never to be turned into a
    /// Rust reference (the bytes may change under it).
    pub address: NonNull<u8>,
    pub len: usize,
    /// Bytes per row.
    pub row_len: usize,
}

impl HeldFrame {
    /// `begun` is a begun read of one of `session`'s slots whose metadata length fits its
    /// capacity (`reader::begin_in_place`).
    pub(crate) fn new(session: Arc<Session>, begun: BegunRead) -> HeldFrame {
        HeldFrame { session, begun }
    }

    pub fn geometry(&self) -> Geometry {
        self.session.header.geometry
    }

    /// The frame's binary fields, read from the slot record when the frame was taken (checked
    /// by [`HeldFrame::check`] like the planes).
    pub fn header(&self) -> FrameHeader {
        let record = &self.begun.record;
        FrameHeader {
            publish_seq: record.publish_seq,
            frame_number: record.fields.frame_number,
            capture_wall_ns: record.fields.capture_wall_ns,
            capture_mono_ns: record.fields.capture_mono_ns,
            publish_mono_ns: record.publish_mono_ns,
        }
    }

    /// Tightly packed RGB8 rows (`width * 3` bytes each).
    pub fn rgb(&self) -> Option<HeldPlane> {
        let geometry = self.geometry();
        let offset = Session::data_offset(&self.session.layout.rgb, self.begun.slot);
        // The plane was checked against the mapped length at open; `address_of` checks again.
        let address = self.session.rgb.address_of(offset, geometry.color_len())?;
        Some(HeldPlane {
            address,
            len: geometry.color_len(),
            row_len: geometry.width as usize * 3,
        })
    }

    /// Tightly packed little-endian Z16 rows (`width * 2` bytes each), `None` for a
    /// colour-only writer.
    pub fn depth(&self) -> Option<HeldPlane> {
        let geometry = self.geometry();
        let (Some(segment), Some(plane)) = (&self.session.depth, &self.session.layout.depth) else {
            return None;
        };
        let offset = Session::data_offset(plane, self.begun.slot);
        let address = segment.address_of(offset, geometry.depth_len())?;
        Some(HeldPlane {
            address,
            len: geometry.depth_len(),
            row_len: geometry.width as usize * 2,
        })
    }

    /// Copies the metadata JSON out and parses it. Provisional like the planes: a parse error
    /// followed by a failing [`HeldFrame::check`] was the writer's doing, not the data's.
    pub fn metadata(&self) -> Result<FrameMetadata, ReadError> {
        let len = self.begun.record.fields.json_len as usize;
        let mut json = vec![0u8; len];
        let offset = Session::data_offset(&self.session.layout.metadata, self.begun.slot);
        if !self.session.control.read_bytes(offset, &mut json) {
            return Err(ReadError::Corrupt {
                segment: self.session.control.name().to_owned(),
                problem: format!("slot {} metadata lies outside its segment", self.begun.slot),
            });
        }
        Ok(serde_json::from_slice(&json)?)
    }

    /// Copies the whole frame into `frame` (as a copying read does) and checks it: the way to
    /// keep a frame that a look in place found worth keeping. On an error `frame` may hold a
    /// torn copy: do not use it.
    pub fn copy_into(&self, frame: &mut FrameBuf) -> Result<(), ReadError> {
        let session = &self.session;
        let slot = self.begun.slot;
        let metadata_len = self.begun.record.fields.json_len as usize;
        frame.prepare(self.geometry(), session.header.metadata_capacity as usize);
        // The ranges come from headers validated against the mapped sizes at open, and the
        // metadata length was checked against its capacity when the frame was taken.
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
            &mut frame.metadata_json[..metadata_len],
        );
        self.check()?;
        if !copied {
            return Err(ReadError::Corrupt {
                segment: session.control.name().to_owned(),
                problem: format!("slot {slot} lies outside its segments"),
            });
        }
        frame.header = self.header();
        frame.metadata_len = metadata_len;
        Ok(())
    }

    /// Whether everything read from the frame since it was taken belongs to it: `Ok` when the
    /// writer has not touched its slot; [`ReadError::Overwritten`] when it has (what was made
    /// of the bytes must be thrown away); [`ReadError::SegmentLost`] when a segment was
    /// truncated under the mapping. Call it after the last read through the planes' addresses.
    pub fn check(&self) -> Result<(), ReadError> {
        // A truncated segment reads as zeros after the SIGBUS guard detached it (its sequence
        // word too, so the check below may pass): say what happened first.
        if let Some(segment) = self.session.lost_segment() {
            return Err(ReadError::SegmentLost {
                segment: segment.to_owned(),
            });
        }
        if !ring::finish_read(self.session.as_ref(), &self.begun) {
            return Err(ReadError::Overwritten {
                publish_seq: self.begun.record.publish_seq,
            });
        }
        Ok(())
    }
}
