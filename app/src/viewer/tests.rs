//! Interaction tests of the whole viewer, driven through `egui_kittest` with sources fed by the
//! test (the real `FrameFeed` trait, real frames).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::Vec2;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use shmproto::SourceKind;

use super::Viewer;
use crate::feed::{ChannelFeed, FeedEvent, FrameSender, Origin};
use crate::frame::test_frames::plane_frame;
use crate::save::load_saved_frame;
use crate::supervisor::{Fallback, Supervisor};
use crate::view::pixel_centre_in;

pub(super) const WIDTH: u32 = 160;
pub(super) const HEIGHT: u32 = 120;

pub(super) fn harness_with(supervisor: Supervisor, save_folder: &Path) -> Harness<'static, Viewer> {
    Harness::builder()
        .with_size(Vec2::new(1200.0, 600.0))
        .build_ui_state(
            |ui, viewer: &mut Viewer| viewer.ui(ui),
            Viewer::new(supervisor, save_folder.to_owned()),
        )
}

pub(super) fn no_fallback() -> Fallback {
    Fallback::Unavailable("disabled with --no-webcam".to_owned())
}

/// A viewer whose daemon feed the test fills, already connected.
pub(super) fn viewer_with_fed_daemon(
    save_folder: &Path,
) -> (Harness<'static, Viewer>, FrameSender) {
    let (daemon, mut daemon_tx) = ChannelFeed::new(Origin::Daemon);
    let supervisor = Supervisor::new(Some(Box::new(daemon)), no_fallback());
    daemon_tx.send_event(FeedEvent::Connected {
        detail: "writer pid 42".to_owned(),
    });
    (harness_with(supervisor, save_folder), daemon_tx)
}

pub(super) fn send_frames(sender: &mut FrameSender, numbers: std::ops::RangeInclusive<u64>) {
    for number in numbers {
        sender.send_frame(plane_frame(number, WIDTH, HEIGHT, 1500));
    }
}

/// Counts the requests for an immediate repaint (what a worker does per frame).
pub(super) fn count_immediate_repaints(ctx: &egui::Context) -> Arc<AtomicU32> {
    let woken = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&woken);
    ctx.set_request_repaint_callback(move |info| {
        if info.delay.is_zero() {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    woken
}

/// How long a test waits for something a worker thread does. Generous: a loaded machine (two
/// cores shared with builds and other tests) may take seconds for what usually takes
/// milliseconds, and a passing test never waits this long.
pub(super) const WITHIN: Duration = Duration::from_secs(30);

/// Steps the UI one pass at a time (workers on other threads wake it on their own time) until
/// `done` holds, then once more so that the accessibility tree shows what `done` saw.
///
/// Never `Harness::run` here: it waits for the UI to stop asking for repaints, which a live
/// feed never does (each frame asks for one), so whether it settles within its step limit
/// depends on how fast the feed's frames arrive against how fast the test steps.
pub(super) fn step_until(
    harness: &mut Harness<'static, Viewer>,
    what: &str,
    done: impl Fn(&Harness<'static, Viewer>) -> bool,
) {
    let deadline = Instant::now() + WITHIN;
    loop {
        harness.step();
        if done(harness) {
            harness.step();
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not reached within {WITHIN:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn status_bar_names_the_source_and_its_state() {
    let (mut harness, mut daemon_tx) = viewer_with_fed_daemon(Path::new("unused"));
    send_frames(&mut daemon_tx, 1..=2);
    harness.run();

    harness.get_by_label("Source: daemon");
    harness.get_by_label("live");
    harness.get_by_label(&format!("{WIDTH}x{HEIGHT}"));
    harness.get_by_label("frame 2");
    harness.get_by_label_contains("publish to display");
    // Both frames arrived before the GUI ran: the first was replaced, never shown.
    harness.get_by_label("dropped 1");
    assert_eq!(
        harness.state().counts(),
        super::FrameCounts {
            received: 2,
            displayed: 1
        }
    );
}

#[test]
fn freeze_holds_the_frame_while_the_source_advances_and_unfreeze_jumps_to_the_newest() {
    let (mut harness, mut daemon_tx) = viewer_with_fed_daemon(Path::new("unused"));
    send_frames(&mut daemon_tx, 1..=3);
    harness.run();
    assert_eq!(harness.state().displayed_frame_number(), Some(3));

    let woken = count_immediate_repaints(&harness.ctx);
    harness.get_by_label("Freeze").click();
    harness.run();
    harness.get_by_label("FROZEN");
    woken.store(0, Ordering::Relaxed);
    send_frames(&mut daemon_tx, 4..=9);
    assert_eq!(
        woken.load(Ordering::Relaxed),
        0,
        "frames do not wake a frozen viewer"
    );
    harness.run();
    assert_eq!(harness.state().displayed_frame_number(), Some(3));
    harness.get_by_label("frame 3");
    let frozen = harness
        .state()
        .frozen_frame()
        .map(|frozen| frozen.frame_number());
    assert_eq!(frozen, Some(3));

    harness.get_by_label("Unfreeze").click();
    harness.run();
    woken.store(0, Ordering::Relaxed);
    send_frames(&mut daemon_tx, 9..=9);
    assert_eq!(
        woken.load(Ordering::Relaxed),
        1,
        "each frame wakes a live viewer"
    );
    harness.run();
    assert_eq!(harness.state().displayed_frame_number(), Some(9));
    harness.get_by_label("frame 9");
    assert!(harness.query_by_label("FROZEN").is_none());
    assert!(harness.state().frozen_frame().is_none());

    // Space does the same.
    harness.key_press(egui::Key::Space);
    harness.run();
    send_frames(&mut daemon_tx, 10..=11);
    harness.run();
    assert_eq!(harness.state().displayed_frame_number(), Some(9));
    harness.key_press(egui::Key::Space);
    harness.run();
    assert_eq!(harness.state().displayed_frame_number(), Some(11));
}

#[test]
fn saving_the_frozen_frame_writes_three_files_that_read_back_equal() {
    let folder = tempfile::tempdir().unwrap();
    let save_folder = folder.path().join("captures");
    let (mut harness, mut daemon_tx) = viewer_with_fed_daemon(&save_folder);
    send_frames(&mut daemon_tx, 5..=5);
    harness.run();
    harness.get_by_label("Freeze").click();
    harness.run();
    harness.get_by_label("Save").click();
    step_until(&mut harness, "saved", |h| h.state().last_saved().is_some());

    harness.get_by_label(&format!("saved to {}", save_folder.display()));
    let viewer = harness.state();
    let files = viewer.last_saved().unwrap().clone();
    let depth_png = files.depth_png.clone().expect("the frame has depth");
    for path in [&files.color_png, &depth_png, &files.metadata_json] {
        assert!(
            path.starts_with(&save_folder) && path.exists(),
            "{}",
            path.display()
        );
    }
    let loaded = load_saved_frame(&files).unwrap();
    let frozen = viewer.frozen_frame().unwrap();
    assert_eq!(loaded.rgb(), frozen.rgb());
    assert_eq!(loaded.depth_units(), frozen.depth_units());
    assert_eq!(loaded.metadata(), frozen.metadata());
    assert_eq!(loaded.geometry(), frozen.geometry());
}

#[test]
fn hovering_a_pixel_reads_out_its_depth_and_3d_point() {
    let (mut harness, mut daemon_tx) = viewer_with_fed_daemon(Path::new("unused"));
    let frame = plane_frame(1, WIDTH, HEIGHT, 1500);
    let pixel = [40, 90];
    let intrinsics = frame.metadata.intrinsics.unwrap();
    // The frame stores 1500 units of 0.001 m.
    let depth_m = 1500.0f32 * 0.001;
    let [x, y, z] = intrinsics.deproject([40.0, 90.0], depth_m);
    daemon_tx.send_frame(frame);
    harness.run();

    for rect in [
        harness.state().image_rects().depth,
        harness.state().image_rects().color,
    ] {
        let rect = rect.expect("both images are drawn");
        let aspect = rect.width() / rect.height();
        assert!(
            (aspect - WIDTH as f32 / HEIGHT as f32).abs() < 0.01,
            "aspect {aspect}"
        );
        harness.hover_at(pixel_centre_in(rect, [WIDTH, HEIGHT], pixel));
        harness.run();
        let readout = harness
            .state()
            .hover_readout()
            .cloned()
            .expect("a pixel is hovered");
        assert_eq!(readout.pixel, pixel);
        assert_eq!(readout.depth_m, Some(depth_m));
        assert_eq!(readout.point_in_camera, Some([x, y, z]));
        harness.get_by_label_contains("depth 1.500 m");
        harness.get_by_label_contains(&format!("point ({x:.3}, {y:.3}, {z:.3}) m"));
        harness.get_by_label_contains("pixel (40, 90)");
    }
}

#[test]
fn without_daemon_and_webcam_the_screen_says_what_to_do() {
    let (daemon, mut daemon_tx) = ChannelFeed::new(Origin::Daemon);
    daemon_tx.send_event(FeedEvent::Searching {
        detail: "aaa_rgb_frame (namespace (default))".to_owned(),
    });
    let mut harness = harness_with(
        Supervisor::new(Some(Box::new(daemon)), no_fallback()),
        Path::new("unused"),
    );
    harness.run();

    harness.get_by_label("No camera");
    harness
        .get_by_label("Daemon: not running (aaa_rgb_frame (namespace (default)) does not exist)");
    harness.get_by_label("Webcam: disabled with --no-webcam");
    harness.get_by_label_contains("make daemon-start");
    harness.get_by_label_contains("plug in a camera");
    harness.get_by_label("Source: none");
    harness.get_by_label("no source");
}

#[test]
fn a_lost_daemon_is_reported_at_once_and_the_webcam_stands_in_until_it_returns() {
    let (daemon, mut daemon_tx) = ChannelFeed::new(Origin::Daemon);
    let (webcam, mut webcam_tx) = ChannelFeed::new(Origin::InApp(SourceKind::Webcam));
    let mut webcam = Some(webcam);
    let fallback = Fallback::Feed(Box::new(move || {
        webcam
            .take()
            .map(|webcam| Box::new(webcam) as Box<dyn crate::feed::FrameFeed>)
            .ok_or_else(|| "this test has one webcam".to_owned())
    }));
    let mut harness = harness_with(
        Supervisor::new(Some(Box::new(daemon)), fallback),
        Path::new("unused"),
    );
    daemon_tx.send_event(FeedEvent::Connected {
        detail: "writer pid 42".to_owned(),
    });
    send_frames(&mut daemon_tx, 1..=1);
    harness.run();
    harness.get_by_label("Source: daemon");

    let reason = "writer gone (process 42 no longer exists)";
    daemon_tx.send_event(FeedEvent::Lost {
        reason: reason.to_owned(),
    });
    // As the real worker does when the dead writer's segments are still there.
    daemon_tx.send_event(FeedEvent::OpenFailed {
        error: format!("segments of namespace test are not usable: {reason}"),
    });
    harness.run();
    harness.get_by_label("Source: none");
    harness.get_by_label(&format!("daemon gone: {reason}; reconnecting"));
    harness.get_by_label_contains("Showing the last frame from the daemon");

    webcam_tx.send_event(FeedEvent::Connected {
        detail: "USB camera".to_owned(),
    });
    let mut webcam_frame = plane_frame(100, WIDTH, HEIGHT, 0);
    webcam_frame.depth_units = None;
    webcam_frame.geometry.depth = None;
    webcam_frame.publish_mono_ns = None;
    webcam_tx.send_frame(webcam_frame);
    harness.run();
    harness.get_by_label("Source: webcam");
    harness.get_by_label("live");
    harness.get_by_label(&format!("daemon gone: {reason}; reconnecting"));
    harness.get_by_label_contains("capture to display");
    assert_eq!(harness.state().displayed_frame_number(), Some(100));

    daemon_tx.send_event(FeedEvent::Connected {
        detail: "writer pid 43".to_owned(),
    });
    send_frames(&mut daemon_tx, 1..=1);
    harness.run();
    harness.get_by_label("Source: daemon");
    assert!(harness.query_by_label_contains("daemon gone").is_none());
    assert!(
        webcam_tx.is_viewer_gone(),
        "the webcam is released when the daemon is back"
    );
}

#[test]
fn the_synthetic_scene_runs_in_the_app_through_a_local_feed() {
    use camera_sources::synthetic::{SyntheticConfig, SyntheticSource};

    use crate::feed::local::{DeviceLease, LocalFeed};

    let fallback = Fallback::Feed(Box::new(|| {
        let opener: crate::feed::local::SourceOpener = Box::new(|| {
            let config = SyntheticConfig {
                width: WIDTH,
                height: HEIGHT,
                ..SyntheticConfig::default()
            };
            SyntheticSource::new(config)
                .map(|source| Box::new(source) as Box<dyn camera_sources::Source>)
        });
        LocalFeed::spawn(SourceKind::Synthetic, opener, DeviceLease::default())
            .map(|feed| Box::new(feed) as Box<dyn crate::feed::FrameFeed>)
            .map_err(|err| err.to_string())
    }));
    let mut harness = harness_with(Supervisor::new(None, fallback), &PathBuf::from("unused"));
    // The scene runs at 30 fps and asks for a repaint per frame: the UI never settles, so
    // this test only steps (see `step_until`).
    step_until(&mut harness, "three frames displayed", |h| {
        h.state().counts().displayed >= 3
    });
    harness.get_by_label("Source: synthetic (in-app)");
    let readout_pixel = [WIDTH / 2, HEIGHT / 2];
    let rect = harness
        .state()
        .image_rects()
        .depth
        .expect("the scene has depth");
    harness.hover_at(pixel_centre_in(rect, [WIDTH, HEIGHT], readout_pixel));
    step_until(&mut harness, "the hovered pixel's readout", |h| {
        h.state().hover_readout().is_some()
    });
    let readout = harness.state().hover_readout().cloned().expect("hovered");
    assert!(
        readout.depth_m.is_some_and(|depth_m| depth_m > 0.1),
        "{readout:?}"
    );
    assert!(readout.point_in_camera.is_some());
}

#[test]
fn a_source_that_stops_delivering_turns_stale_without_anyone_waking_the_viewer() {
    let (mut harness, mut daemon_tx) = viewer_with_fed_daemon(Path::new("unused"));
    send_frames(&mut daemon_tx, 1..=1);
    harness.run();
    harness.get_by_label("live");
    // In the app the viewer's own delayed repaint request wakes it after the limit; here the test
    // steps.
    std::thread::sleep(super::STALE_AFTER + Duration::from_millis(100));
    harness.step();
    harness.get_by_label_contains("stale: no frame for");
    send_frames(&mut daemon_tx, 2..=2);
    harness.run();
    harness.get_by_label("live");
}

fn daemon_settings(runtime_dir: &Path) -> crate::launcher::DaemonSettings {
    crate::launcher::DaemonSettings {
        namespace: shmproto::Namespace::new(&format!("appv{}", std::process::id())).unwrap(),
        runtime_dir: Some(runtime_dir.to_owned()),
        source: shmproto::SourceKind::Synthetic,
        binary: None,
    }
}

/// True if a node whose label contains `text` is shown and disabled.
fn shown_disabled(harness: &Harness<'static, Viewer>, text: &str) -> bool {
    use egui_kittest::kittest::NodeT;
    harness
        .query_all_by_label_contains(text)
        .any(|node| node.accesskit_node().is_disabled())
}

#[test]
fn the_panels_explain_why_they_are_disabled_when_the_source_is_not_the_daemon() {
    let runtime_dir = tempfile::tempdir().unwrap();
    let (daemon, mut daemon_tx) = ChannelFeed::new(Origin::Daemon);
    let (webcam, mut webcam_tx) = ChannelFeed::new(Origin::InApp(SourceKind::Webcam));
    let mut webcam = Some(webcam);
    let fallback = Fallback::Feed(Box::new(move || {
        webcam
            .take()
            .map(|webcam| Box::new(webcam) as Box<dyn crate::feed::FrameFeed>)
            .ok_or_else(|| "this test has one webcam".to_owned())
    }));
    let viewer = Viewer::new(
        Supervisor::new(Some(Box::new(daemon)), fallback),
        "unused".into(),
    )
    .with_daemon(daemon_settings(runtime_dir.path()), false);
    let mut harness = Harness::builder()
        .with_size(Vec2::new(1200.0, 600.0))
        .build_ui_state(|ui, viewer: &mut Viewer| viewer.ui(ui), viewer);
    daemon_tx.send_event(FeedEvent::Searching {
        detail: "aaa_rgb_frame".to_owned(),
    });
    harness.run();
    harness.get_by_label("Controls").click();
    harness.run();
    harness.get_by_label("Health").click();
    harness.run();
    assert!(shown_disabled(
        &harness,
        "No daemon is connected (daemon: not running"
    ));
    assert!(shown_disabled(&harness, "Controls appear when it runs"));
    assert!(shown_disabled(
        &harness,
        "Health metrics appear when it runs"
    ));

    webcam_tx.send_event(FeedEvent::Connected {
        detail: "USB camera".to_owned(),
    });
    harness.run();
    harness.get_by_label("Source: webcam");
    assert!(shown_disabled(
        &harness,
        "The shown source is the webcam, run inside the app: it has no controls"
    ));
    assert!(shown_disabled(&harness, "it has no health metrics"));
    assert!(harness.state().daemon_controls().is_none());
}

#[test]
fn a_daemon_whose_command_socket_is_unreachable_gets_a_disabled_panel_with_a_retry() {
    let runtime_dir = tempfile::tempdir().unwrap();
    let (daemon, mut daemon_tx) = ChannelFeed::new(Origin::Daemon);
    let viewer = Viewer::new(
        Supervisor::new(Some(Box::new(daemon)), no_fallback()),
        "unused".into(),
    )
    .with_daemon(daemon_settings(runtime_dir.path()), false);
    let mut harness = Harness::builder()
        .with_size(Vec2::new(1200.0, 600.0))
        .build_ui_state(|ui, viewer: &mut Viewer| viewer.ui(ui), viewer);
    daemon_tx.send_event(FeedEvent::Connected {
        detail: "writer pid 42".to_owned(),
    });
    send_frames(&mut daemon_tx, 1..=1);
    harness.run();
    harness.get_by_label("Controls").click();
    step_until(&mut harness, "the controls failed", |h| {
        matches!(
            h.state().daemon_controls().map(|controls| controls.list()),
            Some(crate::control_link::ControlList::Failed(_))
        )
    });
    assert!(shown_disabled(
        &harness,
        "Cannot control the daemon: cannot reach the daemon's command socket"
    ));
    harness.get_by_label("Retry");
}

#[test]
fn a_live_writer_reads_as_paused_or_alive_but_not_publishing_and_a_closed_one_as_gone() {
    use shmproto::{Geometry, SourceState, Writer, WriterConfig, WriterStatus};

    use crate::feed::daemon::DaemonFeed;

    let namespace = shmproto::Namespace::new(&format!("avhung{}", std::process::id())).unwrap();
    let feed = DaemonFeed::spawn(namespace.clone()).unwrap();
    let mut harness = harness_with(
        Supervisor::new(Some(Box::new(feed)), no_fallback()),
        Path::new("unused"),
    );
    let mut writer = Writer::create(WriterConfig::new(
        namespace.clone(),
        Geometry::rgbd(WIDTH, HEIGHT),
    ))
    .unwrap();
    let status = |state, message: Option<&str>| WriterStatus {
        state,
        message: message.map(str::to_owned),
        source_kind: SourceKind::Other,
        source_description: "app test writer".to_owned(),
        updated_wall_ns: shmproto::wall_now_ns(),
        extra: serde_json::Value::Null,
    };
    writer
        .set_status(&status(SourceState::Streaming, None))
        .unwrap();
    let frame = plane_frame(1, WIDTH, HEIGHT, 1500);
    let depth: Vec<u8> = frame
        .depth_units
        .as_ref()
        .unwrap()
        .iter()
        .flat_map(|units| units.to_le_bytes())
        .collect();
    writer
        .publish(&frame.rgb, Some(&depth), &frame.metadata)
        .unwrap();
    let label_shown = |text: &'static str| {
        move |harness: &Harness<'static, Viewer>| {
            harness.query_all_by_label_contains(text).next().is_some()
        }
    };
    step_until(&mut harness, "live", label_shown("live"));

    writer
        .set_status(&status(SourceState::Error, Some("camera unplugged")))
        .unwrap();
    step_until(
        &mut harness,
        "not publishing",
        label_shown("daemon alive but not publishing: camera unplugged"),
    );

    writer
        .set_status(&status(SourceState::Paused, None))
        .unwrap();
    step_until(
        &mut harness,
        "paused",
        label_shown("daemon paused (alive, not publishing)"),
    );

    writer
        .set_status(&status(SourceState::Streaming, None))
        .unwrap();
    step_until(
        &mut harness,
        "not publishing while streaming",
        label_shown("daemon alive but not publishing: no new frame for over 2 s while its status says streaming"),
    );

    drop(writer);
    step_until(
        &mut harness,
        "gone",
        label_shown("daemon gone: writer stopped"),
    );
}
