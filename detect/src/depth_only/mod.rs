//! The depth-only detector (`--detect depth`): no model, it reports whatever stands out of the
//! dominant plane (a floor or a table top).
//!
//! Per frame:
//! 1. **Fit points**: every [`DepthOnlyParams::fit_stride_px`]-th pixel in each direction with
//!    a depth in `min_depth_m..=max_depth_m`, deprojected with the frame's intrinsics.
//! 2. **Plane** ([`plane`]): RANSAC with a seeded xorshift (the same frame always gives the
//!    same plane), refined by least squares on its inliers. No plane holding enough of the fit
//!    points (an empty frame, the sky, a cluttered close-up): **no detections**, not an error,
//!    because nothing can stand out of a plane that is not there and the next frame may well
//!    have one; [`DepthOnlyDetector::plane`] then returns `None`, so a caller can tell "no
//!    plane" from "a plane with nothing on it".
//! 3. **Off-plane pixels**: every pixel whose point lies on the camera's side of the plane,
//!    more than [`DepthOnlyParams::off_plane_margin_m`] above it (a fixed 3 cm plus a noise
//!    term growing with the square of the depth). Points below the plane (holes, the floor
//!    beyond a table's edge) are never objects.
//! 4. **Regions** ([`regions`]): off-plane pixels joined to their 8 neighbours when their
//!    depths differ by at most [`DepthOnlyParams::depth_step_fraction`] of the nearer one, so
//!    that an object in front of another is a region of its own. Regions with fewer than
//!    `min_region_px` pixels or whose 3D bounds' longest side is under `min_region_size_m` are
//!    dropped.
//! 5. **Detections**, one per region: class 0, label `object`; `box_px` the region's pixel
//!    bounds (columns `c0..=c1` give `x1 = c0`, `x2 = c1 + 1`); `position.depth_m` the median
//!    depth of its pixels; `position.point_m` the **centroid** (mean) of its 3D points;
//!    `distance_m` the centroid's distance from the camera; `extent_m` the axis-aligned 3D
//!    bounds of its points.
//!
//! **Where `point_m` lies.** The camera sees an object's front surface only, so the region's
//! points are that surface and their centroid lies in front of the object's volumetric centre
//! (nearer the camera, roughly along the line of sight) by up to half the object's depth: two
//! thirds of the radius for a ball (the mean depth of a hemisphere seen face-on), about half
//! the depth for a box seen face-on, less for a box seen corner-on. The part of the object
//! within the off-plane margin of the floor is not in the region either, which lifts the
//! centroid slightly. `extent_m` likewise bounds the visible surface: its far side stops about
//! at the object's silhouette, near the depth of its centre.
//!
//! **Score**: how clearly the region stands out of the plane against the depth noise there:
//! `1 - margin / mean_height`, with `mean_height` the mean height of the region's points above
//! the plane and `margin` the off-plane margin at the region's median depth, clamped to 0..=1.
//! 0.5 when the points stand on average twice the margin above the plane, 0.8 at five times,
//! 0.9 at ten (a 0.5 m ball on a floor 2 m away scores about 0.8); a bump barely above the
//! margin scores near 0 and falls under the usual threshold.
//!
//! Regions never overlap, so the non-maximum suppression of [`DetectSettings::iou_threshold`]
//! has nothing to do; `score_threshold` and `max_detections` apply (best scores first).
//! Objects touching each other at the same depth (two boxes side by side) make one region.
//!
//! Needs depth and intrinsics of the frame's size: without them [`DepthOnlyDetector::detect`]
//! fails with [`DetectError::Frame`]. Every buffer is kept between frames; the per-pixel rays
//! are recomputed only when the intrinsics change (`cargo bench -p detect --bench depth_only`).

pub mod measure;
pub mod params;
pub mod plane;
pub mod rays;
pub mod regions;
pub mod rng;

pub use params::{DepthOnlyParams, ParamsError};
pub use plane::{Plane, PlaneFit};

use shmproto::{Detection, DetectorInfo, ObjectPosition};

use crate::detector::{DetectError, DetectSettings, Detector};
use crate::frame::FrameView;
use crate::position::norm;
use measure::{median, RegionStats};
use rays::PixelRays;
use regions::Regions;

/// The class id of every depth-only detection.
pub const CLASS_ID: u32 = 0;

/// The label of every depth-only detection.
pub const LABEL: &str = "object";

/// The format name in [`DetectorInfo`].
pub const FORMAT: &str = "depth";

/// Objects standing out of the dominant plane. See the module documentation.
#[derive(Debug, Default)]
pub struct DepthOnlyDetector {
    params: DepthOnlyParams,
    /// The last frame's plane, `None` when it had none.
    plane: Option<PlaneFit>,
    rays: PixelRays,
    /// Fit points and their inlier bands.
    fit_points_m: Vec<[f32; 3]>,
    fit_bands_m: Vec<f32>,
    /// Per pixel: its depth units when it is off the plane, else 0.
    off_plane_units: Vec<u16>,
    regions: Regions,
    /// Per region id (index 0 unused).
    stats: Vec<RegionStats>,
    /// Per region id: where its depths start in `region_depths`, for regions kept; `u32::MAX`
    /// for regions dropped.
    depth_offsets: Vec<u32>,
    region_depths: Vec<u16>,
}

impl DepthOnlyDetector {
    /// A detector with `params`, checked.
    pub fn new(params: DepthOnlyParams) -> Result<Self, ParamsError> {
        params.validate()?;
        Ok(DepthOnlyDetector {
            params,
            ..DepthOnlyDetector::default()
        })
    }

    pub fn params(&self) -> &DepthOnlyParams {
        &self.params
    }

    /// The dominant plane of the last frame, `None` when it had none (or before the first).
    pub fn plane(&self) -> Option<PlaneFit> {
        self.plane
    }

    /// Steps 1 to 5 of the module documentation, without the settings.
    fn find_objects(&mut self, frame: &FrameView<'_>) -> Result<Vec<Detection>, DetectError> {
        let Some(depth) = frame.depth() else {
            return Err(DetectError::Frame(
                "the depth-only detector needs a depth plane; this frame has none".into(),
            ));
        };
        let Some(intrinsics) = frame.intrinsics() else {
            return Err(DetectError::Frame(
                "the depth-only detector needs the camera intrinsics to deproject depth; this \
                 frame has none"
                    .into(),
            ));
        };
        let (width, height) = (frame.width(), frame.height());
        if (intrinsics.width, intrinsics.height) != (width, height) {
            return Err(DetectError::Frame(format!(
                "the intrinsics describe a {}x{} image but the frame is {width}x{height}",
                intrinsics.width, intrinsics.height
            )));
        }
        let params = self.params;
        let scale_m = depth.depth_scale_m;
        // Valid depth units: 1 or more, within the configured range.
        let min_units = (params.min_depth_m / scale_m).ceil().clamp(1.0, 65535.0) as u16;
        let max_units = (params.max_depth_m / scale_m).floor().clamp(0.0, 65535.0) as u16;
        let rays = self.rays.for_frame(&intrinsics, width, height);
        let units_at = |index: usize| {
            u16::from_le_bytes([depth.z16_le[2 * index], depth.z16_le[2 * index + 1]])
        };

        // 1. Fit points.
        self.fit_points_m.clear();
        self.fit_bands_m.clear();
        let stride = params.fit_stride_px as usize;
        let (width_px, height_px) = (width as usize, height as usize);
        for row in (stride / 2..height_px).step_by(stride) {
            for column in (stride / 2..width_px).step_by(stride) {
                let index = row * width_px + column;
                let units = units_at(index);
                if units < min_units || units > max_units {
                    continue;
                }
                let depth_m = f32::from(units) * scale_m;
                let [x, y] = rays[index];
                self.fit_points_m.push([x * depth_m, y * depth_m, depth_m]);
                self.fit_bands_m.push(params.inlier_band_m(depth_m));
            }
        }

        // 2. Plane.
        self.plane = plane::fit_plane(&self.fit_points_m, &self.fit_bands_m, &params);
        let Some(fit) = self.plane else {
            return Ok(Vec::new());
        };
        let Plane {
            normal: [nx, ny, nz],
            offset_m,
        } = fit.plane;

        // 3. Off-plane pixels: height = depth * (n . ray) + offset.
        self.off_plane_units.clear();
        self.off_plane_units
            .extend(
                depth
                    .z16_le
                    .chunks_exact(2)
                    .zip(rays)
                    .map(|(bytes, &[x, y])| {
                        let units = u16::from_le_bytes([bytes[0], bytes[1]]);
                        let depth_m = f32::from(units) * scale_m;
                        let height_m = depth_m * (nx * x + ny * y + nz) + offset_m;
                        let off = units >= min_units
                            && units <= max_units
                            && height_m > params.off_plane_margin_m(depth_m);
                        if off {
                            units
                        } else {
                            0
                        }
                    }),
            );

        // 4. Regions, and what each is.
        self.regions.label(
            width_px,
            height_px,
            &self.off_plane_units,
            params.depth_step_fraction,
        );
        let count = self.regions.count();
        self.stats.clear();
        self.stats.resize(count + 1, RegionStats::default());
        let labels = self.regions.labels();
        for (index, &label) in labels.iter().enumerate() {
            if label == 0 {
                continue;
            }
            let depth_m = f32::from(self.off_plane_units[index]) * scale_m;
            let [x, y] = rays[index];
            let point_m = [x * depth_m, y * depth_m, depth_m];
            let column = (index % width_px) as u32;
            let row = (index / width_px) as u32;
            self.stats[label as usize].add(column, row, point_m, fit.plane.height_m(point_m));
        }

        // Which regions are kept, and room for their depths.
        self.depth_offsets.clear();
        self.depth_offsets.resize(count + 1, u32::MAX);
        let mut total = 0u32;
        for (id, stats) in self.stats.iter().enumerate().skip(1) {
            if stats.pixels >= params.min_region_px
                && stats.longest_side_m() >= params.min_region_size_m
            {
                self.depth_offsets[id] = total;
                total += stats.pixels;
            }
        }
        if total == 0 {
            return Ok(Vec::new());
        }
        // Each kept region's depths, contiguous: `depth_offsets` is advanced as they are
        // written and ends where the next region starts.
        self.region_depths.clear();
        self.region_depths.resize(total as usize, 0);
        for (index, &label) in labels.iter().enumerate() {
            if label == 0 {
                continue;
            }
            let offset = &mut self.depth_offsets[label as usize];
            if *offset == u32::MAX {
                continue;
            }
            self.region_depths[*offset as usize] = self.off_plane_units[index];
            *offset += 1;
        }

        // 5. Detections.
        let mut detections = Vec::new();
        for (id, stats) in self.stats.iter().enumerate().skip(1) {
            let end = self.depth_offsets[id];
            if end == u32::MAX {
                continue;
            }
            let start = (end - stats.pixels) as usize;
            let Some(median_units) = median(&mut self.region_depths[start..end as usize]) else {
                continue;
            };
            let depth_m = f32::from(median_units) * scale_m;
            let point_m = stats.centroid_m();
            let margin_m = params.off_plane_margin_m(depth_m);
            let mean_height_m = stats.mean_height_m();
            let score = if mean_height_m > 0.0 {
                (1.0 - margin_m / mean_height_m).clamp(0.0, 1.0)
            } else {
                0.0
            };
            detections.push(Detection {
                class_id: CLASS_ID,
                label: LABEL.to_owned(),
                score,
                box_px: stats.box_px(),
                position: Some(ObjectPosition {
                    depth_m,
                    point_m,
                    distance_m: norm(point_m),
                    extent_m: Some([stats.min_m, stats.max_m]),
                }),
                position_missing: None,
            });
        }
        Ok(detections)
    }
}

impl Detector for DepthOnlyDetector {
    fn info(&self) -> DetectorInfo {
        DetectorInfo {
            format: FORMAT.to_owned(),
            model: None,
        }
    }

    fn detect(
        &mut self,
        frame: &FrameView<'_>,
        settings: &DetectSettings,
    ) -> Result<Vec<Detection>, DetectError> {
        let mut detections = self.find_objects(frame)?;
        detections.retain(|detection| detection.score >= settings.score_threshold);
        // Best first; equal scores by position in the image, so the order is deterministic.
        detections.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.box_px[1].total_cmp(&b.box_px[1]))
                .then(a.box_px[0].total_cmp(&b.box_px[0]))
        });
        detections.truncate(settings.max_detections);
        Ok(detections)
    }
}
