//! Which detector to run, as people name it (`--detect depth`, `--model yolo11n.onnx`), and
//! opening it.

use std::path::{Path, PathBuf};

use crate::detector::{DetectError, Detector};

/// A detector as named on a command line or in a settings file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetectorChoice {
    /// The depth-only detector: no model, objects standing out of the dominant plane.
    Depth,
    /// An ONNX model file (YOLOv8/YOLO11, end-to-end YOLO, RF-DETR).
    Model(PathBuf),
}

impl DetectorChoice {
    /// The word that selects the depth-only detector.
    pub const DEPTH: &'static str = "depth";
}

/// `depth`, or the path of an ONNX model.
impl std::str::FromStr for DetectorChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "" => Err(format!(
                "no detector given: use {} or the path of an ONNX model",
                DetectorChoice::DEPTH
            )),
            DetectorChoice::DEPTH => Ok(DetectorChoice::Depth),
            path => Ok(DetectorChoice::Model(PathBuf::from(path))),
        }
    }
}

impl std::fmt::Display for DetectorChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DetectorChoice::Depth => f.write_str(DetectorChoice::DEPTH),
            DetectorChoice::Model(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Where to find what a model detector needs besides the model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// The ONNX Runtime library (`--onnxruntime`); `None`: the environment variable, then the
    /// cache the setup script fills.
    pub onnxruntime: Option<PathBuf>,
    /// Class names, one per line (`--labels`), overriding the model's own.
    pub labels: Option<PathBuf>,
    /// Threads a model may use for one inference, without spinning while idle; `None`: ONNX
    /// Runtime's default (one per core, spinning between runs). A process that must keep a
    /// core for other work (the daemon's capture and publishing) sets it.
    pub threads: Option<usize>,
}

/// Opens the chosen detector. Model errors (unreadable file, unsupported layout, no ONNX
/// Runtime) come back typed; the depth-only detector needs nothing and always opens.
pub fn open_detector(
    choice: &DetectorChoice,
    options: &OpenOptions,
) -> Result<Box<dyn Detector>, DetectError> {
    match choice {
        DetectorChoice::Depth => open_depth_only(),
        DetectorChoice::Model(path) => open_model(path, options),
    }
}

/// The depth-only detector with its default parameters (which are valid, so this never fails).
fn open_depth_only() -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(crate::depth_only::DepthOnlyDetector::default()))
}

/// Opens an ONNX model from its bytes, read by the caller (see
/// [`crate::onnx::OnnxDetector::open_bytes`]); `path` names it.
pub fn open_model_bytes(
    bytes: &[u8],
    path: &Path,
    options: &OpenOptions,
) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(crate::onnx::OnnxDetector::open_bytes(
        bytes, path, options,
    )?))
}

fn open_model(path: &Path, options: &OpenOptions) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(crate::onnx::OnnxDetector::open(path, options)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_a_word_and_anything_else_a_path() {
        assert_eq!("depth".parse(), Ok(DetectorChoice::Depth));
        assert_eq!(
            "models/yolo11n.onnx".parse(),
            Ok(DetectorChoice::Model("models/yolo11n.onnx".into()))
        );
        assert!("".parse::<DetectorChoice>().is_err());
        assert_eq!(DetectorChoice::Depth.to_string(), "depth");
    }
}
