//! Caller-owned frame buffers that readers fill, reused from frame to frame.

use crate::error::ReadError;
use crate::geometry::Geometry;
use crate::metadata::FrameMetadata;

/// The binary fields of a frame, stored beside its pixels in the slot table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameHeader {
    /// Position of this frame in the writer's publish order, starting at 1.
    pub publish_seq: u64,
    /// The source's own frame counter.
    pub frame_number: u64,
    /// Capture time, nanoseconds since the Unix epoch.
    pub capture_wall_ns: u64,
    /// Capture time on `CLOCK_MONOTONIC`.
    pub capture_mono_ns: u64,
    /// When the writer finished publishing, on `CLOCK_MONOTONIC`.
    pub publish_mono_ns: u64,
}

/// One frame copied out of shared memory: colour, optional depth and metadata, all from the
/// same publish. Create one per reader and pass it to every read; its buffers grow on the
/// first read (or a geometry change) and are reused afterwards.
///
/// Reads copy straight into these buffers and validate afterwards: after a read that did not
/// return `Ok(true)` the buffers may hold a discarded, torn copy. Use the contents only after
/// a read that returned `Ok(true)`.
#[derive(Debug, Clone, Default)]
pub struct FrameBuf {
    pub(crate) geometry: Option<Geometry>,
    pub(crate) header: FrameHeader,
    pub(crate) rgb: Vec<u8>,
    pub(crate) depth: Vec<u8>,
    pub(crate) metadata_json: Vec<u8>,
    pub(crate) metadata_len: usize,
}

impl FrameBuf {
    pub fn new() -> Self {
        FrameBuf::default()
    }

    /// Geometry of the frame held, `None` before the first successful read.
    pub fn geometry(&self) -> Option<Geometry> {
        self.geometry
    }

    pub fn header(&self) -> &FrameHeader {
        &self.header
    }

    pub fn frame_number(&self) -> u64 {
        self.header.frame_number
    }

    pub fn publish_seq(&self) -> u64 {
        self.header.publish_seq
    }

    pub fn capture_mono_ns(&self) -> u64 {
        self.header.capture_mono_ns
    }

    pub fn publish_mono_ns(&self) -> u64 {
        self.header.publish_mono_ns
    }

    /// Tightly packed RGB8 rows.
    pub fn rgb(&self) -> &[u8] {
        &self.rgb
    }

    /// Tightly packed little-endian Z16 rows, `None` for a colour-only writer.
    pub fn depth(&self) -> Option<&[u8]> {
        match self.geometry {
            Some(Geometry { depth: Some(_), .. }) => Some(&self.depth),
            _ => None,
        }
    }

    /// Depth units of the pixel at (x, y), `None` outside the image or without depth.
    pub fn depth_at(&self, x: u32, y: u32) -> Option<u16> {
        let geometry = self.geometry?;
        if x >= geometry.width || y >= geometry.height {
            return None;
        }
        let index = (y as usize * geometry.width as usize + x as usize) * 2;
        let bytes = self.depth()?.get(index..index + 2)?;
        Some(u16::from_le_bytes([bytes[0], bytes[1]]))
    }

    /// The metadata JSON exactly as published.
    pub fn metadata_json(&self) -> &[u8] {
        &self.metadata_json[..self.metadata_len]
    }

    /// Parses the metadata (allocates; call it when you need the fields, not per pixel).
    pub fn metadata(&self) -> Result<FrameMetadata, ReadError> {
        Ok(serde_json::from_slice(self.metadata_json())?)
    }

    /// Sizes the buffers for `geometry`, allocating only when they are too small.
    pub(crate) fn prepare(&mut self, geometry: Geometry, metadata_capacity: usize) {
        self.geometry = Some(geometry);
        self.rgb.resize(geometry.color_len(), 0);
        self.depth.resize(geometry.depth_len(), 0);
        if self.metadata_json.len() < metadata_capacity {
            self.metadata_json.resize(metadata_capacity, 0);
        }
    }
}
