//! ONNX detection models (Ultralytics YOLOv8/YOLO11, end-to-end YOLO, RF-DETR) run by ONNX
//! Runtime, which is loaded at run time from a library the user installs
//! (`scripts/setup-onnxruntime.sh`; see [`find_library`] for where it is looked for).
//!
//! One file per step: [`model`] recognises the format from the graph, [`preprocess`] and
//! [`geometry`] turn a frame into the input tensor and boxes back into frame pixels,
//! [`decode`] and [`nms`] turn outputs into detections, [`metadata`] and [`labels`] name the
//! classes; [`OnnxDetector`] ties them together.

mod cache;
mod coco;
pub mod decode;
mod detector;
pub mod geometry;
pub mod labels;
pub mod metadata;
pub mod model;
pub mod nms;
pub mod preprocess;
mod runtime;

pub use cache::{
    cache_dir_from, cached_library_path, library_cache_dir, library_file_name, test_python_dir,
    CACHE_ENV,
};
pub use coco::COCO_CATEGORY_NAMES;
pub use detector::OnnxDetector;
pub use labels::ClassNames;
pub use model::ModelFormat;
pub use runtime::{
    find_library, load_runtime, loaded_library, LIBRARY_ENV, MINIMUM_VERSION, SETUP_SCRIPT,
};
