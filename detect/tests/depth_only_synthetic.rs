//! The depth-only detector on frames of the synthetic scene (camera-sources' public API), scored
//! against the ground truth each frame carries in its metadata: every object in view found,
//! its true centre inside the detection's 3D extent grown by 5 cm, boxes against the projected
//! truth, nothing on the empty floor.

use camera_sources::synthetic::{SyntheticConfig, SyntheticSource};
use camera_sources::{CapturedFrame, Source};
use detect::depth_only::DepthOnlyDetector;
use detect::{DepthView, DetectSettings, Detection, Detector, FrameView, Intrinsics};
use shmproto::GroundTruthObject;

/// How far outside a detection's extent the true centre may lie (the brief's tolerance).
const EXTENT_GROWTH_M: f32 = 0.05;

/// Box edges against the projected truth, in pixels.
const EDGE_TOLERANCE_PX: f32 = 3.0;

/// A resting ball loses the part of it within the off-plane margin of the floor (3 cm plus
/// the depth noise term): up to this many pixels at the bottom of its box at 640x480.
const BOTTOM_CUT_TOLERANCE_PX: f32 = 20.0;

fn unpaced_source() -> SyntheticSource {
    let mut source = SyntheticSource::new(SyntheticConfig {
        fps: 0.0,
        ..SyntheticConfig::default()
    })
    .expect("open the synthetic source");
    // A third of a second of scene per frame: frames a few apart show quite different scenes.
    source.set_speed(10.0).expect("speed 10 is allowed");
    source
}

fn view<'a>(frame: &'a CapturedFrame, source: &SyntheticSource) -> FrameView<'a> {
    let info = source.info();
    let geometry = source.geometry();
    FrameView::new(
        geometry.width,
        geometry.height,
        &frame.rgb,
        Some(DepthView {
            z16_le: &frame.depth,
            depth_scale_m: info.depth_scale_m.expect("synthetic frames have depth"),
        }),
        info.intrinsics,
    )
    .expect("synthetic frames fit their geometry")
}

/// Frames 1, 6, 11, ... of a source at ten times speed (several seconds of scene), each with
/// its ground truth as the daemon publishes it (the frame's metadata).
fn scenes(count: usize) -> Vec<(CapturedFrame, Vec<GroundTruthObject>)> {
    let mut source = unpaced_source();
    let mut scenes = Vec::new();
    let mut frame = CapturedFrame::default();
    for index in 0..count * 5 {
        source.next_frame(&mut frame).expect("render a frame");
        if index % 5 == 0 {
            let metadata = source.info().frame_metadata(frame.stamp(), 30.0);
            scenes.push((frame.clone(), metadata.ground_truth));
        }
    }
    scenes
}

fn intrinsics() -> Intrinsics {
    unpaced_source()
        .info()
        .intrinsics
        .expect("synthetic frames have intrinsics")
}

fn detect_all(frame: &CapturedFrame, settings: &DetectSettings) -> Vec<Detection> {
    let source = unpaced_source();
    let mut detector = DepthOnlyDetector::default();
    detector
        .detect(&view(frame, &source), settings)
        .expect("synthetic frames have what the detector needs")
}

fn grown_extent_contains(detection: &Detection, point_m: [f32; 3]) -> bool {
    let Some([min, max]) = detection.position.and_then(|position| position.extent_m) else {
        return false;
    };
    (0..3).all(|axis| {
        point_m[axis] >= min[axis] - EXTENT_GROWTH_M && point_m[axis] <= max[axis] + EXTENT_GROWTH_M
    })
}

fn box_contains(box_px: [f32; 4], pixel: [f32; 2]) -> bool {
    // `project` gives librealsense pixel coordinates (pixel centres at integers); boxes are
    // continuous (pixel c spans c..c + 1).
    let [u, v] = [pixel[0] + 0.5, pixel[1] + 0.5];
    u >= box_px[0] && u <= box_px[2] && v >= box_px[1] && v <= box_px[3]
}

/// The detection that is `object`: its box holds the projected true centre and its grown
/// extent the true centre itself.
fn matching<'a>(
    detections: &'a [Detection],
    object: &GroundTruthObject,
    intrinsics: &Intrinsics,
) -> Vec<&'a Detection> {
    let centre_px = intrinsics.project(object.center_m);
    detections
        .iter()
        .filter(|detection| {
            box_contains(detection.box_px, centre_px)
                && grown_extent_contains(detection, object.center_m)
        })
        .collect()
}

/// The image box of the whole object in continuous pixel coordinates, clipped to the image:
/// for a sphere its silhouette's exact bounds, for anything else the bounds of its axis-aligned
/// box's eight projected corners (which contain its silhouette).
fn projected_box(object: &GroundTruthObject, intrinsics: &Intrinsics) -> [f32; 4] {
    let [cx, cy, cz] = object.center_m;
    let bounds = if object.name.ends_with("sphere") {
        let radius_m = object.size_m[0] / 2.0;
        // Planes through the camera tangent to the sphere: a = c_a / c_z +- ... in closed form.
        let tangent = |c: f32| {
            let denominator = cz * cz - radius_m * radius_m;
            let root = radius_m * (c * c + denominator).sqrt();
            ((c * cz - root) / denominator, (c * cz + root) / denominator)
        };
        let (x_low, x_high) = tangent(cx);
        let (y_low, y_high) = tangent(cy);
        [
            x_low * intrinsics.fx + intrinsics.ppx,
            y_low * intrinsics.fy + intrinsics.ppy,
            x_high * intrinsics.fx + intrinsics.ppx,
            y_high * intrinsics.fy + intrinsics.ppy,
        ]
    } else {
        let half = object.size_m.map(|size| size / 2.0);
        let mut bounds = [
            f32::INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
        ];
        for corner in 0..8 {
            let sign = |bit: usize| if corner >> bit & 1 == 1 { 1.0 } else { -1.0 };
            let point = [
                cx + sign(0) * half[0],
                cy + sign(1) * half[1],
                cz + sign(2) * half[2],
            ];
            let [u, v] = intrinsics.project(point);
            bounds = [
                bounds[0].min(u),
                bounds[1].min(v),
                bounds[2].max(u),
                bounds[3].max(v),
            ];
        }
        bounds
    };
    // Pixel-centre coordinates to continuous ones, clipped.
    [
        (bounds[0] + 0.5).max(0.0),
        (bounds[1] + 0.5).max(0.0),
        (bounds[2] + 0.5).min(intrinsics.width as f32),
        (bounds[3] + 0.5).min(intrinsics.height as f32),
    ]
}

fn overlap(a: [f32; 4], b: [f32; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

fn area(box_px: [f32; 4]) -> f32 {
    (box_px[2] - box_px[0]).max(0.0) * (box_px[3] - box_px[1]).max(0.0)
}

#[test]
fn every_object_in_view_is_found_with_its_true_centre_in_the_grown_extent() {
    let intrinsics = intrinsics();
    let mut found = 0;
    for (frame_index, (frame, truth)) in scenes(8).iter().enumerate() {
        assert!(!truth.is_empty());
        let detections = detect_all(frame, &DetectSettings::default());
        let mut used = vec![false; detections.len()];
        for object in truth {
            let matches = matching(&detections, object, &intrinsics);
            assert_eq!(
                matches.len(),
                1,
                "frame {frame_index}: {} at {:?} matched {matches:?}; all: {detections:#?}",
                object.name,
                object.center_m
            );
            let index = detections
                .iter()
                .position(|detection| std::ptr::eq(detection, matches[0]))
                .unwrap();
            assert!(
                !used[index],
                "frame {frame_index}: two objects in one detection"
            );
            used[index] = true;
            let detection = matches[0];
            let position = detection.position.unwrap();
            // point_m is the centroid of the visible surface: in front of the true centre (nearer
            // the camera), by at most about half the object's depth.
            let in_front_m = object.center_m[2] - position.point_m[2];
            assert!(
                in_front_m > 0.0 && in_front_m <= object.size_m[2] / 2.0 + 0.02,
                "frame {frame_index}: {} point {:?}, centre {:?}",
                object.name,
                position.point_m,
                object.center_m
            );
            assert_eq!(detection.class_id, 0);
            assert_eq!(detection.label, "object");
            assert!((0.25..=1.0).contains(&detection.score), "{detection:?}");
            found += 1;
        }
    }
    assert!(found >= 8 * 3, "{found}");
}

#[test]
fn every_detection_is_a_true_object_and_none_lies_on_the_floor() {
    let intrinsics = intrinsics();
    let everything = DetectSettings {
        score_threshold: 0.0,
        ..DetectSettings::default()
    };
    let mut checked_frames = 0;
    for (frame_index, (frame, truth)) in scenes(8).iter().enumerate() {
        // Only frames where every object's centre is in view: a partly hidden object whose
        // centre is not is rightly detected but absent from the truth.
        if truth.len() < 4 {
            continue;
        }
        checked_frames += 1;
        for detection in detect_all(frame, &everything) {
            let object = truth.iter().find(|object| {
                overlap(detection.box_px, projected_box(object, &intrinsics))
                    && grown_extent_contains(&detection, object.center_m)
            });
            assert!(
                object.is_some(),
                "frame {frame_index}: {detection:?} is none of {truth:?}"
            );
        }
    }
    assert!(checked_frames >= 5, "{checked_frames}");
}

#[test]
fn boxes_agree_with_the_projected_truth() {
    let intrinsics = intrinsics();
    let grow = |box_px: [f32; 4], by: f32| {
        [
            box_px[0] - by,
            box_px[1] - by,
            box_px[2] + by,
            box_px[3] + by,
        ]
    };
    for (frame_index, (frame, truth)) in scenes(8).iter().enumerate() {
        let detections = detect_all(frame, &DetectSettings::default());
        for object in truth {
            let truth_box = projected_box(object, &intrinsics);
            let detection = matching(&detections, object, &intrinsics)[0];
            let detected = detection.box_px;
            let context = format!(
                "frame {frame_index}: {} {detected:?} vs {truth_box:?}",
                object.name
            );
            // The visible surface lies inside the object, so its box inside the object's.
            let outer = grow(truth_box, EDGE_TOLERANCE_PX);
            assert!(
                detected[0] >= outer[0]
                    && detected[1] >= outer[1]
                    && detected[2] <= outer[2]
                    && detected[3] <= outer[3],
                "{context}"
            );
            // Unless another object hides part of it, it fills that box: for a ball to a few
            // pixels (less the bottom, within the floor margin, when it rests on the floor),
            // for the cube at least half of its axis-aligned box's projection.
            let hidden = truth.iter().any(|other| {
                other.name != object.name
                    && other.center_m[2] < object.center_m[2]
                    && overlap(projected_box(other, &intrinsics), truth_box)
            });
            if hidden {
                continue;
            }
            if object.name.ends_with("sphere") {
                assert!(
                    (detected[0] - truth_box[0]).abs() <= EDGE_TOLERANCE_PX,
                    "{context}"
                );
                assert!(
                    (detected[1] - truth_box[1]).abs() <= EDGE_TOLERANCE_PX,
                    "{context}"
                );
                assert!(
                    (detected[2] - truth_box[2]).abs() <= EDGE_TOLERANCE_PX,
                    "{context}"
                );
                assert!(
                    truth_box[3] - detected[3] <= BOTTOM_CUT_TOLERANCE_PX,
                    "{context}"
                );
            } else {
                assert!(area(detected) >= 0.5 * area(truth_box), "{context}");
            }
        }
    }
}

#[test]
fn nothing_is_found_on_the_empty_floor_and_the_plane_is_the_floor() {
    let mut source = unpaced_source();
    let mut background = CapturedFrame::default();
    source.render_background(&mut background).unwrap();
    let mut detector = DepthOnlyDetector::default();
    let everything = DetectSettings {
        score_threshold: 0.0,
        ..DetectSettings::default()
    };
    let detections = detector
        .detect(&view(&background, &source), &everything)
        .unwrap();
    assert_eq!(detections, Vec::new());
    // The synthetic camera stands 1.1 m above the floor, pitched 15 degrees down: the floor's
    // upward normal in the camera frame is (0, -cos 15, -sin 15).
    let fit = detector.plane().unwrap();
    let pitch = 15f32.to_radians();
    let expected = [0.0, -pitch.cos(), -pitch.sin()];
    let cosine: f32 = (0..3)
        .map(|axis| fit.plane.normal[axis] * expected[axis])
        .sum();
    assert!(cosine > 0.1f32.to_radians().cos(), "{fit:?}");
    assert!((fit.plane.offset_m - 1.1).abs() < 0.005, "{fit:?}");
    assert!(fit.inliers * 10 >= fit.points * 9, "{fit:?}");
}

#[test]
fn the_same_frame_gives_the_same_detections() {
    let (frame, _) = scenes(1).remove(0);
    let source = unpaced_source();
    let mut detector = DepthOnlyDetector::default();
    let settings = DetectSettings::default();
    let first = detector.detect(&view(&frame, &source), &settings).unwrap();
    let again = detector.detect(&view(&frame, &source), &settings).unwrap();
    assert_eq!(first, again);
    assert_eq!(first, detect_all(&frame, &settings));
}
