//! The depth-only detector's parameters, with the reasons for their defaults.

/// How the depth-only detector fits the plane and which regions it reports. The defaults suit
/// a RealSense D400 (or the synthetic scene) at 640x480 looking at a floor or a table from
/// 0.5 to 10 m; see each field.
///
/// Depth noise is modelled as growing with the square of the depth (stereo depth error is
/// proportional to depth squared over baseline times focal length):
/// `noise_m(z) = depth_noise_per_m * z²`. Both the plane's inlier band and the off-plane margin
/// add it to a fixed part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DepthOnlyParams {
    /// Depths outside `min_depth_m..=max_depth_m` are ignored (too near for a stereo camera,
    /// or too noisy). Default 0.1 to 10 m.
    pub min_depth_m: f32,
    pub max_depth_m: f32,
    /// The plane is fitted on every `fit_stride_px`-th pixel in each direction. Default 4:
    /// 160x120 points at 640x480, plenty for a plane.
    pub fit_stride_px: u32,
    /// Plane hypotheses RANSAC tries. Default 128: with half of the points on the plane, the
    /// chance of never drawing three of them is 0.875^128, about 4e-8.
    pub ransac_iterations: u32,
    /// At most this many fit points score each hypothesis (an even subsample of them); the
    /// least-squares refinement then uses every fit point. Default 2048.
    pub ransac_scored_points: usize,
    /// Seed of the RANSAC generator, reset for every frame: a frame always gives the same
    /// plane.
    pub ransac_seed: u64,
    /// Fixed part of the inlier band: a point counts as on the plane within
    /// `plane_inlier_m + noise_m(z)` of it. Default 2 cm.
    pub plane_inlier_m: f32,
    /// Depth noise per metre of depth, squared (see the type's documentation). Default
    /// 0.005 / m: 5 mm at 1 m, 2 cm at 2 m, 4.5 cm at 3 m, about a D435's spread.
    pub depth_noise_per_m: f32,
    /// The plane must hold at least this share of the valid fit points, and at least
    /// `min_plane_points` of them, to count as the dominant plane. Default 20 %, 100 points.
    pub min_plane_fraction: f32,
    pub min_plane_points: usize,
    /// Fixed part of the off-plane margin: a pixel belongs to an object when its point lies on
    /// the camera's side of the plane, farther than `min_height_m + noise_m(z)` from it.
    /// Default 3 cm.
    pub min_height_m: f32,
    /// Two neighbouring pixels (8-adjacency) belong to one region when their depths differ
    /// by at most this fraction of the nearer one. Default 4 %: 8 cm at 2 m, which joins the
    /// steep rim of a ball to its face while keeping an object apart from one 10 % farther.
    pub depth_step_fraction: f32,
    /// Regions with fewer pixels are dropped. Default 40 (a 6x6-pixel blob).
    pub min_region_px: u32,
    /// Regions whose 3D extent's longest side is shorter are dropped. Default 5 cm.
    pub min_region_size_m: f32,
}

impl Default for DepthOnlyParams {
    fn default() -> Self {
        DepthOnlyParams {
            min_depth_m: 0.1,
            max_depth_m: 10.0,
            fit_stride_px: 4,
            ransac_iterations: 128,
            ransac_scored_points: 2048,
            ransac_seed: 0x5EED_DE97,
            plane_inlier_m: 0.02,
            depth_noise_per_m: 0.005,
            min_plane_fraction: 0.2,
            min_plane_points: 100,
            min_height_m: 0.03,
            depth_step_fraction: 0.04,
            min_region_px: 40,
            min_region_size_m: 0.05,
        }
    }
}

/// A parameter out of its range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("depth-only detector parameter {name} = {value} is invalid: {expected}")]
pub struct ParamsError {
    pub name: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl DepthOnlyParams {
    /// The depth noise at `depth_m` (see the type's documentation).
    pub fn noise_m(&self, depth_m: f32) -> f32 {
        self.depth_noise_per_m * depth_m * depth_m
    }

    /// How far from the plane a point at `depth_m` still counts as on it.
    pub fn inlier_band_m(&self, depth_m: f32) -> f32 {
        self.plane_inlier_m + self.noise_m(depth_m)
    }

    /// How far above the plane a point at `depth_m` must be to belong to an object.
    pub fn off_plane_margin_m(&self, depth_m: f32) -> f32 {
        self.min_height_m + self.noise_m(depth_m)
    }

    /// Checks every parameter's range.
    pub fn validate(&self) -> Result<(), ParamsError> {
        fn check(
            name: &'static str,
            value: impl std::fmt::Display,
            valid: bool,
            expected: &'static str,
        ) -> Result<(), ParamsError> {
            if valid {
                Ok(())
            } else {
                Err(ParamsError {
                    name,
                    value: value.to_string(),
                    expected,
                })
            }
        }
        let non_negative = |value: f32| value.is_finite() && value >= 0.0;
        let positive = |value: f32| value.is_finite() && value > 0.0;
        check(
            "min_depth_m",
            self.min_depth_m,
            positive(self.min_depth_m),
            "a positive number of metres",
        )?;
        check(
            "max_depth_m",
            self.max_depth_m,
            positive(self.max_depth_m) && self.max_depth_m > self.min_depth_m,
            "a number of metres above min_depth_m",
        )?;
        check(
            "fit_stride_px",
            self.fit_stride_px,
            self.fit_stride_px > 0,
            "at least 1",
        )?;
        check(
            "ransac_iterations",
            self.ransac_iterations,
            self.ransac_iterations > 0,
            "at least 1",
        )?;
        check(
            "ransac_scored_points",
            self.ransac_scored_points,
            self.ransac_scored_points >= 3,
            "at least 3",
        )?;
        for (name, value) in [
            ("plane_inlier_m", self.plane_inlier_m),
            ("depth_noise_per_m", self.depth_noise_per_m),
            ("min_height_m", self.min_height_m),
            ("min_region_size_m", self.min_region_size_m),
        ] {
            check(
                name,
                value,
                non_negative(value),
                "a number of metres, 0 or more",
            )?;
        }
        check(
            "plane_inlier_m",
            self.plane_inlier_m,
            self.plane_inlier_m > 0.0 || self.depth_noise_per_m > 0.0,
            "above 0 unless depth_noise_per_m is",
        )?;
        check(
            "min_plane_fraction",
            self.min_plane_fraction,
            (0.0..=1.0).contains(&self.min_plane_fraction),
            "a fraction from 0 to 1",
        )?;
        check(
            "min_plane_points",
            self.min_plane_points,
            self.min_plane_points >= 3,
            "at least 3",
        )?;
        check(
            "depth_step_fraction",
            self.depth_step_fraction,
            non_negative(self.depth_step_fraction),
            "a fraction, 0 or more",
        )?;
        check(
            "min_region_px",
            self.min_region_px,
            self.min_region_px > 0,
            "at least 1",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_nonsense_is_named() {
        assert_eq!(DepthOnlyParams::default().validate(), Ok(()));
        let params = DepthOnlyParams {
            min_depth_m: f32::NAN,
            ..DepthOnlyParams::default()
        };
        let error = params.validate().unwrap_err();
        assert_eq!(error.name, "min_depth_m");
        assert!(error.to_string().contains("min_depth_m = NaN"), "{error}");
        for invalid in [
            DepthOnlyParams {
                max_depth_m: 0.05,
                ..DepthOnlyParams::default()
            },
            DepthOnlyParams {
                fit_stride_px: 0,
                ..DepthOnlyParams::default()
            },
            DepthOnlyParams {
                min_plane_fraction: 1.5,
                ..DepthOnlyParams::default()
            },
            DepthOnlyParams {
                min_height_m: -0.01,
                ..DepthOnlyParams::default()
            },
        ] {
            assert!(invalid.validate().is_err(), "{invalid:?}");
        }
    }

    #[test]
    fn margins_grow_with_the_square_of_depth() {
        let params = DepthOnlyParams::default();
        assert!((params.off_plane_margin_m(1.0) - 0.035).abs() < 1e-6);
        assert!((params.off_plane_margin_m(2.0) - 0.05).abs() < 1e-6);
        assert!((params.inlier_band_m(3.0) - 0.065).abs() < 1e-6);
    }
}
