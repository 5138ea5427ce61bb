//! A borrowed view of one RGB-D frame: what every detector reads.

use shmproto::Intrinsics;

/// One frame as detectors see it: tightly packed RGB8, optional Z16 depth aligned to colour,
/// and the colour camera's intrinsics. Built with [`FrameView::new`], which checks the sizes,
/// so detectors can index the planes without bounds surprises.
#[derive(Debug, Clone, Copy)]
pub struct FrameView<'a> {
    width: u32,
    height: u32,
    rgb: &'a [u8],
    depth: Option<DepthView<'a>>,
    intrinsics: Option<Intrinsics>,
}

/// The depth plane of a frame: little-endian `u16` units per pixel (0 = no measurement),
/// aligned to the colour plane, and the metres per unit.
#[derive(Debug, Clone, Copy)]
pub struct DepthView<'a> {
    /// `width * height * 2` bytes, little-endian.
    pub z16_le: &'a [u8],
    /// Metres per depth unit (0.001 for RealSense D400).
    pub depth_scale_m: f32,
}

/// Why a frame view could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameViewError {
    #[error("{plane} plane has {found} bytes, a {width}x{height} frame needs {expected}")]
    PlaneSize {
        plane: &'static str,
        width: u32,
        height: u32,
        expected: usize,
        found: usize,
    },
    #[error("empty frame ({width}x{height})")]
    Empty { width: u32, height: u32 },
    #[error("depth scale {0} m per unit is not a positive finite number")]
    DepthScale(f32),
    #[error("intrinsics {problem}")]
    Intrinsics { problem: String },
}

impl<'a> FrameView<'a> {
    /// Checks that the planes match `width` x `height` (RGB8: 3 bytes per pixel; Z16: 2).
    pub fn new(
        width: u32,
        height: u32,
        rgb: &'a [u8],
        depth: Option<DepthView<'a>>,
        intrinsics: Option<Intrinsics>,
    ) -> Result<Self, FrameViewError> {
        if width == 0 || height == 0 {
            return Err(FrameViewError::Empty { width, height });
        }
        let pixels = width as usize * height as usize;
        let check = |plane, found: usize, expected: usize| {
            if found == expected {
                Ok(())
            } else {
                Err(FrameViewError::PlaneSize {
                    plane,
                    width,
                    height,
                    expected,
                    found,
                })
            }
        };
        check("colour", rgb.len(), pixels * 3)?;
        if let Some(depth) = &depth {
            check("depth", depth.z16_le.len(), pixels * 2)?;
            if !(depth.depth_scale_m.is_finite() && depth.depth_scale_m > 0.0) {
                return Err(FrameViewError::DepthScale(depth.depth_scale_m));
            }
        }
        if let Some(intrinsics) = &intrinsics {
            check_intrinsics(intrinsics, width, height)?;
        }
        Ok(FrameView {
            width,
            height,
            rgb,
            depth,
            intrinsics,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Tightly packed RGB8, row by row.
    pub fn rgb(&self) -> &'a [u8] {
        self.rgb
    }

    pub fn depth(&self) -> Option<DepthView<'a>> {
        self.depth
    }

    pub fn intrinsics(&self) -> Option<Intrinsics> {
        self.intrinsics
    }

    /// The raw depth units at pixel (column, row); `None` without depth or outside the frame.
    pub fn depth_units_at(&self, column: u32, row: u32) -> Option<u16> {
        if column >= self.width || row >= self.height {
            return None;
        }
        let depth = self.depth?;
        let at = (row as usize * self.width as usize + column as usize) * 2;
        Some(u16::from_le_bytes([depth.z16_le[at], depth.z16_le[at + 1]]))
    }

    /// The depth in metres at pixel (column, row); `None` without a measurement there.
    pub fn depth_m_at(&self, column: u32, row: u32) -> Option<f32> {
        let units = self.depth_units_at(column, row)?;
        let depth = self.depth?;
        (units != 0).then(|| f32::from(units) * depth.depth_scale_m)
    }
}

/// Intrinsics come with the frame from another process: they must describe this frame and be
/// usable numbers, or every position computed from them would be NaN or nonsense.
fn check_intrinsics(
    intrinsics: &Intrinsics,
    width: u32,
    height: u32,
) -> Result<(), FrameViewError> {
    let problem = if (intrinsics.width, intrinsics.height) != (width, height) {
        format!(
            "are for {}x{}, the frame is {width}x{height}",
            intrinsics.width, intrinsics.height
        )
    } else if !(intrinsics.fx.is_finite()
        && intrinsics.fy.is_finite()
        && intrinsics.fx > 0.0
        && intrinsics.fy > 0.0)
    {
        format!(
            "have focal lengths {} and {}, not positive finite numbers",
            intrinsics.fx, intrinsics.fy
        )
    } else if !(intrinsics.ppx.is_finite()
        && intrinsics.ppy.is_finite()
        && intrinsics.coeffs.iter().all(|c| c.is_finite()))
    {
        "hold a number that is not finite".to_owned()
    } else {
        return Ok(());
    };
    Err(FrameViewError::Intrinsics { problem })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_checked_and_depth_reads_back_in_metres() {
        let rgb = vec![0u8; 4 * 3 * 3];
        let mut depth = vec![0u8; 4 * 3 * 2];
        depth[(3 + 1) * 2..(3 + 1) * 2 + 2].copy_from_slice(&1500u16.to_le_bytes());
        let view = DepthView {
            z16_le: &depth,
            depth_scale_m: 0.001,
        };
        let frame = FrameView::new(4, 3, &rgb, Some(view), None).unwrap();
        assert_eq!(frame.depth_m_at(3, 1), None);
        assert!((frame.depth_m_at(0, 1).unwrap() - 1.5).abs() < 1e-6);
        assert_eq!(frame.depth_m_at(4, 0), None);
        assert!(matches!(
            FrameView::new(5, 3, &rgb, None, None),
            Err(FrameViewError::PlaneSize {
                plane: "colour",
                ..
            })
        ));
        let bad_scale = DepthView {
            z16_le: &depth,
            depth_scale_m: 0.0,
        };
        assert!(FrameView::new(4, 3, &rgb, Some(bad_scale), None).is_err());
        let mut intrinsics = Intrinsics::pinhole_from_fov(4, 3, 60.0);
        assert!(FrameView::new(4, 3, &rgb, None, Some(intrinsics)).is_ok());
        intrinsics.fx = f32::NAN;
        assert!(matches!(
            FrameView::new(4, 3, &rgb, None, Some(intrinsics)),
            Err(FrameViewError::Intrinsics { .. })
        ));
        let other_size = Intrinsics::pinhole_from_fov(8, 6, 60.0);
        assert!(FrameView::new(4, 3, &rgb, None, Some(other_size)).is_err());
    }
}
