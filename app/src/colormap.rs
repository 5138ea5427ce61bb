//! Depth colouring: the turbo colour map and a lookup table from raw depth units to colours.

use egui::Color32;

/// Number of distinct `u16` depth values, the size of a [`DepthLut`].
const LUT_LEN: usize = 1 << 16;

/// Colour of pixels without a depth measurement (depth 0).
pub const NO_DEPTH_COLOR: Color32 = Color32::BLACK;

/// Google's turbo colour map, `t` in 0..=1 from blue to red, through its author's polynomial
/// fit (within a few levels of the table, darker at the very ends).
pub fn turbo(t: f32) -> Color32 {
    let x = t.clamp(0.0, 1.0);
    let (x2, x3) = (x * x, x * x * x);
    let (x4, x5) = (x2 * x2, x2 * x3);
    let r = 0.135_721_38 + 4.615_392_6 * x - 42.660_32 * x2 + 132.131_08 * x3 - 152.942_4 * x4
        + 59.286_38 * x5;
    let g = 0.091_402_61 + 2.194_188_4 * x + 4.842_966_6 * x2 - 14.185_033 * x3
        + 4.277_298_6 * x4
        + 2.829_566 * x5;
    let b = 0.106_673_3 + 12.641_946 * x - 60.582_05 * x2 + 110.362_77 * x3 - 89.903_11 * x4
        + 27.348_25 * x5;
    let to_u8 = |channel: f32| (channel.clamp(0.0, 1.0) * 255.0).round() as u8;
    Color32::from_rgb(to_u8(r), to_u8(g), to_u8(b))
}

/// The depths the colour map spans, in metres: `near_m` is blue, `far_m` red; depths outside
/// are clamped to the ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DepthRange {
    pub near_m: f32,
    pub far_m: f32,
}

impl Default for DepthRange {
    /// Indoor range of a RealSense D4xx.
    fn default() -> Self {
        DepthRange {
            near_m: 0.3,
            far_m: 4.0,
        }
    }
}

impl DepthRange {
    /// Where `depth_m` falls in the range, 0 at `near_m` and 1 at `far_m` (unclamped).
    pub fn fraction(&self, depth_m: f32) -> f32 {
        let span_m = (self.far_m - self.near_m).max(f32::EPSILON);
        (depth_m - self.near_m) / span_m
    }

    /// The depth at fraction `t` of the range.
    pub fn depth_m_at(&self, t: f32) -> f32 {
        self.near_m + t * (self.far_m - self.near_m)
    }
}

/// Colour of every possible `u16` depth value for one depth scale and range, so that colouring
/// a frame is one table lookup per pixel.
pub struct DepthLut {
    colors: Box<[Color32; LUT_LEN]>,
    depth_scale_m: f32,
    range: DepthRange,
}

impl DepthLut {
    pub fn new(depth_scale_m: f32, range: DepthRange) -> Self {
        let mut colors = Box::new([NO_DEPTH_COLOR; LUT_LEN]);
        for (units, color) in colors.iter_mut().enumerate().skip(1) {
            *color = turbo(range.fraction(units as f32 * depth_scale_m));
        }
        DepthLut {
            colors,
            depth_scale_m,
            range,
        }
    }

    /// True when this table was built for these parameters.
    pub fn is_for(&self, depth_scale_m: f32, range: DepthRange) -> bool {
        self.depth_scale_m == depth_scale_m && self.range == range
    }

    pub fn range(&self) -> DepthRange {
        self.range
    }

    pub fn color(&self, depth_units: u16) -> Color32 {
        self.colors[usize::from(depth_units)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turbo_runs_from_blue_to_red() {
        let near = turbo(0.15);
        let far = turbo(0.9);
        assert!(near.b() > near.r() && far.r() > far.b(), "{near:?} {far:?}");
        assert_eq!(turbo(-1.0), turbo(0.0));
        assert_eq!(turbo(2.0), turbo(1.0));
    }

    #[test]
    fn lut_maps_zero_to_no_depth_and_clamps_the_range() {
        let range = DepthRange {
            near_m: 0.5,
            far_m: 2.5,
        };
        let lut = DepthLut::new(0.001, range);
        assert_eq!(lut.color(0), NO_DEPTH_COLOR);
        assert_eq!(lut.color(1500), turbo(0.5));
        assert_eq!(lut.color(100), turbo(0.0));
        assert_eq!(lut.color(60_000), turbo(1.0));
        assert!(lut.is_for(0.001, range) && !lut.is_for(0.0001, range));
    }
}
