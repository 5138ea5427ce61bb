//! Tests of the synthetic source as a whole: geometry of what it renders, determinism, stamps,
//! pacing and controls.

use super::scene::{sky_color, Object, OBJECT_COUNT};
use super::*;

/// How far a deprojected point may be from the surface: depth is quantised to 1 mm.
const SURFACE_TOLERANCE_M: f32 = 0.002;

fn source(width: u32, height: u32) -> SyntheticSource {
    SyntheticSource::new(SyntheticConfig {
        width,
        height,
        fps: 0.0,
        ..SyntheticConfig::default()
    })
    .unwrap()
}

fn render(source: &mut SyntheticSource, frame_number: u64) -> CapturedFrame {
    let mut frame = CapturedFrame::default();
    source.render_frame(frame_number, &mut frame).unwrap();
    frame
}

fn objects(source: &SyntheticSource, frame_number: u64) -> [Object; OBJECT_COUNT] {
    source
        .renderer
        .scene()
        .objects_at(source.clock.time_s(frame_number))
}

fn depth_mm_at(frame: &CapturedFrame, geometry: &Geometry, u: usize, v: usize) -> u16 {
    let index = (v * geometry.width as usize + u) * 2;
    u16::from_le_bytes([frame.depth[index], frame.depth[index + 1]])
}

fn rgb_at(frame: &CapturedFrame, geometry: &Geometry, u: usize, v: usize) -> [u8; 3] {
    let index = (v * geometry.width as usize + u) * 3;
    [frame.rgb[index], frame.rgb[index + 1], frame.rgb[index + 2]]
}

fn sky_rgb(geometry: &Geometry, v: usize) -> [u8; 3] {
    sky_color((v as f32 + 0.5) / geometry.height as f32).map(|channel| (channel + 0.5) as u8)
}

/// The camera-frame point a pixel's stored depth deprojects to, `None` where depth is 0.
fn point_at(
    source: &SyntheticSource,
    frame: &CapturedFrame,
    u: usize,
    v: usize,
) -> Option<[f32; 3]> {
    let depth_mm = depth_mm_at(frame, &source.geometry, u, v);
    (depth_mm != 0).then(|| {
        source
            .intrinsics
            .deproject([u as f32, v as f32], f32::from(depth_mm) * DEPTH_SCALE_M)
    })
}

#[test]
fn pixel_at_an_object_centre_deprojects_onto_that_object() {
    let mut source = source(640, 480);
    // Frames chosen (deterministic scene) so that no object hides another's centre.
    for frame_number in [1, 40, 100, 250] {
        let frame = render(&mut source, frame_number);
        for (index, object) in objects(&source, frame_number).iter().enumerate() {
            let [u, v] = source.intrinsics.project(object.bounding_center);
            let (u, v) = (u as usize, v as usize);
            assert!(
                u < 640 && (1..479).contains(&v),
                "object {index} off screen"
            );
            let point = point_at(&source, &frame, u, v).unwrap();
            let offset = object.surface_offset_m(point);
            assert!(
                offset.abs() < SURFACE_TOLERANCE_M,
                "frame {frame_number}, object {index}: {offset} m off the surface"
            );
        }
    }
}

#[test]
fn every_measured_pixel_lies_on_the_floor_or_an_object() {
    let mut source = source(320, 240);
    let geometry = source.geometry;
    // Including a frame after five weeks at 30 fps: scene time stays precise.
    for frame_number in [1, 77, 300, 100_000_000] {
        let frame = render(&mut source, frame_number);
        let objects = objects(&source, frame_number);
        let (mut on_floor, mut on_objects) = (0, 0);
        // The first and last rows carry the stamp, not the scene.
        for v in 1..geometry.height as usize - 1 {
            for u in 0..geometry.width as usize {
                let Some(point) = point_at(&source, &frame, u, v) else {
                    continue;
                };
                let height_m = source.renderer.scene().world_from_camera_point(point)[1];
                if height_m.abs() < SURFACE_TOLERANCE_M {
                    on_floor += 1;
                } else {
                    assert!(
                        objects
                            .iter()
                            .any(|object| object.surface_offset_m(point).abs() < SURFACE_TOLERANCE_M),
                        "pixel ({u}, {v}) of frame {frame_number} deprojects to {point:?}, on no surface"
                    );
                    on_objects += 1;
                }
            }
        }
        assert!(
            on_floor > 10_000 && on_objects > 1_000,
            "{on_floor} {on_objects}"
        );
    }
}

#[test]
fn bottom_corner_pixels_are_floor() {
    let mut source = source(640, 480);
    let frame = render(&mut source, 5);
    for (u, v) in [(0, 470), (5, 478), (639, 475), (320, 478), (10, 300)] {
        let point = point_at(&source, &frame, u, v).unwrap();
        let height_m = source.renderer.scene().world_from_camera_point(point)[1];
        assert!(
            height_m.abs() < SURFACE_TOLERANCE_M,
            "({u}, {v}): {height_m} m above the floor"
        );
    }
}

#[test]
fn colour_and_depth_agree_on_what_is_background() {
    let mut source = source(320, 240);
    let geometry = source.geometry;
    for frame_number in [1, 150] {
        let frame = render(&mut source, frame_number);
        let mut background = 0;
        for v in 1..geometry.height as usize - 1 {
            let sky = sky_rgb(&geometry, v);
            for u in 0..geometry.width as usize {
                let measured = depth_mm_at(&frame, &geometry, u, v) != 0;
                let is_sky_colour = rgb_at(&frame, &geometry, u, v) == sky;
                assert_eq!(
                    measured, !is_sky_colour,
                    "pixel ({u}, {v}) of frame {frame_number}"
                );
                background += usize::from(!measured);
            }
        }
        // The sky is in view, and objects in front of it.
        assert!(background > 5_000, "{background}");
    }
}

#[test]
fn a_frame_number_always_gives_the_same_frame() {
    let mut sequential = source(320, 240);
    let mut last = CapturedFrame::default();
    for frame_number in 1..=6 {
        sequential.render_frame(frame_number, &mut last).unwrap();
    }
    let mut fresh = source(320, 240);
    let mut reused = CapturedFrame {
        rgb: vec![7; 5],
        depth: vec![9; 1_000_000],
        ..CapturedFrame::default()
    };
    fresh.render_frame(6, &mut reused).unwrap();
    assert_eq!(reused.frame_number, 6);
    assert!(reused.rgb == last.rgb && reused.depth == last.depth);
    // And different frame numbers give different scenes.
    let other = render(&mut fresh, 7);
    assert!(other.rgb != last.rgb);
}

#[test]
fn next_frame_numbers_stamps_and_timestamps_frames() {
    let mut source = source(320, 240);
    let geometry = source.geometry;
    let mut frame = CapturedFrame::default();
    let before_ns = shmproto::monotonic_now_ns();
    for expected in 1..=3 {
        source.next_frame(&mut frame).unwrap();
        assert_eq!(frame.frame_number, expected);
        assert_eq!(frame.rgb.len(), geometry.color_len());
        assert_eq!(frame.depth.len(), geometry.depth_len());
        assert!(frame.capture_mono_ns >= before_ns && frame.capture_wall_ns > 0);
        for row in [StampRow::First, StampRow::Last] {
            assert_eq!(read_stamp_rgb(&frame.rgb, &geometry, row), Some(expected));
            assert_eq!(
                read_stamp_depth(&frame.depth, &geometry, row),
                Some(expected)
            );
        }
        assert_eq!(
            verify_frame(&frame.rgb, &frame.depth, &geometry, expected),
            Ok(())
        );
    }
    // Buffers are reused, not reallocated.
    let (rgb_at, depth_at) = (frame.rgb.as_ptr(), frame.depth.as_ptr());
    source.next_frame(&mut frame).unwrap();
    assert_eq!(
        (frame.rgb.as_ptr(), frame.depth.as_ptr()),
        (rgb_at, depth_at)
    );
}

#[test]
fn a_frame_with_the_bottom_half_of_another_fails_verification() {
    let mut source = source(640, 480);
    let geometry = source.geometry;
    let mut torn = render(&mut source, 20);
    let later = render(&mut source, 21);
    let rgb_half = torn.rgb.len() / 2;
    torn.rgb[rgb_half..].copy_from_slice(&later.rgb[rgb_half..]);
    let depth_half = torn.depth.len() / 2;
    torn.depth[depth_half..].copy_from_slice(&later.depth[depth_half..]);
    assert!(matches!(
        verify_frame(&torn.rgb, &torn.depth, &geometry, 20),
        Err(StampError::Mismatch {
            row: StampRow::Last,
            found: 21,
            expected: 20,
            ..
        })
    ));
    // Each frame on its own is fine; a frame is not accepted as another.
    assert_eq!(
        verify_frame(&later.rgb, &later.depth, &geometry, 21),
        Ok(())
    );
    assert!(verify_frame(&later.rgb, &later.depth, &geometry, 20).is_err());
}

#[test]
fn pacing_at_200_fps_is_never_ahead_of_schedule() {
    let mut source = SyntheticSource::new(SyntheticConfig {
        width: 160,
        height: 120,
        fps: 200.0,
        ..SyntheticConfig::default()
    })
    .unwrap();
    let mut frame = CapturedFrame::default();
    let start_ns = shmproto::monotonic_now_ns();
    for _ in 0..20 {
        source.next_frame(&mut frame).unwrap();
    }
    let elapsed_ns = shmproto::monotonic_now_ns() - start_ns;
    // Frame 1 is due when first asked for (after `start_ns`), frame 20 is due 19 periods of
    // 5 ms later; a loaded machine can only make it later still.
    assert!(frame.capture_mono_ns - start_ns >= 19 * 5_000_000);
    // Generous upper bound: a sleeping source must not take seconds for 95 ms of schedule.
    assert!(elapsed_ns < 2_000_000_000, "{elapsed_ns} ns");
}

#[test]
fn invalid_configurations_are_refused() {
    let with = |change: fn(&mut SyntheticConfig)| {
        let mut config = SyntheticConfig::default();
        change(&mut config);
        SyntheticSource::new(config)
    };
    assert!(with(|_| {}).is_ok());
    for bad in [
        with(|c| c.width = 0),
        with(|c| c.height = 0),
        with(|c| c.width = shmproto::MAX_DIMENSION_PX + 1),
        with(|c| c.width = STAMP_MIN_WIDTH_PX - 1),
        with(|c| c.height = 1),
        with(|c| c.fps = -1.0),
        with(|c| c.fps = f32::NAN),
        with(|c| c.fps = f32::INFINITY),
        with(|c| c.fps = MIN_FPS / 2.0),
        with(|c| c.fps = MAX_FPS + 1.0),
        with(|c| c.brightness = -0.1),
        with(|c| c.brightness = f32::NAN),
        with(|c| c.speed = MAX_SPEED * 2.0),
    ] {
        assert!(matches!(
            bad,
            Err(SourceError::Open {
                kind: SourceKind::Synthetic,
                ..
            })
        ));
    }
}

#[test]
fn controls_validate_and_apply() {
    let mut source = source(320, 240);
    let geometry = source.geometry;
    assert!(matches!(
        source.set_brightness(f32::NAN),
        Err(ControlError::Brightness(_))
    ));
    assert!(source.set_brightness(MAX_BRIGHTNESS + 1.0).is_err());
    assert!(source.set_speed(-1.0).is_err());
    assert!(source.set_speed(f32::INFINITY).is_err());
    assert_eq!((source.brightness(), source.speed()), (1.0, 1.0));

    // Brightness scales the colour (here of the sky in row 60).
    let bright = render(&mut source, 3);
    source.set_brightness(0.5).unwrap();
    let dim = render(&mut source, 3);
    let (bright_sky, dim_sky) = (
        rgb_at(&bright, &geometry, 100, 60),
        rgb_at(&dim, &geometry, 100, 60),
    );
    for channel in 0..3 {
        assert!(dim_sky[channel].abs_diff(bright_sky[channel] / 2) <= 1);
    }
    assert!(bright.depth == dim.depth);

    // Speed 0 freezes the scene: two frames differ only in their stamps.
    source.set_speed(0.0).unwrap();
    let mut still = [render(&mut source, 10), render(&mut source, 11)];
    let stride = geometry.color_stride();
    for frame in &mut still {
        let len = frame.rgb.len();
        frame.rgb[..stride].fill(0);
        frame.rgb[len - stride..].fill(0);
    }
    assert!(still[0].rgb[..] == still[1].rgb[..]);
}

#[test]
fn speed_changes_continue_the_scene_without_a_jump() {
    let mut source = source(320, 240);
    let time_before = source.clock.time_s(source.next_frame_number);
    source.set_speed(2.0).unwrap();
    let next = source.next_frame_number;
    assert_eq!(source.clock.time_s(next), time_before);
    let step = source.clock.time_s(next + 1) - source.clock.time_s(next);
    assert!((step - 2.0 / 30.0).abs() < 1e-12);
}

#[test]
fn info_describes_an_aligned_metric_rgbd_camera() {
    let source = source(640, 480);
    let info = source.info();
    assert_eq!(info.kind, SourceKind::Synthetic);
    assert_eq!(info.depth_scale_m, Some(0.001));
    assert!(info.depth_aligned_to_color);
    assert_eq!(
        info.intrinsics,
        Some(Intrinsics::pinhole_from_fov(640, 480, HORIZONTAL_FOV_DEG))
    );
    assert_eq!(source.geometry(), Geometry::rgbd(640, 480));
}

/// The object whose albedo has the chromaticity nearest to `rgb`'s, and how near (sum of
/// absolute differences of the channel fractions).
fn nearest_albedo(rgb: [u8; 3]) -> (&'static str, f32) {
    use super::scene::{BLUE, GREEN, ORANGE, RED};
    let chroma = |color: [f32; 3]| {
        let sum = color[0] + color[1] + color[2];
        color.map(|channel| channel / sum.max(1.0))
    };
    let seen = chroma(rgb.map(f32::from));
    [
        ("red sphere", RED),
        ("orange cube", ORANGE),
        ("green sphere", GREEN),
        ("blue sphere", BLUE),
    ]
    .into_iter()
    .map(|(name, albedo)| {
        let expected = chroma(albedo);
        let distance = (0..3).map(|i| (seen[i] - expected[i]).abs()).sum::<f32>();
        (name, distance)
    })
    .fold(("", f32::INFINITY), |best, candidate| {
        if candidate.1 < best.1 {
            candidate
        } else {
            best
        }
    })
}

/// An object is in the ground truth exactly when the pixel its centre projects onto shows the
/// object's colour (shading only scales an albedo, so its chromaticity identifies it).
#[test]
fn ground_truth_centres_project_onto_their_objects_colour() {
    let mut source = source(640, 480);
    let geometry = source.geometry;
    let (mut listed, mut checked) = (0, 0);
    for frame_number in (1..2_000).step_by(37) {
        let frame = render(&mut source, frame_number);
        let truth = source.ground_truth(frame_number);
        for object in objects(&source, frame_number) {
            checked += 1;
            let known = truth.iter().find(|known| known.name == object.name);
            // The listed centre, or where an unlisted object's centre is.
            let centre_m = known.map_or(object.bounding_center, |known| known.center_m);
            let [u, v] = source.intrinsics.project(centre_m);
            let (column, row) = ((u + 0.5).floor(), (v + 0.5).floor());
            let in_image = (0.0..640.0).contains(&column) && (0.0..480.0).contains(&row);
            let shows_it = in_image && {
                let rgb = rgb_at(&frame, &geometry, column as usize, row as usize);
                let (name, distance) = nearest_albedo(rgb);
                name == object.name && distance < 0.03
            };
            assert_eq!(
                known.is_some(),
                shows_it,
                "frame {frame_number}: {} (centre at pixel {u}, {v})",
                object.name
            );
            let Some(known) = known else {
                continue;
            };
            listed += 1;
            assert_eq!(known.center_m, object.bounding_center);
            assert_eq!(known.size_m, object.size_m);
        }
    }
    // Most objects are in view most of the time, and now and then one hides another's centre
    // (the green sphere rolls behind the others): both sides of the check above are exercised.
    assert!(
        listed * 10 > checked * 9 && listed < checked,
        "{listed} of {checked}"
    );
}

#[test]
fn ground_truth_names_sizes_and_reaches_the_metadata() {
    let mut source = source(640, 480);
    let mut frame = CapturedFrame::default();
    source.next_frame(&mut frame).unwrap();
    let metadata = source.info().frame_metadata(frame.stamp(), 30.0);
    let names: Vec<&str> = metadata
        .ground_truth
        .iter()
        .map(|object| object.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["red sphere", "orange cube", "green sphere", "blue sphere"]
    );
    let truth = &metadata.ground_truth;
    assert_eq!(truth[0].size_m, [0.5; 3]);
    assert_eq!(truth[2].size_m, [0.7; 3]);
    // The cube (0.4 m edges) seen from a pitched camera and turning: its axis-aligned box in
    // the camera frame is at least its edge and at most its diagonal.
    for size_m in truth[1].size_m {
        assert!(
            (0.4 - 1e-5..=0.4 * 3f32.sqrt()).contains(&size_m),
            "{size_m}"
        );
    }
    // Every object stands in front of the camera, below or above the optical axis as placed.
    assert!(truth.iter().all(|object| object.center_m[2] > 1.5));
    assert_eq!(frame.ground_truth.len(), 4);
    // The ground truth is the scene's at that frame's instant.
    assert_eq!(frame.ground_truth, source.ground_truth(frame.frame_number));
}

#[test]
fn the_background_has_the_floor_and_sky_but_no_objects() {
    let mut source = source(320, 240);
    let geometry = source.geometry;
    let mut background = CapturedFrame::default();
    source.render_background(&mut background).unwrap();
    assert!(background.ground_truth.is_empty());
    let scene = render(&mut source, 40);
    let (mut same, mut differ) = (0, 0);
    for v in 1..geometry.height as usize - 1 {
        for u in 0..geometry.width as usize {
            let Some(point) = point_at(&source, &background, u, v) else {
                continue;
            };
            let height_m = source.renderer.scene().world_from_camera_point(point)[1];
            assert!(height_m.abs() < SURFACE_TOLERANCE_M, "({u}, {v})");
            if depth_mm_at(&background, &geometry, u, v) == depth_mm_at(&scene, &geometry, u, v) {
                same += 1;
            } else {
                differ += 1;
            }
        }
    }
    // Where no object is, a frame is its background.
    assert!(same > 20_000 && differ > 1_000, "{same} {differ}");
    // And the source's next frame is still frame 1, drawn correctly into reused buffers.
    source.next_frame(&mut background).unwrap();
    assert_eq!(background.frame_number, 1);
    let fresh = render(&mut source, 1);
    assert!(background.rgb == fresh.rgb && background.depth == fresh.depth);
}
