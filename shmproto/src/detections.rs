//! What a detector found in one frame, as it travels in the `aaa_detections` segment (see
//! `docs/protocol.md`, "Detections"). The `detect` crate produces these values; readers (the
//! app, `watch --detections`, Python) parse them from the segment's JSON.

use serde::{Deserialize, Serialize};

/// One object found in a frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// The model's class index (the depth-only detector: 0).
    pub class_id: u32,
    /// The class name ("person", "object"), or `class <id>` when the model names none.
    pub label: String,
    /// Confidence, 0..=1.
    pub score: f32,
    /// Box in original-image pixels, `[x1, y1, x2, y2]`, continuous coordinates: `0` is the
    /// left (top) edge of the image and `width` (`height`) the right (bottom) edge, so pixel
    /// column `c` spans `c..c + 1`.
    pub box_px: [f32; 4],
    /// Where the object is in 3D, when the frame has depth there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<ObjectPosition>,
    /// Why `position` is absent ("the frame has no depth", "no valid depth in the box's
    /// central region"); never a
    /// position of 0 m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position_missing: Option<String>,
}

/// An object's place in the camera frame (x right, y down, z forward; metres).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ObjectPosition {
    /// The robust depth of the object: the median of the valid depth in the box's central
    /// region (the depth-only detector: of the object's pixels).
    pub depth_m: f32,
    /// A point on the object's visible surface, not its volumetric centre (a camera sees only
    /// the front of an object): model detectors deproject the box centre at `depth_m`, the
    /// depth-only detector takes the centroid of the object's measured points.
    pub point_m: [f32; 3],
    /// Distance from the camera to `point_m`.
    pub distance_m: f32,
    /// Axis-aligned 3D bounds `[min, max]` of the object's points, when the detector measured
    /// them (the depth-only detector does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extent_m: Option<[[f32; 3]; 2]>,
}

/// Which detector produced a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectorInfo {
    /// The layout the detector understood: `yolo`, `yolo_end_to_end`, `rf_detr` or `depth`.
    pub format: String,
    /// The model's file name (no directories), `None` for the depth-only detector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl std::fmt::Display for DetectorInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.model {
            Some(model) => write!(f, "{model} ({})", self.format),
            None => write!(f, "{}", self.format),
        }
    }
}

/// Everything one detector run over one frame produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionResult {
    /// The source frame's `frame_number` (its metadata's), so readers can match the result
    /// with the frame it was computed from.
    pub frame_number: u64,
    /// When the source frame was published (`CLOCK_MONOTONIC`, ns).
    pub frame_publish_mono_ns: u64,
    pub detector: DetectorInfo,
    /// Score threshold the detections passed.
    pub score_threshold: f32,
    /// Time spent in the detector (preprocessing, inference, decoding), milliseconds.
    pub inference_ms: f32,
    pub detections: Vec<Detection>,
}

/// What live detection in the daemon is doing: part of the daemon's metrics (and so of its
/// writer status) and the answer to the `detect` command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionStatus {
    pub state: DetectionState,
    /// The detector as chosen (`depth` or a model path).
    pub detector: String,
    /// What the detector understood the model to be, once it is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detector_info: Option<DetectorInfo>,
    pub score_threshold: f32,
    /// Results published since the daemon started.
    pub results_published: u64,
    /// Results that could not be published (too large for a slot, a number JSON cannot
    /// carry); the first such error is logged.
    #[serde(default)]
    pub results_unpublished: u64,
    /// Frames whose results were published, per second, over the last window.
    pub results_per_s: f64,
    /// Mean time in the detector over the last window, milliseconds.
    pub inference_ms: f64,
    /// Why detection stopped, when `state` is `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The life of live detection in the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectionState {
    /// Turned off (by `detect off`); the segment stays, with no new results.
    Off,
    /// Loading the detector.
    Starting,
    /// Detecting the newest frames.
    Running,
    /// The detector could not be loaded or failed; frames keep flowing (see `error`).
    Failed,
}

impl DetectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            DetectionState::Off => "off",
            DetectionState::Starting => "starting",
            DetectionState::Running => "running",
            DetectionState::Failed => "failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_round_trips_and_omits_what_is_absent() {
        let result = DetectionResult {
            frame_number: 12,
            frame_publish_mono_ns: 34,
            detector: DetectorInfo {
                format: "depth".into(),
                model: None,
            },
            score_threshold: 0.25,
            inference_ms: 3.5,
            detections: vec![Detection {
                class_id: 0,
                label: "object".into(),
                score: 0.9,
                box_px: [1.0, 2.0, 3.0, 4.0],
                position: None,
                position_missing: Some("no valid depth in the box".into()),
            }],
        };
        let json = serde_json::to_string(&result).unwrap();
        assert!(!json.contains("\"position\""), "{json}");
        assert!(!json.contains("\"model\""), "{json}");
        assert_eq!(
            serde_json::from_str::<DetectionResult>(&json).unwrap(),
            result
        );
    }
}
