//! The ray of every pixel at unit depth, computed once per intrinsics: deprojecting pixel
//! (column, row) at depth `z` is then `z * ray`, exactly what [`Intrinsics::deproject`] gives
//! (it scales its normalised coordinates by the depth last), distortion included.

use shmproto::Intrinsics;

/// Per-pixel `[x / z, y / z]` for one frame size and one set of intrinsics.
#[derive(Debug, Default)]
pub struct PixelRays {
    /// What `xy` was computed for.
    source: Option<(Intrinsics, u32, u32)>,
    xy: Vec<[f32; 2]>,
}

impl PixelRays {
    /// The rays of a `width` x `height` frame seen through `intrinsics`, row by row; computed
    /// only when those differ from the previous call's.
    pub fn for_frame(&mut self, intrinsics: &Intrinsics, width: u32, height: u32) -> &[[f32; 2]] {
        let wanted = (*intrinsics, width, height);
        if self.source != Some(wanted) {
            self.xy.clear();
            self.xy.reserve(width as usize * height as usize);
            for row in 0..height {
                for column in 0..width {
                    let [x, y, _] = intrinsics.deproject([column as f32, row as f32], 1.0);
                    self.xy.push([x, y]);
                }
            }
            self.source = Some(wanted);
        }
        &self.xy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_rays_are_deprojected_pixels() {
        let mut intrinsics = Intrinsics::pinhole_from_fov(8, 6, 69.0);
        intrinsics.model = shmproto::DistortionModel::InverseBrownConrady;
        intrinsics.coeffs = [0.1, -0.05, 0.001, 0.002, 0.01];
        let mut rays = PixelRays::default();
        let xy = rays.for_frame(&intrinsics, 8, 6).to_vec();
        assert_eq!(xy.len(), 48);
        let depth_m = 2.345;
        let [x, y] = xy[3 * 8 + 5];
        assert_eq!(
            [x * depth_m, y * depth_m, depth_m],
            intrinsics.deproject([5.0, 3.0], depth_m)
        );
        // Cached while nothing changes; recomputed for other intrinsics.
        assert_eq!(rays.for_frame(&intrinsics, 8, 6), &xy[..]);
        let pinhole = Intrinsics::pinhole_from_fov(8, 6, 69.0);
        assert_ne!(rays.for_frame(&pinhole, 8, 6), &xy[..]);
    }
}
