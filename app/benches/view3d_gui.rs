//! GUI-thread CPU per shown frame: the 3D view against the 2D view, at 640x480 and 1280x720.
//!
//! Each iteration hands the viewer a new frame of the synthetic scene (through the same
//! channel a feed uses; not timed) and times one whole pass on the GUI thread with the thread
//! CPU clock: `Viewer::ui` (taking the frame, preparing what is drawn, laying out the panels)
//! and egui's tessellation of the output. The 2D view converts the colour plane and colours
//! the depth plane into egui images; the 3D view hands the frame's planes, as they are, to its
//! paint callback. Not timed in either: the OpenGL driver's copy of the texture bytes (4 + 4
//! bytes per pixel in 2D, 3 + 2 in 3D) and the GPU's drawing, which a headless pass cannot run.
//!
//! Target (issue 15): the 3D pass costs no more than the 2D pass. The summary after criterion's
//! output prints both medians and their ratio, measured in the same run.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use app::feed::{ChannelFeed, FeedEvent, FrameSender, Origin};
use app::frame::Frame;
use app::supervisor::{Fallback, Supervisor};
use app::view::ViewMode;
use app::view3d::camera::{OrbitAngles, OrbitCamera};
use app::viewer::Viewer;
use camera_sources::synthetic::{SyntheticConfig, SyntheticSource};
use camera_sources::{CapturedFrame, Source};
use criterion::{criterion_group, Criterion};
use test_support::thread_cpu_time;

const SIZES: [(u32, u32); 2] = [(640, 480), (1280, 720)];
const MODES: [(ViewMode, &str); 2] = [(ViewMode::Images, "2d"), (ViewMode::PointCloud, "3d")];
/// The window the passes lay out, in points (the app's default window).
const WINDOW: egui::Vec2 = egui::Vec2::new(1320.0, 640.0);

/// The synthetic scene's first frame at `width` x `height`.
fn scene_frame(width: u32, height: u32) -> Frame {
    let mut source = SyntheticSource::new(SyntheticConfig {
        width,
        height,
        fps: 0.0,
        ..SyntheticConfig::default()
    })
    .expect("the synthetic scene opens");
    let mut captured = CapturedFrame::default();
    source.next_frame(&mut captured).expect("a frame");
    let metadata = source.info().frame_metadata(captured.stamp(), 30.0);
    let rgb = std::mem::take(&mut captured.rgb);
    Frame::from_planes(source.geometry(), rgb, &captured.depth, metadata, None)
        .expect("the scene's planes fit its geometry")
}

/// A viewer in `mode` fed by the bench, its context, and the sender.
struct Gui {
    ctx: egui::Context,
    viewer: Viewer,
    sender: FrameSender,
    frame: Frame,
    number: u64,
}

impl Gui {
    fn new(mode: ViewMode, frame: Frame) -> Self {
        let (feed, mut sender) = ChannelFeed::new(Origin::Daemon);
        sender.send_event(FeedEvent::Connected {
            detail: "bench".to_owned(),
        });
        let supervisor = Supervisor::new(
            Some(Box::new(feed)),
            Fallback::Unavailable("bench".to_owned()),
        );
        let camera = OrbitCamera::with_angles(OrbitAngles {
            yaw_deg: 25.0,
            pitch_deg: 15.0,
        });
        let viewer = Viewer::new(supervisor, PathBuf::from("unused")).with_view(mode, camera);
        let mut gui = Gui {
            ctx: egui::Context::default(),
            viewer,
            sender,
            frame,
            number: 0,
        };
        // Warm up: fonts, layouts, the buffers the 2D view reuses.
        for _ in 0..5 {
            gui.send_frame();
            gui.pass();
        }
        gui
    }

    /// A new frame into the feed (as a feed's worker does; not the GUI thread's work).
    fn send_frame(&mut self) {
        self.number += 1;
        let mut frame = self.frame.clone();
        frame.frame_number = self.number;
        self.sender.send_frame(frame);
    }

    /// One GUI pass, as eframe runs it before painting.
    fn pass(&mut self) {
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, WINDOW)),
            ..Default::default()
        };
        let viewer = &mut self.viewer;
        let mut output = self.ctx.run_ui(input, |ui| viewer.ui(ui));
        let shapes = std::mem::take(&mut output.shapes);
        black_box(self.ctx.tessellate(shapes, output.pixels_per_point));
        // What the renderer does once it uploaded the textures (the 2D view's buffers return).
        output.textures_delta.clear();
    }

    /// GUI-thread CPU time of one pass showing a new frame.
    fn timed_pass(&mut self) -> Duration {
        self.send_frame();
        let start = thread_cpu_time();
        self.pass();
        thread_cpu_time().saturating_sub(start)
    }
}

fn bench_view3d_gui(c: &mut Criterion) {
    for (width, height) in SIZES {
        let frame = scene_frame(width, height);
        let mut group = c.benchmark_group(format!("gui_pass/{width}x{height}"));
        for (mode, name) in MODES {
            let mut gui = Gui::new(mode, frame.clone());
            assert_eq!(gui.viewer.view_mode(), mode);
            group.bench_function(name, |b| {
                b.iter_custom(|iterations| (0..iterations).map(|_| gui.timed_pass()).sum())
            });
            assert!(gui.viewer.counts().displayed > 5, "the frames were shown");
        }
        group.finish();
    }
}

/// Median GUI-thread CPU of `passes` passes.
fn median_pass(gui: &mut Gui, passes: usize) -> Duration {
    let mut times: Vec<Duration> = (0..passes).map(|_| gui.timed_pass()).collect();
    times.sort();
    times[times.len() / 2]
}

/// The summary after criterion's: per-frame GUI CPU of both views and their ratio, measured
/// here, alternating the views so that both see the same machine.
fn print_summary() {
    println!(
        "\nview3d_gui summary (median GUI-thread CPU per shown frame, this machine, this run):"
    );
    for (width, height) in SIZES {
        let frame = scene_frame(width, height);
        let mut images = Gui::new(ViewMode::Images, frame.clone());
        let mut cloud = Gui::new(ViewMode::PointCloud, frame);
        let (mut images_ms, mut cloud_ms) = (Vec::new(), Vec::new());
        for _round in 0..5 {
            images_ms.push(median_pass(&mut images, 41).as_secs_f64() * 1e3);
            cloud_ms.push(median_pass(&mut cloud, 41).as_secs_f64() * 1e3);
        }
        let median = |values: &mut Vec<f64>| {
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        };
        let (images_ms, cloud_ms) = (median(&mut images_ms), median(&mut cloud_ms));
        let ratio = cloud_ms / images_ms.max(1e-9);
        let verdict = if ratio <= 1.0 { "within" } else { "OVER" };
        println!(
            "  {width}x{height}: 3D {cloud_ms:.3} ms, 2D {images_ms:.3} ms per frame: 3D/2D = {ratio:.2} ({verdict} the target 3D <= 2D)"
        );
    }
}

criterion_group!(benches, bench_view3d_gui);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_summary();
}
