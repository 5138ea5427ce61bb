//! Frame geometry: the size and pixel format of the colour and depth planes.

use serde::{Deserialize, Serialize};

/// Largest width or height the protocol accepts, in pixels.
///
/// Far above any depth camera (RealSense tops out at 1920x1080 colour); it exists so that a
/// header written by a broken or hostile process cannot make a reader compute absurd sizes.
pub const MAX_DIMENSION_PX: u32 = 16_384;

/// Largest frame the protocol accepts: colour plus depth bytes of one frame (64 MiB, e.g.
/// 4096x3072 colour + depth; 3840x2160 takes 40 MiB).
///
/// Every reader maps the whole ring (4 slots by default), so the ring's memory is paid once in
/// shared memory and again in each reader's address space; an unbounded mode request would
/// let one command exhaust the machine's memory.
pub const MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;

/// Pixel format of the colour plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColorFormat {
    /// 3 bytes per pixel: red, green, blue.
    Rgb8,
}

impl ColorFormat {
    pub const fn bytes_per_pixel(self) -> u32 {
        match self {
            ColorFormat::Rgb8 => 3,
        }
    }

    pub(crate) const fn code(self) -> u32 {
        match self {
            ColorFormat::Rgb8 => 1,
        }
    }

    pub(crate) const fn from_code(code: u32) -> Option<Self> {
        match code {
            1 => Some(ColorFormat::Rgb8),
            _ => None,
        }
    }
}

/// Pixel format of the depth plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepthFormat {
    /// Little-endian `u16` depth units per pixel; 0 means "no measurement". Multiply by the
    /// frame's `depth_scale_m` to get metres.
    Z16,
}

impl DepthFormat {
    pub const fn bytes_per_pixel(self) -> u32 {
        match self {
            DepthFormat::Z16 => 2,
        }
    }

    pub(crate) const fn code(self) -> u32 {
        match self {
            DepthFormat::Z16 => 1,
        }
    }

    pub(crate) const fn from_code(code: u32) -> Option<Self> {
        match code {
            1 => Some(DepthFormat::Z16),
            _ => None,
        }
    }
}

/// Width, height and formats of the frames one writer publishes.
///
/// Rows are tightly packed (stride = width x bytes per pixel); the protocol still records the
/// stride in the header so that readers in other languages never have to derive it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Geometry {
    pub width: u32,
    pub height: u32,
    pub color: ColorFormat,
    /// `None` for a colour-only source (a webcam): no depth segment exists then.
    pub depth: Option<DepthFormat>,
}

impl Default for Geometry {
    /// 640x480 RGB8 colour with Z16 depth, a RealSense camera's default mode.
    fn default() -> Self {
        Geometry {
            width: 640,
            height: 480,
            color: ColorFormat::Rgb8,
            depth: Some(DepthFormat::Z16),
        }
    }
}

/// Why a geometry cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeometryError {
    #[error(
        "frame size {width}x{height} is invalid: each side must be between 1 and {max} pixels"
    )]
    Dimensions { width: u32, height: u32, max: u32 },
    #[error(
        "frame size {width}x{height} needs {bytes} bytes per frame, more than the {max_bytes} allowed"
    )]
    TooLarge {
        width: u32,
        height: u32,
        bytes: usize,
        max_bytes: usize,
    },
}

impl Geometry {
    /// A colour + depth geometry of the given size with the default formats.
    pub fn rgbd(width: u32, height: u32) -> Self {
        Geometry {
            width,
            height,
            ..Geometry::default()
        }
    }

    /// A colour-only geometry of the given size.
    pub fn rgb_only(width: u32, height: u32) -> Self {
        Geometry {
            width,
            height,
            color: ColorFormat::Rgb8,
            depth: None,
        }
    }

    /// Checks that the sides are in range and a frame is at most [`MAX_FRAME_BYTES`]; after
    /// this every size below fits in `usize` (16384 x 16384 x 3 bytes is 768 MiB).
    pub fn validate(&self) -> Result<(), GeometryError> {
        let in_range = |side: u32| (1..=MAX_DIMENSION_PX).contains(&side);
        if !(in_range(self.width) && in_range(self.height)) {
            return Err(GeometryError::Dimensions {
                width: self.width,
                height: self.height,
                max: MAX_DIMENSION_PX,
            });
        }
        let bytes = self.frame_len();
        if bytes > MAX_FRAME_BYTES {
            return Err(GeometryError::TooLarge {
                width: self.width,
                height: self.height,
                bytes,
                max_bytes: MAX_FRAME_BYTES,
            });
        }
        Ok(())
    }

    /// Bytes of one frame: colour plus depth.
    pub fn frame_len(&self) -> usize {
        self.color_len() + self.depth_len()
    }

    pub fn pixel_count(&self) -> usize {
        self.width as usize * self.height as usize
    }

    /// Bytes per colour row.
    pub fn color_stride(&self) -> usize {
        self.width as usize * self.color.bytes_per_pixel() as usize
    }

    /// Bytes of one colour plane.
    pub fn color_len(&self) -> usize {
        self.color_stride() * self.height as usize
    }

    /// Bytes per depth row, 0 without depth.
    pub fn depth_stride(&self) -> usize {
        self.depth.map_or(0, |format| {
            self.width as usize * format.bytes_per_pixel() as usize
        })
    }

    /// Bytes of one depth plane, 0 without depth.
    pub fn depth_len(&self) -> usize {
        self.depth_stride() * self.height as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_640x480_colour_and_depth() {
        let geometry = Geometry::default();
        assert_eq!(geometry.color_len(), 921_600);
        assert_eq!(geometry.depth_len(), 614_400);
    }

    #[test]
    fn rgb_only_has_no_depth_bytes() {
        let geometry = Geometry::rgb_only(1920, 1080);
        assert_eq!(geometry.depth_len(), 0);
        assert_eq!(geometry.color_len(), 1920 * 1080 * 3);
    }

    #[test]
    fn zero_and_huge_sides_are_rejected() {
        assert!(Geometry::rgbd(0, 480).validate().is_err());
        assert!(Geometry::rgbd(640, MAX_DIMENSION_PX + 1)
            .validate()
            .is_err());
        assert!(Geometry::rgbd(MAX_DIMENSION_PX, 1).validate().is_ok());
    }

    #[test]
    fn frames_beyond_the_memory_bound_are_rejected() {
        assert!(Geometry::rgbd(3840, 2160).validate().is_ok());
        assert!(Geometry::rgbd(4096, 3072).validate().is_ok());
        assert!(matches!(
            Geometry::rgbd(MAX_DIMENSION_PX, MAX_DIMENSION_PX).validate(),
            Err(GeometryError::TooLarge { .. })
        ));
        assert!(Geometry::rgb_only(7680, 4320).validate().is_err());
    }
}
