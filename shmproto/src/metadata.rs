//! Per-frame metadata, carried as JSON inside the protocol (see `docs/protocol.md`).
//!
//! Everything a client needs to turn a pixel and its depth into a 3D point travels with the
//! frame: intrinsics, distortion, depth scale and whether depth is aligned to colour.

use serde::{Deserialize, Serialize};

/// What kind of device produced the frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// An Intel RealSense camera or a RealSense recording played back by librealsense.
    Realsense,
    /// A USB/built-in webcam (colour only).
    Webcam,
    /// The daemon's synthetic 3D scene.
    Synthetic,
    /// Anything else (test writers, tools), including kinds added by newer writers.
    #[serde(other)]
    Other,
}

impl SourceKind {
    /// The sources a daemon can be asked to open (`--source`), in the order people see them.
    pub const SELECTABLE: [SourceKind; 3] = [
        SourceKind::Realsense,
        SourceKind::Webcam,
        SourceKind::Synthetic,
    ];

    /// What the source is, for `--help` texts and menus.
    pub fn describe(self) -> &'static str {
        match self {
            SourceKind::Realsense => "an Intel RealSense camera (or a recording)",
            SourceKind::Webcam => "a USB webcam (colour only)",
            SourceKind::Synthetic => "a moving 3D scene rendered with depth; no hardware",
            SourceKind::Other => "another writer",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Realsense => "realsense",
            SourceKind::Webcam => "webcam",
            SourceKind::Synthetic => "synthetic",
            SourceKind::Other => "other",
        }
    }
}

/// Parses the name of a selectable source (`realsense`, `webcam`, `synthetic`); the one
/// spelling the daemon's `--source`, the app's `--daemon-source` and the metadata share.
impl std::str::FromStr for SourceKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        SourceKind::SELECTABLE
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = SourceKind::SELECTABLE
                    .iter()
                    .map(|kind| kind.as_str())
                    .collect();
                format!("unknown source {text:?}: use {}", names.join(", "))
            })
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lens distortion model, named as librealsense names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DistortionModel {
    /// Rectilinear images, no distortion.
    #[default]
    None,
    /// Brown-Conrady, coefficients [k1, k2, p1, p2, k3] mapping undistorted to distorted.
    BrownConrady,
    /// Brown-Conrady with the radial part applied as librealsense's "modified" variant.
    ModifiedBrownConrady,
    /// Brown-Conrady coefficients that map distorted to undistorted (RealSense depth streams).
    InverseBrownConrady,
    /// Any model this crate does not interpret (including ones added by newer writers);
    /// deprojection then ignores distortion.
    #[serde(other)]
    Other,
}

/// Pinhole intrinsics of the plane the depth is aligned to (the colour camera for aligned
/// RealSense frames), in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Intrinsics {
    pub width: u32,
    pub height: u32,
    /// Focal lengths in pixels.
    pub fx: f32,
    pub fy: f32,
    /// Principal point in pixels, from the left and the top edge.
    pub ppx: f32,
    pub ppy: f32,
    pub model: DistortionModel,
    /// [k1, k2, p1, p2, k3].
    pub coeffs: [f32; 5],
}

impl Intrinsics {
    /// Ideal pinhole intrinsics for a horizontal field of view, principal point at the centre
    /// of the image (`(width - 1) / 2` in pixel coordinates, see [`Intrinsics::deproject`]).
    pub fn pinhole_from_fov(width: u32, height: u32, horizontal_fov_deg: f32) -> Self {
        let fx = (width as f32 / 2.0) / (horizontal_fov_deg.to_radians() / 2.0).tan();
        Intrinsics {
            width,
            height,
            fx,
            fy: fx,
            ppx: (width as f32 - 1.0) / 2.0,
            ppy: (height as f32 - 1.0) / 2.0,
            model: DistortionModel::None,
            coeffs: [0.0; 5],
        }
    }

    /// The 3D point in the camera frame (metres; x right, y down, z forward) seen at
    /// `pixel_in_image` with the given depth. Pixel coordinates follow librealsense: `[0, 0]`
    /// is the centre of the top-left pixel, `[w - 1, h - 1]` the centre of the bottom-right
    /// one, so pixel (column, row) is deprojected at `[column, row]`.
    ///
    /// Follows librealsense's `rs2_deproject_pixel_to_point` for the models it names.
    pub fn deproject(&self, pixel_in_image: [f32; 2], depth_m: f32) -> [f32; 3] {
        let mut x = (pixel_in_image[0] - self.ppx) / self.fx;
        let mut y = (pixel_in_image[1] - self.ppy) / self.fy;
        let [k1, k2, p1, p2, k3] = self.coeffs;
        match self.model {
            DistortionModel::InverseBrownConrady => {
                let r2 = x * x + y * y;
                let f = 1.0 + k1 * r2 + k2 * r2 * r2 + k3 * r2 * r2 * r2;
                let ux = x * f + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x);
                let uy = y * f + 2.0 * p2 * x * y + p1 * (r2 + 2.0 * y * y);
                x = ux;
                y = uy;
            }
            DistortionModel::BrownConrady => {
                // Undo the forward model by fixed-point iteration, as librealsense does.
                let (xo, yo) = (x, y);
                for _ in 0..10 {
                    let r2 = x * x + y * y;
                    let icdist = 1.0 / (1.0 + ((k3 * r2 + k2) * r2 + k1) * r2);
                    let delta_x = 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x);
                    let delta_y = 2.0 * p2 * x * y + p1 * (r2 + 2.0 * y * y);
                    x = (xo - delta_x) * icdist;
                    y = (yo - delta_y) * icdist;
                }
            }
            DistortionModel::None
            | DistortionModel::ModifiedBrownConrady
            | DistortionModel::Other => {}
        }
        [depth_m * x, depth_m * y, depth_m]
    }

    /// The pixel at which a 3D point in the camera frame is seen (no distortion applied).
    pub fn project(&self, point_in_camera: [f32; 3]) -> [f32; 2] {
        let [x, y, z] = point_in_camera;
        [x / z * self.fx + self.ppx, y / z * self.fy + self.ppy]
    }
}

/// Everything a reader learns about one frame besides its pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameMetadata {
    /// The source's own frame counter (monotonic per writer session).
    pub frame_number: u64,
    /// Wall-clock capture time, nanoseconds since the Unix epoch.
    pub capture_wall_ns: u64,
    /// Capture time on the system-wide monotonic clock (`CLOCK_MONOTONIC`), nanoseconds;
    /// compare with [`crate::monotonic_now_ns`] in another process for latency.
    pub capture_mono_ns: u64,
    /// Frames per second the writer measured over the last second.
    pub fps: f32,
    pub source_kind: SourceKind,
    /// Human-readable device description ("Intel RealSense D435 #123", "recording foo.bag").
    pub source_description: String,
    /// Intrinsics of the colour plane, which depth is aligned to when `depth_aligned_to_color`.
    pub intrinsics: Option<Intrinsics>,
    /// Metres per depth unit (0.001 for RealSense Z16 in millimetres). `None` without depth.
    pub depth_scale_m: Option<f32>,
    /// True when depth pixel (u, v) measures the same ray as colour pixel (u, v).
    pub depth_aligned_to_color: bool,
    /// Where the scene's objects really are, when the source knows (the synthetic scene);
    /// empty otherwise. Lets any reader score detections against the truth.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ground_truth: Vec<GroundTruthObject>,
}

/// One object of a scene whose geometry the source knows exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruthObject {
    /// What it is ("red sphere", "orange cube").
    pub name: String,
    /// Its volumetric centre in the camera frame (x right, y down, z forward), metres.
    pub center_m: [f32; 3],
    /// Its axis-aligned size in the camera frame (width, height, depth), metres.
    pub size_m: [f32; 3],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deproject_then_project_round_trips_without_distortion() {
        let intrinsics = Intrinsics::pinhole_from_fov(640, 480, 69.0);
        let point = intrinsics.deproject([100.0, 300.0], 2.0);
        let pixel = intrinsics.project(point);
        assert!((pixel[0] - 100.0).abs() < 1e-3 && (pixel[1] - 300.0).abs() < 1e-3);
        assert!((point[2] - 2.0).abs() < 1e-6);
    }

    #[test]
    fn principal_point_lies_on_the_optical_axis() {
        let intrinsics = Intrinsics::pinhole_from_fov(640, 480, 69.0);
        // The optical axis passes between the four middle pixels of an even-sized image.
        assert_eq!(intrinsics.deproject([319.5, 239.5], 1.5), [0.0, 0.0, 1.5]);
    }

    #[test]
    fn unknown_kinds_and_models_read_as_other() {
        let kind: SourceKind = serde_json::from_str("\"lidar\"").unwrap();
        assert_eq!(kind, SourceKind::Other);
        let model: DistortionModel = serde_json::from_str("\"kannala_brandt4\"").unwrap();
        assert_eq!(model, DistortionModel::Other);
    }

    #[test]
    fn metadata_json_round_trips() {
        let metadata = FrameMetadata {
            frame_number: 7,
            capture_wall_ns: 1,
            capture_mono_ns: 2,
            fps: 30.0,
            source_kind: SourceKind::Synthetic,
            source_description: "scene".into(),
            intrinsics: Some(Intrinsics::pinhole_from_fov(640, 480, 69.0)),
            depth_scale_m: Some(0.001),
            depth_aligned_to_color: true,
            ground_truth: Vec::new(),
        };
        let json = serde_json::to_vec(&metadata).unwrap();
        assert_eq!(
            serde_json::from_slice::<FrameMetadata>(&json).unwrap(),
            metadata
        );
    }
}
