//! Detection in the whole viewer, driven through `egui_kittest`: Freeze detects on a worker,
//! the list and the boxes show the result, thresholds re-run it, hovering links box and row,
//! Save writes the detections, Live follows the live frames, and detector errors are shown.

use std::path::Path;
use std::time::Duration;

use detect::{DetectorChoice, OpenOptions};
use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;

use super::tests::{
    harness_with, no_fallback, send_frames, step_until, viewer_with_fed_daemon, HEIGHT, WIDTH,
};
use super::{BoxSource, Viewer};
use crate::detection::record::DetectionsRecord;
use crate::detection::worker::test_detectors::{fixed_box_opener, gated_fixed_box_opener};
use crate::detection::worker::DetectorOpener;
use crate::feed::{ChannelFeed, FeedEvent, Origin};
use crate::frame::test_frames::scene_frame;
use crate::supervisor::Supervisor;
use crate::view::boxes::box_rect_in;

/// A viewer on a fed daemon feed whose detector is the stand-in `FixedBox` (one box over the
/// middle quarter of the frame, score 0.5) taking `delay` per frame.
fn viewer_with_fixed_box(
    save_folder: &Path,
    delay: Duration,
) -> (Harness<'static, Viewer>, crate::feed::FrameSender) {
    viewer_with_opener(save_folder, fixed_box_opener(delay))
}

/// A viewer on a fed daemon feed whose detector `opener` opens.
fn viewer_with_opener(
    save_folder: &Path,
    opener: DetectorOpener,
) -> (Harness<'static, Viewer>, crate::feed::FrameSender) {
    let (daemon, mut daemon_tx) = ChannelFeed::new(Origin::Daemon);
    let mut viewer = Viewer::new(
        Supervisor::new(Some(Box::new(daemon)), no_fallback()),
        save_folder.to_owned(),
    );
    // Before the first pass, which starts the worker.
    viewer.detection.set_opener(opener);
    let mut harness = Harness::builder()
        .with_size(egui::Vec2::new(1200.0, 600.0))
        .build_ui_state(|ui, viewer: &mut Viewer| viewer.ui(ui), viewer);
    daemon_tx.send_event(FeedEvent::Connected {
        detail: "writer pid 42".to_owned(),
    });
    step_until(&mut harness, "the stand-in detector opened", |h| {
        h.state().active_detector().is_some()
    });
    (harness, daemon_tx)
}

fn freeze_and_wait_for_boxes(harness: &mut Harness<'static, Viewer>) {
    harness.get_by_label("Freeze").click();
    step_until(harness, "the frozen frame's boxes drawn", |h| {
        h.state().freeze_timing().is_some()
    });
}

fn shown_count(harness: &Harness<'static, Viewer>) -> Option<usize> {
    harness
        .state()
        .shown_detections()
        .map(|shown| shown.detections.len())
}

/// True if a list row (a selectable label) containing `text` is shown selected (highlighted).
fn row_highlighted(harness: &Harness<'static, Viewer>, text: &str) -> bool {
    harness.query_all_by_label_contains(text).any(|node| {
        node.accesskit_node()
            .toggled()
            .is_some_and(|toggled| toggled == egui::accesskit::Toggled::True)
    })
}

#[test]
fn freeze_detects_on_the_worker_and_lists_and_draws_the_result() {
    let (mut harness, mut daemon_tx) = viewer_with_fixed_box(Path::new("unused"), Duration::ZERO);
    send_frames(&mut daemon_tx, 1..=3);
    harness.run();
    harness.get_by_label("Freeze a frame (Space) to detect on it, or switch Live on");
    assert!(harness.state().shown_detections().is_none());

    freeze_and_wait_for_boxes(&mut harness);
    let viewer = harness.state();
    let shown = viewer.shown_detections().expect("the result is shown");
    assert_eq!(shown.source, BoxSource::Frozen);
    assert_eq!(shown.frame_number, 3);
    assert_eq!(shown.detections.len(), 1);
    let timing = viewer.freeze_timing().unwrap();
    assert_eq!(timing.frame_number, 3);
    assert!(timing.request_to_boxes_ms >= timing.request_to_result_ms);
    harness.get_by_label("1 detection (frozen, frame 3)");
    // The plane is 1.5 m away; the box's centre is the image centre.
    harness.get_by_label_contains("#1 thing 0.50  1.50 m  (");
    harness.get_by_label_contains("Frame 3: detected in");
    harness.get_by_label_contains("shown after");

    // New frames do not change what is frozen and detected.
    send_frames(&mut daemon_tx, 4..=5);
    harness.run();
    assert_eq!(harness.state().shown_detections().unwrap().frame_number, 3);

    harness.get_by_label("Unfreeze").click();
    harness.run();
    assert!(harness.state().shown_detections().is_none());
    assert!(harness.query_by_label_contains("#1 thing").is_none());
}

#[test]
fn changing_a_threshold_detects_the_frozen_frame_again() {
    let (mut harness, mut daemon_tx) = viewer_with_fixed_box(Path::new("unused"), Duration::ZERO);
    send_frames(&mut daemon_tx, 1..=1);
    harness.run();
    freeze_and_wait_for_boxes(&mut harness);
    assert_eq!(shown_count(&harness), Some(1));

    // The stand-in's box scores 0.5.
    harness
        .get_by_role_and_label(Role::Slider, "Score threshold")
        .set_value_accesskit(0.6);
    step_until(&mut harness, "no detection above 0.6", |h| {
        shown_count(h) == Some(0)
    });
    harness.get_by_label("0 detections (frozen, frame 1)");

    harness
        .get_by_role_and_label(Role::Slider, "Score threshold")
        .set_value_accesskit(0.4);
    step_until(&mut harness, "the box is back above 0.4", |h| {
        shown_count(h) == Some(1)
    });
    harness.get_by_label_contains("#1 thing 0.50");
}

#[test]
fn hovering_a_box_highlights_its_row_and_hovering_the_row_its_box() {
    let (mut harness, mut daemon_tx) = viewer_with_fixed_box(Path::new("unused"), Duration::ZERO);
    send_frames(&mut daemon_tx, 1..=1);
    harness.run();
    freeze_and_wait_for_boxes(&mut harness);
    assert!(!row_highlighted(&harness, "#1 thing"));

    let rects = harness.state().image_rects();
    let detection_box = harness.state().shown_detections().unwrap().detections[0].box_px;
    for image_rect in [rects.color.unwrap(), rects.depth.unwrap()] {
        let on_screen = box_rect_in(image_rect, [WIDTH, HEIGHT], detection_box);
        harness.hover_at(on_screen.center());
        harness.run();
        assert_eq!(harness.state().highlighted_detection(), Some(0));
        assert!(row_highlighted(&harness, "#1 thing"));
        // Outside the box, in the same image.
        harness.hover_at(image_rect.min + egui::vec2(2.0, 2.0));
        harness.run();
        assert_eq!(harness.state().highlighted_detection(), None);
        assert!(!row_highlighted(&harness, "#1 thing"));
    }

    harness.get_by_label_contains("#1 thing").hover();
    harness.run();
    assert_eq!(harness.state().highlighted_detection(), Some(0));
}

#[test]
fn save_writes_the_detections_beside_the_frame() {
    let folder = tempfile::tempdir().unwrap();
    let save_folder = folder.path().join("captures");
    let (mut harness, mut daemon_tx) = viewer_with_fixed_box(&save_folder, Duration::ZERO);
    send_frames(&mut daemon_tx, 8..=8);
    harness.run();
    freeze_and_wait_for_boxes(&mut harness);
    harness.get_by_label("Save").click();
    step_until(&mut harness, "saved", |h| h.state().last_saved().is_some());

    let files = harness.state().last_saved().unwrap().clone();
    let detections_json = files.detections_json.expect("detections were saved");
    assert_eq!(detections_json.parent(), files.color_png.parent());
    assert!(detections_json
        .to_string_lossy()
        .ends_with("_detections.json"));
    let record: DetectionsRecord =
        serde_json::from_slice(&std::fs::read(&detections_json).unwrap()).unwrap();
    assert_eq!(record.result.frame_number, 8);
    assert_eq!(record.result.detections.len(), 1);
    assert_eq!(record.detector, "depth");
    assert_eq!(record.model_path, None);
    assert_eq!(record.score_threshold, 0.25);
    assert_eq!(record.iou_threshold, 0.7);
    assert!(record.timings.request_to_result_ms >= record.timings.inference_ms);
}

#[test]
fn a_frame_saved_before_its_detection_finished_has_no_detections_file() {
    let folder = tempfile::tempdir().unwrap();
    // The detector stays on the frozen frame until the gate releases it.
    let (opener, gate) = gated_fixed_box_opener();
    let (mut harness, mut daemon_tx) = viewer_with_opener(folder.path(), opener);
    send_frames(&mut daemon_tx, 2..=2);
    harness.run();
    harness.get_by_label("Freeze").click();
    harness.step();
    gate.wait_started();
    assert!(harness.state().is_detecting_frozen());
    harness.get_by_label("Save").click();
    step_until(&mut harness, "saved", |h| h.state().last_saved().is_some());
    let files = harness.state().last_saved().unwrap().clone();
    assert_eq!(files.detections_json, None);
    harness.get_by_label("Detecting frame 2…");

    // The detection finishing later does not add a detections file to the saved frame.
    gate.release();
    step_until(&mut harness, "the frozen frame's boxes drawn", |h| {
        h.state().freeze_timing().is_some()
    });
    let saved_folder = files.color_png.parent().unwrap();
    let detection_files: Vec<_> = std::fs::read_dir(saved_folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .filter(|name| name.to_string_lossy().ends_with("_detections.json"))
        .collect();
    assert!(detection_files.is_empty(), "{detection_files:?}");
}

#[test]
fn live_detection_follows_the_frames_without_holding_the_display() {
    // A detector far slower than the frames.
    let (mut harness, mut daemon_tx) =
        viewer_with_fixed_box(Path::new("unused"), Duration::from_millis(300));
    send_frames(&mut daemon_tx, 1..=1);
    harness.run();
    harness.get_by_label("Live").click();
    harness.run();
    let mut frame_number = 1;
    // Each frame is on screen at the next pass, however busy the detector is.
    for _ in 0..10 {
        frame_number += 1;
        send_frames(&mut daemon_tx, frame_number..=frame_number);
        harness.step();
        assert_eq!(harness.state().displayed_frame_number(), Some(frame_number));
    }
    // With the frames stopped, the newest frame's result arrives and is drawn over it.
    step_until(&mut harness, "live boxes over the newest frame", |h| {
        h.state().shown_detections().is_some_and(|shown| {
            shown.source == BoxSource::Live && shown.frame_number == frame_number
        })
    });
    harness.get_by_label(&format!("1 detection (live, frame {frame_number})"));

    // A result too old for the shown frame is not drawn.
    let stale = frame_number + 3;
    send_frames(&mut daemon_tx, stale..=stale);
    harness.step();
    let shown = harness.state().shown_detections().cloned();
    assert!(
        shown
            .as_ref()
            .is_none_or(|shown| stale - shown.frame_number <= 2),
        "{shown:?}"
    );

    harness.get_by_label("Live").click();
    harness.run();
    send_frames(&mut daemon_tx, stale + 1..=stale + 1);
    harness.run();
    assert!(harness.state().shown_detections().is_none());
}

#[test]
fn a_model_that_cannot_be_opened_is_reported_in_the_panel_and_depth_stays() {
    let folder = tempfile::tempdir().unwrap();
    let bad_model = folder.path().join("not-a-model.onnx");
    std::fs::write(&bad_model, b"these bytes are no ONNX model").unwrap();
    let (mut harness, mut daemon_tx) = viewer_with_fed_daemon(Path::new("unused"));
    send_frames(&mut daemon_tx, 1..=1);
    step_until(&mut harness, "a detector open or failed", |h| {
        h.state().active_detector().is_some()
            || h.query_all_by_label_contains("No detector")
                .next()
                .is_some()
    });
    let depth_active = harness.state().active_detector().is_some();

    harness
        .get_by_role_and_label(Role::TextInput, "Model:")
        .focus();
    harness.run();
    harness
        .get_by_role_and_label(Role::TextInput, "Model:")
        .type_text(&bad_model.display().to_string());
    harness.run();
    harness.get_by_label("Load").click();
    step_until(&mut harness, "the model's error shown", |h| {
        h.query_all_by_label_contains("not-a-model.onnx")
            .any(|node| {
                let node = node.accesskit_node();
                let text = node.label().or(node.value()).unwrap_or_default();
                !text.starts_with("Opening detector")
            })
    });
    if depth_active {
        harness.get_by_label_contains("(still using depth)");
        assert_eq!(
            harness
                .state()
                .active_detector()
                .map(|(choice, _)| choice.clone()),
            Some(DetectorChoice::Depth)
        );
    }
}

#[test]
fn a_bad_model_given_at_launch_leaves_no_detector_and_says_why() {
    let (daemon, mut daemon_tx) = ChannelFeed::new(Origin::Daemon);
    let viewer = Viewer::new(
        Supervisor::new(Some(Box::new(daemon)), no_fallback()),
        "unused".into(),
    )
    .with_detector(
        DetectorChoice::Model("/nonexistent/yolo.onnx".into()),
        OpenOptions::default(),
    );
    let mut harness = Harness::builder()
        .with_size(egui::Vec2::new(1200.0, 600.0))
        .build_ui_state(|ui, viewer: &mut Viewer| viewer.ui(ui), viewer);
    daemon_tx.send_event(FeedEvent::Connected {
        detail: "writer pid 42".to_owned(),
    });
    send_frames(&mut daemon_tx, 1..=1);
    step_until(&mut harness, "no detector", |h| {
        h.query_all_by_label("No detector").next().is_some()
    });
    harness.get_by_label_contains("/nonexistent/yolo.onnx");
    // Freezing still works; detection says why it cannot run.
    harness.get_by_label("Freeze").click();
    step_until(&mut harness, "the failure shown", |h| {
        h.query_all_by_label_contains("Detection failed: no detector is open")
            .next()
            .is_some()
    });
    assert!(harness.state().shown_detections().is_none());
}

#[test]
fn the_depth_only_detector_finds_the_synthetic_scenes_objects() {
    let (daemon, mut daemon_tx) = ChannelFeed::new(Origin::Daemon);
    let mut harness = harness_with(
        Supervisor::new(Some(Box::new(daemon)), no_fallback()),
        Path::new("unused"),
    );
    daemon_tx.send_event(FeedEvent::Connected {
        detail: "writer pid 42".to_owned(),
    });
    let frame = scene_frame(320, 240);
    let frame_number = frame.frame_number;
    daemon_tx.send_frame(frame);
    step_until(&mut harness, "the depth-only detector opened", |h| {
        h.state().active_detector().is_some()
    });
    harness.get_by_label("Detector: depth");
    freeze_and_wait_for_boxes(&mut harness);

    let shown = harness.state().shown_detections().cloned().unwrap();
    assert_eq!(shown.frame_number, frame_number);
    assert!(
        shown.detections.len() >= 2,
        "the balls and the cube stand on the floor: {shown:?}"
    );
    for (index, detection) in shown.detections.iter().enumerate() {
        assert_eq!(detection.label, "object");
        let position = detection.position.expect("the scene has depth everywhere");
        assert!((1.0..8.0).contains(&position.distance_m), "{detection:?}");
        harness.get_by_label_contains(&format!("#{} object", index + 1));
    }
    harness.get_by_label_contains(&format!("detections (frozen, frame {frame_number})"));

    // The highest threshold keeps only what stands out most clearly (or nothing).
    let all = shown.detections.len();
    harness
        .get_by_role_and_label(Role::Slider, "Score threshold")
        .set_value_accesskit(0.99);
    step_until(&mut harness, "fewer detections above 0.99", |h| {
        shown_count(h).is_some_and(|count| count < all)
    });
    let strict = harness.state().shown_detections().cloned().unwrap();
    assert!(strict.detections.iter().all(|d| d.score >= 0.99));
    assert!(harness
        .query_by_label_contains(&format!("#{all} object"))
        .is_none());
}

#[test]
fn the_daemons_detections_are_drawn_over_their_frame_or_one_at_most_two_frames_newer() {
    use shmproto::{Detection, DetectionResult, DetectionsWriter, DetectionsWriterConfig};

    let runtime_dir = tempfile::tempdir().unwrap();
    let namespace = shmproto::Namespace::new(&format!("appdv{}", std::process::id())).unwrap();
    let (daemon, mut daemon_tx) = ChannelFeed::new(Origin::Daemon);
    let viewer = Viewer::new(
        Supervisor::new(Some(Box::new(daemon)), no_fallback()),
        "unused".into(),
    )
    .with_daemon(
        crate::launcher::DaemonSettings {
            namespace: namespace.clone(),
            runtime_dir: Some(runtime_dir.path().to_owned()),
            source: shmproto::SourceKind::Synthetic,
            binary: None,
        },
        false,
    );
    let mut harness = Harness::builder()
        .with_size(egui::Vec2::new(1200.0, 600.0))
        .build_ui_state(|ui, viewer: &mut Viewer| viewer.ui(ui), viewer);
    daemon_tx.send_event(FeedEvent::Connected {
        detail: "writer pid 42".to_owned(),
    });
    send_frames(&mut daemon_tx, 4..=4);
    step_until(&mut harness, "no detections segment", |h| {
        h.query_all_by_label_contains("Daemon detections: none")
            .next()
            .is_some()
    });

    let mut writer =
        DetectionsWriter::create(DetectionsWriterConfig::new(namespace.clone())).unwrap();
    let result = DetectionResult {
        frame_number: 5,
        frame_publish_mono_ns: shmproto::monotonic_now_ns(),
        detector: shmproto::DetectorInfo {
            format: "yolo".to_owned(),
            model: Some("yolo11n.onnx".to_owned()),
        },
        score_threshold: 0.25,
        inference_ms: 12.0,
        detections: vec![Detection {
            class_id: 0,
            label: "person".to_owned(),
            score: 0.8,
            box_px: [10.0, 10.0, 60.0, 90.0],
            position: None,
            position_missing: Some("the frame has no depth".to_owned()),
        }],
    };
    step_until(&mut harness, "attached to the detections", |h| {
        h.query_all_by_label_contains("Daemon detections: waiting for results")
            .next()
            .is_some()
    });
    writer.publish(&result).unwrap();
    // The result is for frame 5; frame 4 is shown: not drawn over an older frame.
    step_until(&mut harness, "the result read", |h| {
        h.query_all_by_label_contains("Daemon detections: yolo11n.onnx (yolo)")
            .next()
            .is_some()
    });
    assert!(harness.state().shown_detections().is_none());

    for (frame_number, drawn) in [(5, true), (6, true), (7, true), (8, false)] {
        send_frames(&mut daemon_tx, frame_number..=frame_number);
        harness.run();
        let shown = harness.state().shown_detections().cloned();
        assert_eq!(shown.is_some(), drawn, "frame {frame_number}: {shown:?}");
        if let Some(shown) = shown {
            assert_eq!(shown.source, BoxSource::Daemon);
            assert_eq!(shown.frame_number, 5);
            assert_eq!(shown.frames_behind, frame_number - 5);
            assert_eq!(
                harness.state().drawn_boxes().len(),
                2,
                "over colour and depth"
            );
            harness.get_by_label_contains("#1 person 0.80  no 3D point: the frame has no depth");
        }
    }

    // The app's Live takes precedence over the daemon's detections.
    writer
        .publish(&DetectionResult {
            frame_number: 9,
            ..result.clone()
        })
        .unwrap();
    send_frames(&mut daemon_tx, 9..=9);
    step_until(&mut harness, "the daemon's result for frame 9", |h| {
        h.state()
            .shown_detections()
            .is_some_and(|shown| shown.frame_number == 9)
    });
    harness.get_by_label("Live").click();
    harness.run();
    harness.get_by_label_contains("(hidden while the app's Live runs)");
    assert!(harness
        .state()
        .shown_detections()
        .is_none_or(|shown| shown.source == BoxSource::Live));
}

/// A remote camera's feed in a test: frames by hand, and the detection results that came with
/// them.
struct RemoteTestFeed {
    frames: ChannelFeed,
    detections: std::sync::Arc<std::sync::Mutex<Vec<shmproto::DetectionResult>>>,
}

impl crate::feed::FrameFeed for RemoteTestFeed {
    fn origin(&self) -> Origin {
        self.frames.origin()
    }

    fn link(&self) -> &crate::feed::FrameLink {
        self.frames.link()
    }

    fn take_detections(&self) -> Vec<shmproto::DetectionResult> {
        std::mem::take(&mut *self.detections.lock().unwrap())
    }
}

#[test]
fn a_remote_cameras_detections_are_drawn_over_its_frames() {
    use crate::feed::FrameFeed;
    use shmproto::{Detection, DetectionResult};

    let (frames, mut remote_tx) = ChannelFeed::new(Origin::Remote);
    let detections = std::sync::Arc::default();
    let feed = RemoteTestFeed {
        frames,
        detections: std::sync::Arc::clone(&detections),
    };
    assert_eq!(feed.origin(), Origin::Remote);
    let viewer = Viewer::new(
        Supervisor::new(Some(Box::new(feed)), no_fallback()),
        "unused".into(),
    );
    let mut harness = Harness::builder()
        .with_size(egui::Vec2::new(1200.0, 600.0))
        .build_ui_state(|ui, viewer: &mut Viewer| viewer.ui(ui), viewer);
    remote_tx.send_event(FeedEvent::Connected {
        detail: "tcp/127.0.0.1:7447, key aaa/cam/default".to_owned(),
    });
    send_frames(&mut remote_tx, 3..=3);
    detections.lock().unwrap().push(DetectionResult {
        frame_number: 3,
        frame_publish_mono_ns: 0,
        detector: shmproto::DetectorInfo {
            format: "depth".to_owned(),
            model: None,
        },
        score_threshold: 0.25,
        inference_ms: 2.0,
        detections: vec![Detection {
            class_id: 0,
            label: "object".to_owned(),
            score: 0.9,
            box_px: [10.0, 10.0, 60.0, 90.0],
            position: None,
            position_missing: Some("the frame has no depth".to_owned()),
        }],
    });
    step_until(&mut harness, "the remote result drawn", |h| {
        h.state().shown_detections().is_some()
    });
    let shown = harness.state().shown_detections().cloned().unwrap();
    assert_eq!(shown.source, BoxSource::Daemon);
    assert_eq!(shown.detections.len(), 1);
    harness.get_by_label_contains("Remote daemon detections: depth");
    // A later frame far from the result: no stale boxes.
    send_frames(&mut remote_tx, 9..=9);
    harness.run();
    assert!(harness.state().shown_detections().is_none());
}
