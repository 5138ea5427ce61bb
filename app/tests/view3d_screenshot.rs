//! End-to-end under Xvfb (a real window, Mesa's llvmpipe): the real `aaa` binary shows the
//! in-app synthetic scene in the 3D view (`--view 3d --orbit YAW,PITCH --smoke-test ...
//! --screenshot`) and the tests look at the screenshot: the point cloud is drawn (not blank),
//! it changes when orbited, and each sphere's ground-truth centre, projected through the
//! orbit camera the app reports, lands on pixels of that sphere's colour (the GPU's
//! deprojection and the CPU's camera agree).
//!
//! Needs `xvfb-run` (scripts/setup-runtime-deps.sh --test). Without it the tests say so and
//! pass, unless `CI` or `AAA_REQUIRE_XVFB` is set, where a missing tool is a failure.

use std::path::Path;

use app::view3d::camera::OrbitCamera;
use egui::{Pos2, Rect};
use image::RgbImage;
use serde_json::Value;
use test_support::xvfb::{succeeded, xvfb_available, xvfb_command};

/// The 3D view as the app reported it, and its screenshot.
struct Shot {
    report: Value,
    image: RgbImage,
}

impl Shot {
    fn field<T: serde::de::DeserializeOwned>(&self, name: &str) -> T {
        serde_json::from_value(self.report[name].clone())
            .unwrap_or_else(|err| panic!("the report's {name}: {err}"))
    }

    fn view_rect(&self) -> Rect {
        let view: [f32; 4] = self.field("view_px");
        Rect::from_min_max(Pos2::new(view[0], view[1]), Pos2::new(view[2], view[3]))
    }

    fn camera(&self) -> OrbitCamera {
        OrbitCamera {
            target_m: self.field("target_m"),
            yaw_deg: self.field("yaw_deg"),
            pitch_deg: self.field("pitch_deg"),
            distance_m: self.field("distance_m"),
        }
    }

    /// The view's pixels, row by row.
    fn view_pixels(&self) -> Vec<[u8; 3]> {
        let rect = self.view_rect();
        let mut pixels = Vec::new();
        for y in rect.min.y.ceil() as u32..rect.max.y.floor() as u32 {
            for x in rect.min.x.ceil() as u32..rect.max.x.floor() as u32 {
                pixels.push(self.image.get_pixel(x, y).0);
            }
        }
        pixels
    }
}

/// Runs `aaa --view 3d --orbit orbit` on the synthetic scene under Xvfb, with `extra`
/// arguments.
fn run_app(work: &Path, orbit: &str, extra: &[&str]) -> Shot {
    let namespace = format!("v3dshot{}", std::process::id());
    let screenshot = work.join(format!("3d-{}.png", orbit.replace(',', "_")));
    let output = xvfb_command(env!("CARGO_BIN_EXE_aaa"))
        .args(["--namespace", &namespace, "--runtime-dir"])
        .arg(work)
        .args(["--synthetic", "--view", "3d", "--orbit", orbit])
        // With --freeze-and-detect the screenshot is taken once the markers are drawn.
        .args(["--smoke-test", if extra.is_empty() { "4" } else { "90" }])
        .args(extra)
        .arg("--screenshot")
        .arg(&screenshot)
        .output()
        .expect("run xvfb-run");
    let (stdout, stderr) = succeeded(&output, "the app");
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix("smoke test 3d: "))
        .unwrap_or_else(|| panic!("no 3D view report:\n{stdout}\n{stderr}"));
    eprintln!("3D view report: {line}");
    let mut report: Value =
        serde_json::from_str(line).unwrap_or_else(|err| panic!("bad report {line}: {err}"));
    if let Some(detection) = stdout
        .lines()
        .find_map(|line| line.strip_prefix("smoke test detection: "))
    {
        eprintln!("detection report: {detection}");
        report["detection"] = serde_json::from_str(detection)
            .unwrap_or_else(|err| panic!("bad report {detection}: {err}"));
    }
    let image = image::open(&screenshot)
        .unwrap_or_else(|err| panic!("the screenshot {}: {err}", screenshot.display()))
        .into_rgb8();
    Shot { report, image }
}

/// The view's background (`point_cloud.rs`), where no point, grid line or frustum is drawn.
fn is_background([r, g, b]: [u8; 3]) -> bool {
    r == g && g == b && r <= 24
}

/// The scene's albedos (camera-sources' synthetic scene) by chromaticity: shading scales a
/// colour, so `rgb / (r + g + b)` names the object.
fn nearest_albedo([r, g, b]: [u8; 3]) -> (&'static str, f32) {
    const ALBEDOS: [(&str, [f32; 3]); 4] = [
        ("red sphere", [220.0, 50.0, 40.0]),
        ("orange cube", [240.0, 150.0, 30.0]),
        ("green sphere", [60.0, 190.0, 80.0]),
        ("blue sphere", [60.0, 110.0, 230.0]),
    ];
    let chroma = |[r, g, b]: [f32; 3]| {
        let sum = (r + g + b).max(1.0);
        [r / sum, g / sum, b / sum]
    };
    let seen = chroma([f32::from(r), f32::from(g), f32::from(b)]);
    ALBEDOS
        .iter()
        .map(|(name, albedo)| {
            let albedo = chroma(*albedo);
            let distance = (0..3)
                .map(|i| (seen[i] - albedo[i]).powi(2))
                .sum::<f32>()
                .sqrt();
            (*name, distance)
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .expect("four albedos")
}

#[test]
fn the_3d_view_draws_the_scene_and_changes_when_orbited() {
    if !xvfb_available() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let front = run_app(work.path(), "0,0", &[]);
    let turned = run_app(work.path(), "40,25", &[]);
    assert_eq!(front.view_rect(), turned.view_rect());

    for (name, shot) in [("front", &front), ("turned", &turned)] {
        let pixels = shot.view_pixels();
        assert!(
            pixels.len() > 200_000,
            "{name}: the view is {:?}",
            shot.view_rect()
        );
        let drawn = pixels.iter().filter(|&&rgb| !is_background(rgb)).count();
        let mut colours: Vec<[u8; 3]> = pixels.clone();
        colours.sort_unstable();
        colours.dedup();
        eprintln!(
            "{name}: {drawn} of {} pixels drawn, {} colours",
            pixels.len(),
            colours.len()
        );
        assert!(
            drawn * 3 > pixels.len(),
            "{name}: the point cloud covers a third of the view"
        );
        assert!(
            colours.len() > 500,
            "{name}: the scene's colours, not a flat fill"
        );
    }
    let (a, b) = (front.view_pixels(), turned.view_pixels());
    let changed = a.iter().zip(&b).filter(|(a, b)| a != b).count();
    eprintln!("orbiting changed {changed} of {} pixels", a.len());
    assert!(changed * 3 > a.len(), "orbiting changes the picture");
}

#[test]
fn ground_truth_sphere_centres_project_onto_their_colour() {
    if !xvfb_available() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    for orbit in ["0,0", "25,15", "-30,10"] {
        let shot = run_app(work.path(), orbit, &[]);
        let camera = shot.camera();
        let view = shot.view_rect();
        let truth = shot.report["ground_truth"].as_array().unwrap();
        let mut checked = 0;
        for object in truth {
            let name = object["name"].as_str().unwrap();
            if !name.contains("sphere") {
                continue;
            }
            let centre_m: [f32; 3] = serde_json::from_value(object["center_m"].clone()).unwrap();
            let Some(centre) = camera
                .project(centre_m, view)
                .filter(|pos| view.shrink(3.0).contains(*pos))
            else {
                eprintln!("{orbit}: {name} is out of the view");
                continue;
            };
            // A 5x5 patch around the projected centre: the sphere's surface facing the depth
            // camera, the points of its colour.
            let (mut same, mut total) = (0, 0);
            for dy in -2..=2 {
                for dx in -2..=2 {
                    let rgb = shot
                        .image
                        .get_pixel((centre.x + dx as f32) as u32, (centre.y + dy as f32) as u32)
                        .0;
                    let (nearest, distance) = nearest_albedo(rgb);
                    total += 1;
                    if nearest == name && distance < 0.05 {
                        same += 1;
                    }
                }
            }
            eprintln!("{orbit}: {name} centre at {centre:?}: {same} of {total} pixels its colour");
            assert!(
                same * 10 >= total * 8,
                "{orbit}: {name}'s centre projects to {centre:?}, where {same} of {total} pixels have its colour"
            );
            checked += 1;
        }
        assert!(checked >= 2, "{orbit}: spheres in view: {truth:?}");
    }
}

/// The app's box colour (`app::view::boxes::APP_BOX_COLOR`, magenta), which neither the scene
/// nor the grid and frustum contain.
fn is_box_colour([r, g, b]: [u8; 3]) -> bool {
    r >= 170 && g <= 110 && b >= 170
}

/// Freeze, detect with the depth-only detector, screenshot once the markers are drawn: every
/// detection with a 3D position has a labelled marker, and the marker's lines (drawn by the
/// GPU, hidden by nearer points) are in the box colour inside its place on screen.
#[test]
fn detections_are_drawn_as_labelled_markers() {
    if !xvfb_available() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let shot = run_app(work.path(), "30,20", &["--freeze-and-detect"]);
    let detection = &shot.report["detection"];
    let detections = detection["detections"].as_u64().unwrap();
    assert!(
        detections >= 3,
        "the scene's objects are found: {detection}"
    );
    let boxes: Vec<[f32; 4]> = serde_json::from_value(detection["boxes_px"].clone()).unwrap();
    let captions: Vec<[f32; 4]> = serde_json::from_value(detection["captions_px"].clone()).unwrap();
    assert_eq!(boxes.len(), captions.len());
    assert!(
        boxes.len() + 1 >= detections as usize,
        "a marker per detection in view: {detection}"
    );
    let view = shot.view_rect();
    let count_box_colour = |[x1, y1, x2, y2]: [f32; 4], leave_out: Option<[f32; 4]>| {
        let mut count = 0;
        for y in y1.max(view.min.y).ceil() as u32..y2.min(view.max.y).floor() as u32 {
            for x in x1.max(view.min.x).ceil() as u32..x2.min(view.max.x).floor() as u32 {
                let (xf, yf) = (x as f32 + 0.5, y as f32 + 0.5);
                let in_left_out =
                    leave_out.is_some_and(|[a, b, c, d]| xf >= a && xf < c && yf >= b && yf < d);
                if !in_left_out && is_box_colour(shot.image.get_pixel(x, y).0) {
                    count += 1;
                }
            }
        }
        count
    };
    let mut lined = 0;
    for (marker, caption) in boxes.iter().zip(&captions) {
        let caption_pixels = count_box_colour(*caption, None);
        let caption_area = (caption[2] - caption[0]) * (caption[3] - caption[1]);
        let line_pixels = count_box_colour(*marker, Some(*caption));
        eprintln!("marker {marker:?}: {line_pixels} line pixels, caption {caption_pixels} of {caption_area:.0}");
        assert!(
            caption_pixels as f32 > 0.4 * caption_area,
            "the label is drawn: {caption:?}"
        );
        if line_pixels >= 40 {
            lined += 1;
        }
    }
    assert!(lined + 1 >= boxes.len(), "the markers' lines are drawn");
}
