//! Models of each supported layout, written by make_models.py and run by the real ONNX
//! Runtime: coloured patches in a frame come back as boxes at their places with their labels.
//! The models score each 32x32 input cell by its colour, so a detector that swaps channels,
//! forgets /255 or the ImageNet normalisation, or misplaces the letterbox fails here.

mod onnx_support;

use detect::onnx::{ModelFormat, OnnxDetector};
use detect::{
    open_detector, DepthView, DetectSettings, Detector, DetectorChoice, FrameView, Intrinsics,
    OpenOptions,
};
use onnx_support::{assert_found, frame_with_patches, options, Models, BLUE, GREEN, RED};

// Ultralytics' names in the models' metadata, with their quotes and backslash.
const RED_NAME: &str = "rock 'n' roll";
const GREEN_NAME: &str = "say \"hi\"";
const BLUE_NAME: &str = "back\\slash";

/// The test RF-DETR's score for a cell of pure colour: sigmoid(2), unsaturated, so that a
/// missing normalisation changes it (the YOLO models score such a cell 1).
const RF_DETR_FULL_CELL: f32 = 0.880_797;

/// A 640x480 frame letterboxes into 640x640 with 80 rows above: frame rows 16 + 32k start
/// input cells. Red covers one cell, green two side by side, blue the bottom-right corner cell.
fn vga_patches() -> Vec<([u32; 4], [u8; 3])> {
    vec![
        ([64, 48, 96, 80], RED),
        ([320, 400, 384, 432], GREEN),
        ([608, 432, 640, 464], BLUE),
    ]
}

fn vga_expected() -> Vec<(&'static str, [f32; 4])> {
    vec![
        (RED_NAME, [64.0, 48.0, 96.0, 80.0]),
        (GREEN_NAME, [320.0, 400.0, 352.0, 432.0]),
        (GREEN_NAME, [352.0, 400.0, 384.0, 432.0]),
        (BLUE_NAME, [608.0, 432.0, 640.0, 464.0]),
    ]
}

#[test]
fn yolo_boxes_land_on_the_patches_with_the_metadata_names_and_depth() {
    let models = Models::make();
    let mut detector = OnnxDetector::open(&models.path("yolo.onnx"), &options()).unwrap();
    assert_eq!(detector.format(), ModelFormat::Yolo);
    assert_eq!(detector.input_size(), [640, 640]);
    assert_eq!(detector.layout().classes, Some(80));
    assert!(detector.notes().is_empty(), "{:?}", detector.notes());
    let info = detector.info();
    assert_eq!(info.format, "yolo");
    assert_eq!(info.model.as_deref(), Some("yolo.onnx"));

    let rgb = frame_with_patches(640, 480, &vga_patches());
    // Depth 1.5 m everywhere: every detection gets a position.
    let depth: Vec<u8> = std::iter::repeat_n(1500u16.to_le_bytes(), 640 * 480)
        .flatten()
        .collect();
    let frame = FrameView::new(
        640,
        480,
        &rgb,
        Some(DepthView {
            z16_le: &depth,
            depth_scale_m: 0.001,
        }),
        Some(Intrinsics::pinhole_from_fov(640, 480, 60.0)),
    )
    .unwrap();
    let detections = detector.detect(&frame, &DetectSettings::default()).unwrap();
    assert_found(&detections, &vga_expected(), 1.0, 1.0);
    for detection in &detections {
        let position = detection.position.expect("a position from the depth");
        assert!((position.depth_m - 1.5).abs() < 1e-3, "{detection:?}");
    }
    let class_ids: Vec<u32> = detections.iter().map(|d| d.class_id).collect();
    assert!(class_ids.iter().all(|&id| id <= 2), "{class_ids:?}");

    // The same detector again (buffers reused), without depth: a reason instead of a position.
    let frame = FrameView::new(640, 480, &rgb, None, None).unwrap();
    let again = detector.detect(&frame, &DetectSettings::default()).unwrap();
    assert_found(&again, &vga_expected(), 1.0, 1.0);
    assert!(again
        .iter()
        .all(|d| d.position.is_none() && d.position_missing.is_some()));
}

#[test]
fn yolo_maps_boxes_back_through_a_scaled_letterbox() {
    let models = Models::make();
    let mut detector = OnnxDetector::open(&models.path("yolo.onnx"), &options()).unwrap();
    // 960x720 scales by 2/3 into 640x480, then the same 80 rows of padding: the VGA patches
    // times 1.5.
    let scaled = |[x1, y1, x2, y2]: [u32; 4]| [x1, y1, x2, y2].map(|v| v * 3 / 2);
    let patches: Vec<_> = vga_patches()
        .into_iter()
        .map(|(rect, colour)| (scaled(rect), colour))
        .collect();
    let rgb = frame_with_patches(960, 720, &patches);
    let frame = FrameView::new(960, 720, &rgb, None, None).unwrap();
    let detections = detector.detect(&frame, &DetectSettings::default()).unwrap();
    let expected: Vec<_> = vga_expected()
        .into_iter()
        .map(|(label, rect)| (label, rect.map(|v| v * 1.5)))
        .collect();
    assert_found(&detections, &expected, 1.5, 1.0);

    // A frame of another size after that one: the resampling tables follow.
    let rgb = frame_with_patches(640, 480, &vga_patches());
    let frame = FrameView::new(640, 480, &rgb, None, None).unwrap();
    let detections = detector.detect(&frame, &DetectSettings::default()).unwrap();
    assert_found(&detections, &vga_expected(), 1.0, 1.0);
}

#[test]
fn settings_threshold_and_cap_the_detections() {
    let models = Models::make();
    let mut detector = OnnxDetector::open(&models.path("yolo.onnx"), &options()).unwrap();
    // Half the red patch in one cell: that cell scores 0.5.
    let rgb = frame_with_patches(
        640,
        480,
        &[([64, 48, 80, 80], RED), ([320, 400, 384, 432], GREEN)],
    );
    let frame = FrameView::new(640, 480, &rgb, None, None).unwrap();
    let all = detector.detect(&frame, &DetectSettings::default()).unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
    let red = all.iter().find(|d| d.label == RED_NAME).unwrap();
    assert!((red.score - 0.5).abs() < 0.01, "{red:?}");
    let strict = DetectSettings {
        score_threshold: 0.6,
        ..DetectSettings::default()
    };
    let detections = detector.detect(&frame, &strict).unwrap();
    assert_eq!(detections.len(), 2);
    assert!(detections.iter().all(|d| d.label == GREEN_NAME));
    let capped = DetectSettings {
        max_detections: 1,
        ..DetectSettings::default()
    };
    assert_eq!(detector.detect(&frame, &capped).unwrap().len(), 1);
}

#[test]
fn end_to_end_yolo_is_thresholded_and_mapped_back() {
    let models = Models::make();
    let mut detector =
        OnnxDetector::open(&models.path("yolo_end_to_end.onnx"), &options()).unwrap();
    assert_eq!(detector.format(), ModelFormat::YoloEndToEnd);
    assert_eq!(detector.info().format, "yolo_end_to_end");
    let rgb = frame_with_patches(640, 480, &vga_patches());
    let frame = FrameView::new(640, 480, &rgb, None, None).unwrap();
    let detections = detector.detect(&frame, &DetectSettings::default()).unwrap();
    assert_found(&detections, &vga_expected(), 1.0, 1.0);
}

#[test]
fn rf_detr_stretches_normalises_and_names_coco_categories() {
    let models = Models::make();
    let mut detector = OnnxDetector::open(&models.path("rf_detr.onnx"), &options()).unwrap();
    assert_eq!(detector.format(), ModelFormat::RfDetr);
    assert_eq!(detector.info().format, "rf_detr");
    assert_eq!(detector.input_size(), [320, 320]);
    assert_eq!(detector.layout().classes, Some(91));
    // 640x480 stretched to 320x320: each 32x32 input cell is 64x48 frame pixels.
    let rgb = frame_with_patches(
        640,
        480,
        &[
            ([64, 48, 128, 96], RED),
            ([320, 240, 448, 288], GREEN),
            ([576, 432, 640, 480], BLUE),
        ],
    );
    let frame = FrameView::new(640, 480, &rgb, None, None).unwrap();
    let detections = detector.detect(&frame, &DetectSettings::default()).unwrap();
    assert_found(
        &detections,
        &[
            ("person", [64.0, 48.0, 128.0, 96.0]),
            ("car", [320.0, 240.0, 384.0, 288.0]),
            ("car", [384.0, 240.0, 448.0, 288.0]),
            ("toothbrush", [576.0, 432.0, 640.0, 480.0]),
        ],
        1.0,
        RF_DETR_FULL_CELL,
    );
    let ids: Vec<u32> = detections.iter().map(|d| d.class_id).collect();
    assert!(
        ids.contains(&1) && ids.contains(&3) && ids.contains(&90),
        "{ids:?}"
    );
    // Top-k over all query and class pairs: at most max_detections, the best.
    let top_two = DetectSettings {
        max_detections: 2,
        ..DetectSettings::default()
    };
    assert_eq!(detector.detect(&frame, &top_two).unwrap().len(), 2);
}

#[test]
fn a_dynamic_input_takes_its_size_from_imgsz_and_says_so() {
    let models = Models::make();
    let mut detector = OnnxDetector::open(&models.path("yolo_dynamic.onnx"), &options()).unwrap();
    // imgsz [480, 640] is height, width: a 640x480 frame fills the input, no padding.
    assert_eq!(detector.input_size(), [640, 480]);
    assert!(
        detector.notes().iter().any(|note| note.contains("imgsz")),
        "{:?}",
        detector.notes()
    );
    let rgb = frame_with_patches(
        640,
        480,
        &[([64, 32, 96, 64], RED), ([608, 448, 640, 480], BLUE)],
    );
    let frame = FrameView::new(640, 480, &rgb, None, None).unwrap();
    let detections = detector.detect(&frame, &DetectSettings::default()).unwrap();
    assert_found(
        &detections,
        &[
            (RED_NAME, [64.0, 32.0, 96.0, 64.0]),
            (BLUE_NAME, [608.0, 448.0, 640.0, 480.0]),
        ],
        1.0,
        1.0,
    );
}

#[test]
fn open_detector_opens_models_and_a_labels_file_renames_their_classes() {
    let models = Models::make();
    let labels = models.path("labels.txt");
    // Line N names class N; the blank line leaves class 1 unnamed.
    std::fs::write(&labels, "red\n\nblue\n").unwrap();
    let options = OpenOptions {
        labels: Some(labels),
        ..options()
    };
    let choice: DetectorChoice = models
        .path("yolo.onnx")
        .display()
        .to_string()
        .parse()
        .unwrap();
    let mut detector = open_detector(&choice, &options).unwrap();
    assert_eq!(detector.info().format, "yolo");
    let rgb = frame_with_patches(640, 480, &vga_patches());
    let frame = FrameView::new(640, 480, &rgb, None, None).unwrap();
    let detections = detector.detect(&frame, &DetectSettings::default()).unwrap();
    assert_found(
        &detections,
        &[
            ("red", [64.0, 48.0, 96.0, 80.0]),
            ("class 1", [320.0, 400.0, 352.0, 432.0]),
            ("class 1", [352.0, 400.0, 384.0, 432.0]),
            ("blue", [608.0, 432.0, 640.0, 464.0]),
        ],
        1.0,
        1.0,
    );
    // The labels file overrides RF-DETR's COCO names too.
    let choice = DetectorChoice::Model(models.path("rf_detr.onnx"));
    let mut detector = open_detector(&choice, &options).unwrap();
    let rgb = frame_with_patches(640, 480, &[([64, 48, 128, 96], RED)]);
    let frame = FrameView::new(640, 480, &rgb, None, None).unwrap();
    let detections = detector.detect(&frame, &DetectSettings::default()).unwrap();
    assert_found(
        &detections,
        &[("class 1", [64.0, 48.0, 128.0, 96.0])],
        1.0,
        RF_DETR_FULL_CELL,
    );
}
