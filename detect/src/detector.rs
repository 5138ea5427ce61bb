//! The one interface every detector implements.

use crate::frame::FrameView;
use shmproto::{Detection, DetectorInfo};

/// Thresholds a caller may change between runs without reloading the detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectSettings {
    /// Detections scoring below this are dropped (0..=1).
    pub score_threshold: f32,
    /// Class-wise non-maximum suppression: of two boxes of one class overlapping more than
    /// this (intersection over union), the lower-scoring one is dropped.
    pub iou_threshold: f32,
    /// At most this many detections per frame, best first.
    pub max_detections: usize,
}

impl Default for DetectSettings {
    /// Ultralytics' defaults for prediction: 0.25 confidence, 0.7 IoU, 300 detections.
    fn default() -> Self {
        DetectSettings {
            score_threshold: 0.25,
            iou_threshold: 0.7,
            max_detections: 300,
        }
    }
}

impl DetectSettings {
    /// A score threshold as people give it (`--detect-threshold`, `ctl detect threshold`):
    /// a number in 0..=1.
    pub fn check_score_threshold(value: f32) -> Result<f32, String> {
        if (0.0..=1.0).contains(&value) {
            Ok(value)
        } else {
            Err(format!("score threshold {value} is outside 0..=1"))
        }
    }
}

/// Why detection failed.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// The ONNX Runtime library could not be found or loaded.
    #[error("{0}")]
    Runtime(String),
    /// The model file could not be read or is not a model.
    #[error("cannot load model {path}: {problem}")]
    Model { path: String, problem: String },
    /// The model loaded but its inputs and outputs are not a layout this crate understands.
    #[error("unsupported model {path}: {problem}")]
    UnsupportedLayout { path: String, problem: String },
    /// A labels file could not be read or parsed.
    #[error("cannot read labels {path}: {problem}")]
    Labels { path: String, problem: String },
    /// Running the model failed, or it produced outputs of the wrong shape.
    #[error("inference failed: {0}")]
    Inference(String),
    /// The frame lacks what this detector needs (depth, intrinsics).
    #[error("{0}")]
    Frame(String),
}

/// Finds objects in frames. Implementations keep whatever they reuse between frames (model
/// sessions, buffers), hence `&mut self`; they are `Send` so a worker thread can own one.
pub trait Detector: Send {
    /// What this detector is (format and model file name), for results and status lines.
    fn info(&self) -> DetectorInfo;

    /// Detects objects in `frame`. Boxes are in `frame`'s pixels; positions are filled in
    /// where the frame has depth and intrinsics (see [`crate::position`]).
    fn detect(
        &mut self,
        frame: &FrameView<'_>,
        settings: &DetectSettings,
    ) -> Result<Vec<Detection>, DetectError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_thresholds_are_numbers_in_the_unit_interval() {
        assert_eq!(DetectSettings::check_score_threshold(0.0), Ok(0.0));
        assert_eq!(DetectSettings::check_score_threshold(1.0), Ok(1.0));
        for bad in [-0.1, 1.5, f32::NAN] {
            let error = DetectSettings::check_score_threshold(bad).unwrap_err();
            assert!(error.contains("outside 0..=1"), "{error}");
        }
    }
}
