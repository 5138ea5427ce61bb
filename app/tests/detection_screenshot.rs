//! End-to-end under Xvfb: the real `aaa` binary shows the in-app synthetic scene, freezes a
//! frame, detects on it with the depth-only detector (`--smoke-test ... --freeze-and-detect`)
//! and saves a screenshot once the boxes are drawn. The test reads the boxes' places from the
//! app's report and checks the screenshot: box-coloured (magenta) pixels along every box's
//! edges, and none away from the boxes.
//!
//! Needs `xvfb-run` (scripts/setup-runtime-deps.sh --test). Without it the test says so and
//! passes, unless `CI` or `AAA_REQUIRE_XVFB` is set, where a missing tool is a failure.

use std::path::Path;

use serde_json::Value;
use test_support::xvfb::{succeeded, xvfb_available, xvfb_command};

/// The app's box colour (`app::view::boxes::APP_BOX_COLOR`), with room for blending.
fn is_box_colour([r, g, b]: [u8; 3]) -> bool {
    r >= 170 && g <= 110 && b >= 170
}

/// Runs `aaa --freeze-and-detect` under Xvfb; returns its detection report (the JSON line).
fn run_app(work: &Path, screenshot: &Path) -> Value {
    let namespace = format!("dshot{}", std::process::id());
    let output = xvfb_command(env!("CARGO_BIN_EXE_aaa"))
        .args(["--namespace", &namespace, "--runtime-dir"])
        .arg(work)
        .args(["--synthetic", "--model", "depth", "--smoke-test", "90"])
        .arg("--freeze-and-detect")
        .arg("--screenshot")
        .arg(screenshot)
        .output()
        .expect("run xvfb-run");
    let (stdout, stderr) = succeeded(&output, "the app");
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix("smoke test detection: "))
        .unwrap_or_else(|| panic!("no detection report:\n{stdout}\n{stderr}"));
    eprintln!("detection report: {line}");
    serde_json::from_str(line).unwrap_or_else(|err| panic!("bad report {line}: {err}"))
}

#[test]
fn freeze_and_detect_draws_boxes_where_the_detections_are() {
    if !xvfb_available() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let screenshot = work.path().join("screenshot.png");
    let report = run_app(work.path(), &screenshot);

    let detections = report["detections"].as_u64().unwrap();
    assert!(detections >= 1, "the scene's objects are found: {report}");
    let freeze_to_boxes_ms = report["freeze_to_boxes_ms"].as_f64().unwrap();
    let inference_ms = report["inference_ms"].as_f64().unwrap();
    eprintln!(
        "freeze to boxes {freeze_to_boxes_ms:.1} ms, inference {inference_ms:.1} ms, overhead {:.1} ms",
        freeze_to_boxes_ms - inference_ms
    );
    let boxes: Vec<[f32; 4]> = serde_json::from_value(report["boxes_px"].clone()).unwrap();
    let captions: Vec<[f32; 4]> = serde_json::from_value(report["captions_px"].clone()).unwrap();
    // Each detection over the colour image and over the depth image.
    assert_eq!(boxes.len() as u64, detections * 2, "{report}");
    assert_eq!(captions.len(), boxes.len());
    let images: Vec<[f32; 4]> = serde_json::from_value(report["images_px"].clone()).unwrap();
    assert_eq!(images.len(), 2, "colour and depth: {report}");

    let image = image::open(&screenshot).unwrap().into_rgb8();
    let (width, height) = image.dimensions();
    let pixel = |x: f32, y: f32| -> Option<[u8; 3]> {
        let (x, y) = (x.floor(), y.floor());
        (x >= 0.0 && y >= 0.0 && (x as u32) < width && (y as u32) < height)
            .then(|| image.get_pixel(x as u32, y as u32).0)
    };
    for [x1, y1, x2, y2] in &boxes {
        // One pixel inside the left, right and bottom edges (the stroke is 2 px wide, inside
        // the box), along their middle half (the caption may cover the top edge).
        let mut samples = Vec::new();
        for step in 0..=20 {
            let t = 0.25 + 0.5 * step as f32 / 20.0;
            let x = x1 + t * (x2 - x1);
            let y = y1 + t * (y2 - y1);
            samples.extend([pixel(x1 + 1.0, y), pixel(x2 - 1.0, y), pixel(x, y2 - 1.0)]);
        }
        let boxed = samples
            .iter()
            .flatten()
            .filter(|&&rgb| is_box_colour(rgb))
            .count();
        assert!(
            boxed * 10 >= samples.len() * 9,
            "box {:?}: {boxed} of {} edge pixels box-coloured",
            [x1, y1, x2, y2],
            samples.len()
        );
    }
    // In the images, away from the boxes and their captions (3 px around each), nothing is
    // box-coloured: the scene and the depth colour map have no magenta. (The panel's list
    // heading is written in the box colour.)
    let in_an_image = |x: f32, y: f32| {
        images
            .iter()
            .any(|[x1, y1, x2, y2]| x >= *x1 && x < *x2 && y >= *y1 && y < *y2)
    };
    let near_a_box = |x: f32, y: f32| {
        boxes.iter().chain(&captions).any(|[x1, y1, x2, y2]| {
            x >= x1 - 3.0 && x <= x2 + 3.0 && y >= y1 - 3.0 && y <= y2 + 3.0
        })
    };
    let (mut boxed_in_images, mut stray) = (0, 0);
    for (x, y, rgb) in image.enumerate_pixels() {
        let (x, y) = (x as f32 + 0.5, y as f32 + 0.5);
        if is_box_colour(rgb.0) && in_an_image(x, y) {
            boxed_in_images += 1;
            if !near_a_box(x, y) {
                stray += 1;
            }
        }
    }
    assert!(
        stray <= 20,
        "{stray} box-coloured pixels in the images away from the boxes"
    );
    assert!(
        boxed_in_images > 100,
        "boxes are drawn: {boxed_in_images} box-coloured pixels"
    );
}
