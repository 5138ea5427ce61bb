//! The line drawings of the 3D view, as vertex lists for the GPU: the ground grid in metres,
//! the depth camera's frustum and axes at the origin, and the detections' markers.

use shmproto::{Detection, Intrinsics};

use super::camera::Vec3;
use crate::frame::PIXEL_CENTRE_OFFSET_PX;

/// One end of a line: position (metres, camera frame) and colour (0..=1 RGB).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineVertex {
    pub position_m: Vec3,
    pub rgb: [f32; 3],
}

/// Two vertices per line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lines {
    pub vertices: Vec<LineVertex>,
}

/// The grid lies this far below the depth camera, parallel to its x-z plane (a camera held
/// level at about a person's hand height).
pub const GRID_BELOW_CAMERA_M: f32 = 1.0;
/// Spacing of the grid lines.
pub const GRID_STEP_M: f32 = 1.0;
/// The grid spans x in `-GRID_HALF_WIDTH_M..=GRID_HALF_WIDTH_M` and z in `0..=GRID_DEPTH_M`.
pub const GRID_HALF_WIDTH_M: f32 = 5.0;
pub const GRID_DEPTH_M: f32 = 10.0;
/// How far the frustum drawn at the origin reaches.
pub const FRUSTUM_DEPTH_M: f32 = 0.3;
/// Length of the drawn axes and of a marker's cross arms.
const AXIS_LENGTH_M: f32 = 0.15;
/// Half the length of a marker's cross arms.
pub const MARKER_ARM_M: f32 = 0.06;

const GRID_RGB: [f32; 3] = [0.35, 0.35, 0.38];
const GRID_AXIS_RGB: [f32; 3] = [0.55, 0.55, 0.6];
const FRUSTUM_RGB: [f32; 3] = [0.95, 0.85, 0.3];

impl Lines {
    pub fn line(&mut self, from_m: Vec3, to_m: Vec3, rgb: [f32; 3]) {
        self.vertices.push(LineVertex {
            position_m: from_m,
            rgb,
        });
        self.vertices.push(LineVertex {
            position_m: to_m,
            rgb,
        });
    }

    /// The ground grid, one line per [`GRID_STEP_M`], the lines through the camera's foot
    /// brighter.
    pub fn add_grid(&mut self) {
        let y = GRID_BELOW_CAMERA_M;
        let steps_x = (GRID_HALF_WIDTH_M / GRID_STEP_M).round() as i32;
        let steps_z = (GRID_DEPTH_M / GRID_STEP_M).round() as i32;
        for i in -steps_x..=steps_x {
            let x = i as f32 * GRID_STEP_M;
            let rgb = if i == 0 { GRID_AXIS_RGB } else { GRID_RGB };
            self.line([x, y, 0.0], [x, y, GRID_DEPTH_M], rgb);
        }
        for i in 0..=steps_z {
            let z = i as f32 * GRID_STEP_M;
            let rgb = if i == 0 { GRID_AXIS_RGB } else { GRID_RGB };
            self.line([-GRID_HALF_WIDTH_M, y, z], [GRID_HALF_WIDTH_M, y, z], rgb);
        }
    }

    /// The depth camera at the origin: its axes (x red, y green, z blue) and the frustum of
    /// its image out to [`FRUSTUM_DEPTH_M`].
    pub fn add_camera(&mut self, intrinsics: &Intrinsics) {
        let origin = [0.0; 3];
        self.line(origin, [AXIS_LENGTH_M, 0.0, 0.0], [1.0, 0.2, 0.2]);
        self.line(origin, [0.0, AXIS_LENGTH_M, 0.0], [0.2, 1.0, 0.2]);
        self.line(origin, [0.0, 0.0, AXIS_LENGTH_M], [0.3, 0.5, 1.0]);
        let corners =
            image_corners(intrinsics).map(|corner| intrinsics.deproject(corner, FRUSTUM_DEPTH_M));
        for (index, &corner) in corners.iter().enumerate() {
            self.line(origin, corner, FRUSTUM_RGB);
            self.line(corner, corners[(index + 1) % corners.len()], FRUSTUM_RGB);
        }
    }

    /// A detection's marker: a cross at its point and, when the detector measured them, the
    /// box of its 3D extent. Nothing for a detection without a 3D position.
    pub fn add_marker(&mut self, detection: &Detection, rgb: [f32; 3]) {
        let Some(position) = &detection.position else {
            return;
        };
        let [x, y, z] = position.point_m;
        self.line([x - MARKER_ARM_M, y, z], [x + MARKER_ARM_M, y, z], rgb);
        self.line([x, y - MARKER_ARM_M, z], [x, y + MARKER_ARM_M, z], rgb);
        self.line([x, y, z - MARKER_ARM_M], [x, y, z + MARKER_ARM_M], rgb);
        if let Some(extent) = position.extent_m {
            for [from, to] in box_edges(extent) {
                self.line(from, to, rgb);
            }
        }
    }
}

/// The outer corners of the image, in the continuous pixel coordinates of
/// [`Intrinsics::deproject`], clockwise from the top left.
pub fn image_corners(intrinsics: &Intrinsics) -> [[f32; 2]; 4] {
    // Pixel c covers c + offset - 0.5 .. c + offset + 0.5.
    let left = PIXEL_CENTRE_OFFSET_PX - 0.5;
    let top = PIXEL_CENTRE_OFFSET_PX - 0.5;
    let right = intrinsics.width as f32 + left;
    let bottom = intrinsics.height as f32 + top;
    [[left, top], [right, top], [right, bottom], [left, bottom]]
}

/// The eight corners of an axis-aligned box `[min, max]`.
pub fn box_corners([min, max]: [Vec3; 2]) -> [Vec3; 8] {
    std::array::from_fn(|i| {
        [
            if i & 1 == 0 { min[0] } else { max[0] },
            if i & 2 == 0 { min[1] } else { max[1] },
            if i & 4 == 0 { min[2] } else { max[2] },
        ]
    })
}

/// The twelve edges of an axis-aligned box.
fn box_edges(extent: [Vec3; 2]) -> [[Vec3; 2]; 12] {
    let corners = box_corners(extent);
    let mut edges = [[[0.0; 3]; 2]; 12];
    let mut count = 0;
    for a in 0..8 {
        for bit in [1, 2, 4] {
            if a & bit == 0 {
                edges[count] = [corners[a], corners[a | bit]];
                count += 1;
            }
        }
    }
    edges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_is_level_below_the_camera_in_whole_metres() {
        let mut lines = Lines::default();
        lines.add_grid();
        assert_eq!(lines.vertices.len() % 2, 0);
        assert!(lines
            .vertices
            .iter()
            .all(|v| v.position_m[1] == GRID_BELOW_CAMERA_M));
        assert!(lines
            .vertices
            .iter()
            .all(|v| v.position_m[0].fract() == 0.0 && v.position_m[2].fract() == 0.0));
        // 11 lines along z, 11 across.
        assert_eq!(lines.vertices.len(), 2 * (11 + 11));
    }

    #[test]
    fn the_frustum_runs_through_the_image_corners() {
        let intrinsics = Intrinsics::pinhole_from_fov(640, 480, 90.0);
        let mut lines = Lines::default();
        lines.add_camera(&intrinsics);
        // Three axes, then per corner a ray and an edge.
        assert_eq!(lines.vertices.len(), 2 * (3 + 8));
        // With a 90° horizontal field of view the left and right edges lie at x = -+z.
        let top_left = lines.vertices[7].position_m;
        assert!((top_left[0] + FRUSTUM_DEPTH_M).abs() < 1e-5, "{top_left:?}");
        assert_eq!(top_left[2], FRUSTUM_DEPTH_M);
        for corner in image_corners(&intrinsics) {
            let point = intrinsics.deproject(corner, 1.0);
            let back = intrinsics.project(point);
            assert!((back[0] - corner[0]).abs() < 1e-3 && (back[1] - corner[1]).abs() < 1e-3);
        }
    }

    #[test]
    fn markers_cross_the_point_and_outline_the_extent() {
        let mut detection = Detection {
            class_id: 0,
            label: "object".to_owned(),
            score: 0.9,
            box_px: [0.0; 4],
            position: None,
            position_missing: Some("no depth".to_owned()),
        };
        let mut lines = Lines::default();
        lines.add_marker(&detection, [1.0, 0.0, 1.0]);
        assert!(lines.vertices.is_empty(), "no position, no marker");
        detection.position = Some(shmproto::ObjectPosition {
            depth_m: 2.0,
            point_m: [0.1, 0.2, 2.0],
            distance_m: 2.01,
            extent_m: Some([[0.0, 0.0, 1.9], [0.2, 0.4, 2.2]]),
        });
        lines.add_marker(&detection, [1.0, 0.0, 1.0]);
        assert_eq!(lines.vertices.len(), 2 * (3 + 12));
        // Every box edge runs along one axis, between two corners of the extent.
        for edge in lines.vertices[6..].chunks(2) {
            let (a, b) = (edge[0].position_m, edge[1].position_m);
            let differing = (0..3).filter(|&axis| a[axis] != b[axis]).count();
            assert_eq!(differing, 1, "{a:?} {b:?}");
        }
    }
}
