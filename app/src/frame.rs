//! The one frame type every source produces, and the frozen frame a detector takes.

use std::sync::Arc;

use shmproto::{FrameMetadata, Geometry};

/// One colour (+ depth) frame as the app holds it, whatever source it came from.
///
/// Immutable once built; the viewer shares it as `Arc<Frame>` between the display and a
/// [`FrozenFrame`].
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The source's frame counter (the writer's for daemon frames).
    pub frame_number: u64,
    pub geometry: Geometry,
    /// Tightly packed RGB8, `geometry.color_len()` bytes.
    pub rgb: Vec<u8>,
    /// Depth in the source's units (multiply by `metadata.depth_scale_m` for metres), one per
    /// pixel, row by row; 0 means no measurement. `None` for colour-only sources.
    pub depth_units: Option<Vec<u16>>,
    /// Carries the capture timestamps (`capture_mono_ns` on `CLOCK_MONOTONIC`).
    pub metadata: FrameMetadata,
    /// When the daemon published it into shared memory; `None` for sources run inside the app.
    pub publish_mono_ns: Option<u64>,
}

/// Why a frame could not be built from the planes a source delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("the colour plane has {actual} bytes, {expected} expected for {width}x{height} RGB8")]
    ColorSize {
        actual: usize,
        expected: usize,
        width: u32,
        height: u32,
    },
    #[error("the depth plane has {actual} bytes, {expected} expected for {width}x{height} Z16")]
    DepthSize {
        actual: usize,
        expected: usize,
        width: u32,
        height: u32,
    },
}

impl Frame {
    /// Builds a frame from an RGB8 plane and an optional little-endian Z16 plane, checking
    /// their sizes against `geometry`. An empty depth plane means "no depth".
    pub fn from_planes(
        geometry: Geometry,
        rgb: Vec<u8>,
        depth_le_bytes: &[u8],
        metadata: FrameMetadata,
        publish_mono_ns: Option<u64>,
    ) -> Result<Frame, FrameError> {
        if rgb.len() != geometry.color_len() {
            return Err(FrameError::ColorSize {
                actual: rgb.len(),
                expected: geometry.color_len(),
                width: geometry.width,
                height: geometry.height,
            });
        }
        let depth_units = if depth_le_bytes.is_empty() || geometry.depth.is_none() {
            None
        } else if depth_le_bytes.len() != geometry.pixel_count() * 2 {
            return Err(FrameError::DepthSize {
                actual: depth_le_bytes.len(),
                expected: geometry.pixel_count() * 2,
                width: geometry.width,
                height: geometry.height,
            });
        } else {
            Some(depth_from_le_bytes(depth_le_bytes))
        };
        let geometry = Geometry {
            depth: depth_units.as_ref().and(geometry.depth),
            ..geometry
        };
        Ok(Frame {
            frame_number: metadata.frame_number,
            geometry,
            rgb,
            depth_units,
            metadata,
            publish_mono_ns,
        })
    }

    /// Like [`Frame::from_planes`], with the depth plane already in units (`None`: no depth),
    /// for sources that convert it while they copy it (the daemon feed, reading in place).
    pub fn from_depth_units(
        geometry: Geometry,
        rgb: Vec<u8>,
        depth_units: Option<Vec<u16>>,
        metadata: FrameMetadata,
        publish_mono_ns: Option<u64>,
    ) -> Result<Frame, FrameError> {
        if rgb.len() != geometry.color_len() {
            return Err(FrameError::ColorSize {
                actual: rgb.len(),
                expected: geometry.color_len(),
                width: geometry.width,
                height: geometry.height,
            });
        }
        let depth_units = depth_units.filter(|_| geometry.depth.is_some());
        if let Some(units) = &depth_units {
            if units.len() != geometry.pixel_count() {
                return Err(FrameError::DepthSize {
                    actual: units.len() * 2,
                    expected: geometry.pixel_count() * 2,
                    width: geometry.width,
                    height: geometry.height,
                });
            }
        }
        let geometry = Geometry {
            depth: depth_units.as_ref().and(geometry.depth),
            ..geometry
        };
        Ok(Frame {
            frame_number: metadata.frame_number,
            geometry,
            rgb,
            depth_units,
            metadata,
            publish_mono_ns,
        })
    }

    /// The RGB colour at a pixel, `None` outside the image.
    pub fn rgb_at(&self, pixel: [u32; 2]) -> Option<[u8; 3]> {
        let index = self.pixel_index(pixel)? * 3;
        let rgb = self.rgb.get(index..index + 3)?;
        Some([rgb[0], rgb[1], rgb[2]])
    }

    /// Depth in metres at a pixel; `None` outside the image, without depth or where the
    /// camera measured nothing (0).
    pub fn depth_m_at(&self, pixel: [u32; 2]) -> Option<f32> {
        let units = *self.depth_units.as_ref()?.get(self.pixel_index(pixel)?)?;
        let scale_m = self.metadata.depth_scale_m?;
        (units != 0).then(|| f32::from(units) * scale_m)
    }

    /// The 3D point in the camera frame (metres) seen at a pixel centre, from the metadata's
    /// intrinsics; `None` where [`Self::depth_m_at`] is `None` or without intrinsics.
    pub fn point_in_camera_at(&self, pixel: [u32; 2]) -> Option<[f32; 3]> {
        let depth_m = self.depth_m_at(pixel)?;
        let intrinsics = self.metadata.intrinsics?;
        Some(intrinsics.deproject(pixel_centre_in_image(pixel), depth_m))
    }

    fn pixel_index(&self, [x, y]: [u32; 2]) -> Option<usize> {
        (x < self.geometry.width && y < self.geometry.height)
            .then(|| y as usize * self.geometry.width as usize + x as usize)
    }
}

/// Where the centre of pixel (column, row) lies in the continuous pixel coordinates that
/// [`shmproto::Intrinsics`] take: librealsense's, in which integer coordinates are pixel
/// centres, so the offset is 0. The 3D view's vertex shader is built with the same constant.
pub const PIXEL_CENTRE_OFFSET_PX: f32 = 0.0;

/// The coordinates of pixel (column, row)'s centre, for [`shmproto::Intrinsics::deproject`].
pub fn pixel_centre_in_image([column, row]: [u32; 2]) -> [f32; 2] {
    [
        column as f32 + PIXEL_CENTRE_OFFSET_PX,
        row as f32 + PIXEL_CENTRE_OFFSET_PX,
    ]
}

/// Little-endian Z16 bytes to depth units.
pub fn depth_from_le_bytes(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect()
}

/// The frame shown when the user pressed Freeze: colour, depth and metadata of one moment,
/// as a plain value a detector (or a file) can take. Cloning is cheap (shared, immutable).
#[derive(Debug, Clone, PartialEq)]
pub struct FrozenFrame {
    frame: Arc<Frame>,
}

impl FrozenFrame {
    pub fn new(frame: Arc<Frame>) -> Self {
        FrozenFrame { frame }
    }

    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    /// The frame itself, shared (for a worker thread).
    pub fn shared_frame(&self) -> Arc<Frame> {
        Arc::clone(&self.frame)
    }

    pub fn frame_number(&self) -> u64 {
        self.frame.frame_number
    }

    pub fn geometry(&self) -> Geometry {
        self.frame.geometry
    }

    pub fn rgb(&self) -> &[u8] {
        &self.frame.rgb
    }

    pub fn depth_units(&self) -> Option<&[u16]> {
        self.frame.depth_units.as_deref()
    }

    pub fn metadata(&self) -> &FrameMetadata {
        &self.frame.metadata
    }
}

#[cfg(test)]
pub(crate) mod test_frames {
    //! Frames with known content for the tests of the whole crate.

    use shmproto::{FrameMetadata, Geometry, Intrinsics, SourceKind};

    use super::Frame;

    /// The synthetic scene's first frame (floor, balls and a cube; exact metric depth), as the
    /// in-app synthetic source delivers it.
    pub fn scene_frame(width: u32, height: u32) -> Frame {
        use camera_sources::synthetic::{SyntheticConfig, SyntheticSource};
        use camera_sources::{CapturedFrame, Source};

        let mut source = SyntheticSource::new(SyntheticConfig {
            width,
            height,
            fps: 0.0,
            ..SyntheticConfig::default()
        })
        .expect("the synthetic scene opens");
        let mut captured = CapturedFrame::default();
        source.next_frame(&mut captured).expect("a frame");
        let info = source.info();
        let metadata = info.frame_metadata(captured.stamp(), 30.0);
        let rgb = std::mem::take(&mut captured.rgb);
        Frame::from_planes(source.geometry(), rgb, &captured.depth, metadata, None)
            .expect("the scene's planes fit its geometry")
    }

    /// A frame looking at a flat wall `plane_depth_mm` away, with a horizontal colour ramp,
    /// 0.001 m depth units and a 69° pinhole camera.
    pub fn plane_frame(frame_number: u64, width: u32, height: u32, plane_depth_mm: u16) -> Frame {
        let geometry = Geometry::rgbd(width, height);
        let mut rgb = Vec::with_capacity(geometry.color_len());
        for _y in 0..height {
            for x in 0..width {
                rgb.extend_from_slice(&[(x * 255 / width.max(1)) as u8, 128, frame_number as u8]);
            }
        }
        let depth_le: Vec<u8> =
            std::iter::repeat_n(plane_depth_mm.to_le_bytes(), geometry.pixel_count())
                .flatten()
                .collect();
        let now_ns = shmproto::monotonic_now_ns();
        let metadata = FrameMetadata {
            frame_number,
            capture_wall_ns: shmproto::wall_now_ns(),
            capture_mono_ns: now_ns,
            fps: 30.0,
            source_kind: SourceKind::Synthetic,
            source_description: "test plane".to_owned(),
            intrinsics: Some(Intrinsics::pinhole_from_fov(width, height, 69.0)),
            depth_scale_m: Some(0.001),
            depth_aligned_to_color: true,
            ground_truth: Vec::new(),
        };
        match Frame::from_planes(geometry, rgb, &depth_le, metadata, Some(now_ns)) {
            Ok(frame) => frame,
            Err(err) => panic!("test frame is malformed: {err}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_frames::plane_frame;
    use super::*;

    #[test]
    fn plane_depth_and_point_follow_the_intrinsics() {
        let frame = plane_frame(1, 64, 48, 1500);
        let depth_m = 1500.0 * 0.001;
        assert_eq!(frame.depth_m_at([10, 20]), Some(depth_m));
        assert!((depth_m - 1.5f32).abs() < 1e-6);
        let intrinsics = frame.metadata.intrinsics.unwrap();
        let point = frame.point_in_camera_at([10, 20]).unwrap();
        assert_eq!(point, intrinsics.deproject([10.0, 20.0], depth_m));
        assert_eq!(frame.depth_m_at([64, 0]), None);
    }

    #[test]
    fn wrong_plane_sizes_are_refused() {
        let frame = plane_frame(1, 8, 8, 1000);
        let short = Frame::from_planes(
            frame.geometry,
            vec![0; 5],
            &[],
            frame.metadata.clone(),
            None,
        );
        assert!(matches!(short, Err(FrameError::ColorSize { .. })));
        let bad_depth = Frame::from_planes(
            frame.geometry,
            frame.rgb.clone(),
            &[0; 3],
            frame.metadata,
            None,
        );
        assert!(matches!(bad_depth, Err(FrameError::DepthSize { .. })));
    }

    #[test]
    fn empty_depth_plane_means_colour_only() {
        let frame = plane_frame(1, 8, 8, 1000);
        let colour_only =
            Frame::from_planes(frame.geometry, frame.rgb.clone(), &[], frame.metadata, None)
                .unwrap();
        assert_eq!(colour_only.depth_units, None);
        assert_eq!(colour_only.geometry.depth, None);
        assert_eq!(colour_only.depth_m_at([0, 0]), None);
    }
}
