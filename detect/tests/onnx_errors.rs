//! What goes wrong opening a model comes back typed and says what to do: not a model, a
//! truncated model, a layout no detector reads, no ONNX Runtime, a bad labels file.

mod onnx_support;

use std::path::PathBuf;

use detect::onnx::{OnnxDetector, SETUP_SCRIPT};
use detect::{open_detector, DetectError, DetectorChoice, OpenOptions};
use onnx_support::{options, Models};

/// Opens through `open_detector`, as the binaries do, keeping only the error.
fn open_error(model: PathBuf, options: &OpenOptions) -> DetectError {
    match open_detector(&DetectorChoice::Model(model), options) {
        Ok(detector) => panic!("opened as {}", detector.info()),
        Err(error) => error,
    }
}

#[test]
fn garbage_truncated_and_missing_files_are_model_errors() {
    let models = Models::make();
    let garbage = models.path("garbage.onnx");
    std::fs::write(&garbage, b"this is not a protobuf, let alone a model\n").unwrap();
    let truncated = models.path("truncated.onnx");
    let whole = std::fs::read(models.path("yolo.onnx")).unwrap();
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    for model in [garbage, truncated, models.path("absent.onnx")] {
        let error = open_error(model.clone(), &options());
        match &error {
            DetectError::Model { path, problem } => {
                assert_eq!(path, &model.display().to_string());
                assert!(!problem.is_empty());
            }
            other => panic!("{}: {other:?}", model.display()),
        }
    }
}

#[test]
fn an_unknown_layout_names_what_it_found_and_what_is_supported() {
    let models = Models::make();
    let error = open_error(models.path("classifier.onnx"), &options());
    let DetectError::UnsupportedLayout { problem, .. } = &error else {
        panic!("{error:?}");
    };
    for expected in [
        "pixels [1, 3, 64, 64] f32",
        "logits [1, 3] f32",
        "YOLO",
        "RF-DETR",
    ] {
        assert!(problem.contains(expected), "{expected:?} not in: {problem}");
    }
}

#[test]
fn a_missing_library_is_a_runtime_error_naming_the_setup_script() {
    let models = Models::make();
    let options = OpenOptions {
        onnxruntime: Some(PathBuf::from("/nonexistent/libonnxruntime.so")),
        labels: None,
        threads: None,
    };
    let error = match OnnxDetector::open(&models.path("yolo.onnx"), &options) {
        Ok(_) => panic!("opened without a library"),
        Err(error) => error,
    };
    let DetectError::Runtime(message) = &error else {
        panic!("{error:?}");
    };
    assert!(message.contains(SETUP_SCRIPT), "{message}");
    assert!(
        message.contains("/nonexistent/libonnxruntime.so"),
        "{message}"
    );
}

#[test]
fn a_labels_file_must_exist_and_name_no_more_classes_than_the_model_has() {
    let models = Models::make();
    let missing = OpenOptions {
        labels: Some(models.path("absent.txt")),
        ..options()
    };
    let error = open_error(models.path("yolo.onnx"), &missing);
    assert!(matches!(error, DetectError::Labels { .. }), "{error:?}");
    let too_many = models.path("too_many.txt");
    std::fs::write(&too_many, "x\n".repeat(81)).unwrap();
    let options = OpenOptions {
        labels: Some(too_many),
        ..options()
    };
    let error = open_error(models.path("yolo.onnx"), &options);
    let DetectError::Labels { problem, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(
        problem.contains("81") && problem.contains("80"),
        "{problem}"
    );
}
