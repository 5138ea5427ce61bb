//! The 2D/3D toggle driven through `egui_kittest` (no GPU here: the point cloud's paint
//! callback is not run, the Xvfb tests in `tests/view3d_screenshot.rs` draw it for real).

use std::path::Path;

use egui_kittest::kittest::Queryable;

use super::tests::{send_frames, viewer_with_fed_daemon, HEIGHT, WIDTH};
use crate::frame::test_frames::plane_frame;
use crate::frame::Frame;
use crate::view::ViewMode;

#[test]
fn the_toolbar_switches_between_images_and_the_point_cloud() {
    let (mut harness, mut daemon_tx) = viewer_with_fed_daemon(Path::new("unused"));
    send_frames(&mut daemon_tx, 1..=1);
    harness.run();
    assert_eq!(harness.state().view_mode(), ViewMode::Images);
    assert!(harness.state().image_rects().color.is_some());

    harness.get_by_label("3D").click();
    harness.run();
    assert_eq!(harness.state().view_mode(), ViewMode::PointCloud);
    let rects = harness.state().image_rects();
    assert!(rects.color.is_none() && rects.depth.is_none());
    let cloud = rects.cloud.expect("the point cloud's place");
    assert!(cloud.width() > 300.0 && cloud.height() > 200.0, "{cloud:?}");
    harness.get_by_label("Reset view");
    assert!(harness.query_all_by_label("Point size").next().is_some());

    // Frames keep coming while the 3D view is up; back in 2D the newest is in the images.
    send_frames(&mut daemon_tx, 2..=2);
    harness.run();
    harness.get_by_label("2D").click();
    harness.run();
    assert_eq!(harness.state().displayed_frame_number(), Some(2));
    let rects = harness.state().image_rects();
    assert!(rects.color.is_some() && rects.depth.is_some() && rects.cloud.is_none());
}

#[test]
fn dragging_orbits_the_frozen_point_cloud_and_reset_brings_it_back() {
    let (mut harness, mut daemon_tx) = viewer_with_fed_daemon(Path::new("unused"));
    send_frames(&mut daemon_tx, 1..=1);
    harness.run();
    harness.get_by_label("3D").click();
    harness.run();
    harness.get_by_label("Freeze").click();
    harness.run();
    let home = harness.state().cloud_camera();
    let cloud = harness.state().image_rects().cloud.unwrap();

    harness.drag_at(cloud.center());
    harness.hover_at(cloud.center() + egui::Vec2::new(-60.0, 30.0));
    harness.drop_at(cloud.center() + egui::Vec2::new(-60.0, 30.0));
    harness.run();
    let turned = harness.state().cloud_camera();
    assert!(turned.yaw_deg > home.yaw_deg + 5.0, "{turned:?}");
    assert!(turned.pitch_deg > home.pitch_deg + 5.0, "{turned:?}");
    assert!(harness.state().frozen_frame().is_some(), "still frozen");

    harness.get_by_label("Reset view").click();
    harness.run();
    assert_eq!(harness.state().cloud_camera(), home);
}

#[test]
fn a_colour_only_source_says_the_3d_view_needs_depth() {
    let (mut harness, mut daemon_tx) = viewer_with_fed_daemon(Path::new("unused"));
    let frame = plane_frame(1, WIDTH, HEIGHT, 1500);
    let colour_only =
        Frame::from_planes(frame.geometry, frame.rgb, &[], frame.metadata, None).unwrap();
    daemon_tx.send_frame(colour_only);
    harness.run();
    harness.get_by_label("3D").click();
    harness.run();
    harness.get_by_label_contains("The 3D view needs depth: the daemon delivers colour only");
    assert_eq!(harness.state().image_rects().cloud, None);
}

#[test]
fn hovering_the_point_cloud_reads_out_the_point_under_the_pointer() {
    let (mut harness, mut daemon_tx) = viewer_with_fed_daemon(Path::new("unused"));
    send_frames(&mut daemon_tx, 1..=1);
    harness.run();
    harness.get_by_label("3D").click();
    harness.run();
    let cloud = harness.state().image_rects().cloud.unwrap();
    // The default view looks out of the camera: the wall 1.5 m ahead fills the middle.
    harness.hover_at(cloud.center());
    harness.run();
    let readout = harness.state().hover_readout().cloned().expect("a readout");
    assert!((readout.depth_m.unwrap() - 1.5).abs() < 1e-5, "{readout:?}");
    let [x, y] = readout.pixel;
    assert!(
        x.abs_diff(WIDTH / 2) <= 2 && y.abs_diff(HEIGHT / 2) <= 2,
        "{readout:?}"
    );
    harness.get_by_label_contains("depth 1.500 m");

    // Beside the wall there is no point.
    harness.hover_at(cloud.min + egui::Vec2::new(3.0, 3.0));
    harness.run();
    assert_eq!(harness.state().hover_readout(), None);
}
