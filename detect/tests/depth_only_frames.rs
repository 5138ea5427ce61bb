//! The depth-only detector on hand-made depth frames: exact boxes and positions, the settings,
//! frames it cannot use (no depth, no intrinsics) and frames without a plane.

use detect::depth_only::{DepthOnlyDetector, DepthOnlyParams};
use detect::{
    open_detector, DepthView, DetectError, DetectSettings, Detection, Detector, DetectorChoice,
    FrameView, Intrinsics, OpenOptions,
};

const WIDTH: u32 = 320;
const HEIGHT: u32 = 240;
const SCALE_M: f32 = 0.001;

fn intrinsics() -> Intrinsics {
    Intrinsics::pinhole_from_fov(WIDTH, HEIGHT, 60.0)
}

/// A depth plane (Z16, millimetres) with `depth_m(column, row)` (0 or `None`: no depth).
fn depth_plane(depth_m: impl Fn(u32, u32) -> Option<f32>) -> Vec<u8> {
    (0..HEIGHT)
        .flat_map(|row| (0..WIDTH).map(move |column| (column, row)))
        .flat_map(|(column, row)| {
            let units = depth_m(column, row).map_or(0, |metres| (metres / SCALE_M).round() as u16);
            units.to_le_bytes()
        })
        .collect()
}

/// A level camera 1 m above a floor (visible up to 10 m), with a panel floating at 2 m in
/// front of the sky (columns 100..=139, rows 60..=99) and a 0.3 m block standing on the floor
/// 2.5 m away (columns 200..=239).
fn scene_depth() -> Vec<u8> {
    let intrinsics = intrinsics();
    depth_plane(|column, row| {
        if (100..=139).contains(&column) && (60..=99).contains(&row) {
            return Some(2.0);
        }
        let y = (row as f32 - intrinsics.ppy) / intrinsics.fy;
        let floor_m = (y > 0.0)
            .then(|| 1.0 / y)
            .filter(|&depth_m| depth_m <= 10.0);
        // The block's front face: 2.5 m away, from the floor (y = 1 m) up to y = 0.7 m.
        let block = (200..=239).contains(&column) && y * 2.5 >= 0.7 && y * 2.5 <= 1.0;
        if block {
            return Some(2.5);
        }
        floor_m
    })
}

fn view<'a>(rgb: &'a [u8], depth: &'a [u8], intrinsics: Option<Intrinsics>) -> FrameView<'a> {
    FrameView::new(
        WIDTH,
        HEIGHT,
        rgb,
        Some(DepthView {
            z16_le: depth,
            depth_scale_m: SCALE_M,
        }),
        intrinsics,
    )
    .expect("the planes fit the frame size")
}

fn rgb() -> Vec<u8> {
    vec![0; (WIDTH * HEIGHT * 3) as usize]
}

fn detect(depth: &[u8], settings: &DetectSettings) -> (DepthOnlyDetector, Vec<Detection>) {
    let rgb = rgb();
    let mut detector = DepthOnlyDetector::default();
    let detections = detector
        .detect(&view(&rgb, depth, Some(intrinsics())), settings)
        .expect("the frame has depth and intrinsics");
    (detector, detections)
}

#[test]
fn a_floating_panel_gets_its_exact_box_and_position() {
    let (detector, detections) = detect(&scene_depth(), &DetectSettings::default());
    let fit = detector.plane().unwrap();
    assert!((fit.plane.offset_m - 1.0).abs() < 0.002, "{fit:?}");
    assert_eq!(detections.len(), 2, "{detections:#?}");
    let panel = &detections[0];
    // Columns 100..=139 and rows 60..=99, in continuous coordinates.
    assert_eq!(panel.box_px, [100.0, 60.0, 140.0, 100.0]);
    let position = panel.position.unwrap();
    assert_eq!(position.depth_m, 2.0);
    // The centroid of a flat panel is its middle pixel deprojected.
    let middle = intrinsics().deproject([119.5, 79.5], 2.0);
    for (axis, expected) in middle.iter().enumerate() {
        assert!(
            (position.point_m[axis] - expected).abs() < 1e-4,
            "{position:?}"
        );
    }
    let [min, max] = position.extent_m.unwrap();
    assert_eq!(min, intrinsics().deproject([100.0, 60.0], 2.0));
    assert_eq!(max, intrinsics().deproject([139.0, 99.0], 2.0));
    assert!((position.distance_m - detect::position::norm(position.point_m)).abs() < 1e-6);
    // It floats about 1.3 m above the floor: far above the 5 cm margin at 2 m.
    assert!(panel.score > 0.95, "{panel:?}");
}

#[test]
fn a_block_on_the_floor_loses_only_its_foot_and_scores_by_its_height() {
    let (_, detections) = detect(&scene_depth(), &DetectSettings::default());
    let block = &detections[1];
    let position = block.position.unwrap();
    assert_eq!((block.box_px[0], block.box_px[2]), (200.0, 240.0));
    assert_eq!(position.depth_m, 2.5);
    // Its top edge (0.3 m above the floor) is in; the bottom ~6 cm (the margin at 2.5 m) is not.
    let intrinsics = intrinsics();
    let top_row = intrinsics.ppy + 0.7 / 2.5 * intrinsics.fy;
    let floor_row = intrinsics.ppy + 1.0 / 2.5 * intrinsics.fy;
    assert!((block.box_px[1] - top_row).abs() <= 1.0, "{block:?}");
    let cut_rows = (floor_row - block.box_px[3]) / (floor_row - top_row);
    assert!((0.15..0.3).contains(&cut_rows), "{cut_rows} {block:?}");
    // Mean height about 0.18 m against a margin of 0.061 m: 1 - 0.061 / 0.18.
    assert!((0.6..0.75).contains(&block.score), "{block:?}");
    assert!(detections[0].score > block.score);
}

#[test]
fn settings_cut_by_score_and_count_best_first() {
    let depth = scene_depth();
    let (_, strict) = detect(
        &depth,
        &DetectSettings {
            score_threshold: 0.9,
            ..DetectSettings::default()
        },
    );
    assert_eq!(strict.len(), 1);
    assert_eq!(strict[0].box_px, [100.0, 60.0, 140.0, 100.0]);
    let (_, one) = detect(
        &depth,
        &DetectSettings {
            max_detections: 1,
            ..DetectSettings::default()
        },
    );
    assert_eq!(one, strict);
    let (_, none) = detect(
        &depth,
        &DetectSettings {
            max_detections: 0,
            ..DetectSettings::default()
        },
    );
    assert!(none.is_empty());
}

#[test]
fn small_regions_are_dropped() {
    let intrinsics = intrinsics();
    // The floor, plus a 5x5-pixel speck (25 pixels, under the 40 minimum) floating at 2 m.
    let depth = depth_plane(|column, row| {
        if (50..55).contains(&column) && (50..55).contains(&row) {
            return Some(2.0);
        }
        let y = (row as f32 - intrinsics.ppy) / intrinsics.fy;
        (y > 0.0)
            .then(|| 1.0 / y)
            .filter(|&depth_m| depth_m <= 10.0)
    });
    let (detector, detections) = detect(
        &depth,
        &DetectSettings {
            score_threshold: 0.0,
            ..DetectSettings::default()
        },
    );
    assert!(detector.plane().is_some());
    assert_eq!(detections, Vec::new());
    // With a lower minimum it is found.
    let rgb = rgb();
    let mut lenient = DepthOnlyDetector::new(DepthOnlyParams {
        min_region_px: 10,
        min_region_size_m: 0.01,
        ..DepthOnlyParams::default()
    })
    .unwrap();
    let found = lenient
        .detect(
            &view(&rgb, &depth, Some(intrinsics)),
            &DetectSettings::default(),
        )
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].box_px, [50.0, 50.0, 55.0, 55.0]);
}

#[test]
fn a_wall_is_a_plane_too_and_what_stands_before_it_is_found() {
    // Facing a wall 3 m away, with a 40x40-pixel box 1 m in front of it.
    let depth = depth_plane(|column, row| {
        let in_box = (140..180).contains(&column) && (100..140).contains(&row);
        Some(if in_box { 2.0 } else { 3.0 })
    });
    let (detector, detections) = detect(&depth, &DetectSettings::default());
    let fit = detector.plane().unwrap();
    assert!((fit.plane.normal[2] + 1.0).abs() < 1e-4 && (fit.plane.offset_m - 3.0).abs() < 1e-3);
    assert_eq!(detections.len(), 1);
    assert_eq!(detections[0].box_px, [140.0, 100.0, 180.0, 140.0]);
}

/// Decided: a frame without a dominant plane gives no detections, not an error (nothing can
/// stand out of a plane that is not there; the next frame may have one), and `plane()` says
/// there was none.
#[test]
fn no_plane_means_no_detections_not_an_error() {
    // No depth at all.
    let (detector, detections) = detect(&depth_plane(|_, _| None), &DetectSettings::default());
    assert!(detections.is_empty() && detector.plane().is_none());
    // Only a few pixels with depth (under 100 fit points).
    let (detector, detections) = detect(
        &depth_plane(|column, row| (column < 20 && row < 20).then_some(1.5)),
        &DetectSettings::default(),
    );
    assert!(detections.is_empty() && detector.plane().is_none());
    // Depth everywhere but scattered at random between 1 and 5 m: no plane holds 20 %.
    let mut state = 0x1234_5678u32;
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let noise: Vec<f32> = (0..WIDTH * HEIGHT)
        .map(|_| 1.0 + (random() % 4000) as f32 / 1000.0)
        .collect();
    let (detector, detections) = detect(
        &depth_plane(|column, row| Some(noise[(row * WIDTH + column) as usize])),
        &DetectSettings::default(),
    );
    assert!(detections.is_empty() && detector.plane().is_none());
    // A plane found after all that: the detector recovers on the next frame.
    let (detector, detections) = detect(&scene_depth(), &DetectSettings::default());
    assert!(detector.plane().is_some() && detections.len() == 2);
}

#[test]
fn frames_without_depth_or_intrinsics_are_refused_with_a_reason() {
    let rgb = rgb();
    let depth = scene_depth();
    let mut detector = DepthOnlyDetector::default();
    let settings = DetectSettings::default();

    let colour_only = FrameView::new(WIDTH, HEIGHT, &rgb, None, Some(intrinsics())).unwrap();
    let Err(DetectError::Frame(reason)) = detector.detect(&colour_only, &settings) else {
        panic!("a frame without depth must be refused");
    };
    assert!(reason.contains("needs a depth plane"), "{reason}");

    let Err(DetectError::Frame(reason)) = detector.detect(&view(&rgb, &depth, None), &settings)
    else {
        panic!("a frame without intrinsics must be refused");
    };
    assert!(reason.contains("intrinsics"), "{reason}");

    // Intrinsics of another size never reach a detector: the frame view refuses them.
    let other_size = Intrinsics::pinhole_from_fov(640, 480, 60.0);
    let depth_view = DepthView {
        z16_le: &depth,
        depth_scale_m: SCALE_M,
    };
    let Err(error) = FrameView::new(WIDTH, HEIGHT, &rgb, Some(depth_view), Some(other_size)) else {
        panic!("intrinsics of another size must be refused");
    };
    let reason = error.to_string();
    assert!(
        reason.contains("640x480") && reason.contains("320x240"),
        "{reason}"
    );
}

#[test]
fn opened_by_name_it_is_the_depth_format_without_a_model() {
    let choice: DetectorChoice = "depth".parse().unwrap();
    let mut detector = open_detector(&choice, &OpenOptions::default()).unwrap();
    let info = detector.info();
    assert_eq!((info.format.as_str(), info.model), ("depth", None));
    let rgb = rgb();
    let depth = scene_depth();
    let detections = detector
        .detect(
            &view(&rgb, &depth, Some(intrinsics())),
            &DetectSettings::default(),
        )
        .unwrap();
    assert_eq!(detections.len(), 2);
    // Invalid parameters are refused by name.
    let error = DepthOnlyDetector::new(DepthOnlyParams {
        fit_stride_px: 0,
        ..DepthOnlyParams::default()
    })
    .unwrap_err();
    assert_eq!(error.name, "fit_stride_px");
}
