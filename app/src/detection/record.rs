//! What Save writes about the frozen frame's detections (`<frame>_detections.json`): the
//! detector's result plus what is needed to reproduce and judge it (model path, thresholds,
//! timings).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use shmproto::DetectionResult;

/// The contents of a detections file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionsRecord {
    /// The detector as named on the command line: `depth` or the model's path.
    pub detector: String,
    /// The model file, `None` for the depth-only detector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_path: Option<PathBuf>,
    pub score_threshold: f32,
    pub iou_threshold: f32,
    pub max_detections: usize,
    pub timings: DetectionTimings,
    /// As the detector produced it (its `frame_number` is the saved frame's).
    pub result: DetectionResult,
}

/// How long the detection took, milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DetectionTimings {
    /// In the detector (preprocessing, inference, decoding): `result.inference_ms`.
    pub inference_ms: f32,
    /// The worker's whole time on the frame (preparing its planes, then the detector).
    pub worker_ms: f32,
    /// Waiting for the worker to finish an earlier frame.
    pub queued_ms: f32,
    /// From the request (Freeze, or a change of thresholds) to the result in the GUI.
    pub request_to_result_ms: f32,
    /// From the request to the boxes drawn on screen, once they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_to_boxes_ms: Option<f32>,
}

#[cfg(test)]
mod tests {
    use shmproto::{Detection, DetectorInfo};

    use super::*;

    #[test]
    fn a_record_round_trips_through_json() {
        let record = DetectionsRecord {
            detector: "models/yolo11n.onnx".to_owned(),
            model_path: Some("models/yolo11n.onnx".into()),
            score_threshold: 0.4,
            iou_threshold: 0.6,
            max_detections: 300,
            timings: DetectionTimings {
                inference_ms: 20.0,
                worker_ms: 21.0,
                queued_ms: 0.5,
                request_to_result_ms: 23.0,
                request_to_boxes_ms: Some(30.0),
            },
            result: DetectionResult {
                frame_number: 5,
                frame_publish_mono_ns: 1,
                detector: DetectorInfo {
                    format: "yolo".to_owned(),
                    model: Some("yolo11n.onnx".to_owned()),
                },
                score_threshold: 0.4,
                inference_ms: 20.0,
                detections: vec![Detection {
                    class_id: 0,
                    label: "person".to_owned(),
                    score: 0.9,
                    box_px: [1.0, 2.0, 3.0, 4.0],
                    position: None,
                    position_missing: Some("the frame has no depth".to_owned()),
                }],
            },
        };
        let json = serde_json::to_string_pretty(&record).unwrap();
        assert!(json.contains("\"iou_threshold\": 0.6"), "{json}");
        assert_eq!(
            serde_json::from_str::<DetectionsRecord>(&json).unwrap(),
            record
        );
    }
}
