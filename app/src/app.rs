//! The eframe application: the [`Viewer`] in a window, its feeds, and the smoke-test mode
//! (optionally freezing a frame and waiting for its detection boxes before the screenshot).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use camera_sources::synthetic::{SyntheticConfig, SyntheticSource};
use camera_sources::webcam::{open_webcam, WebcamConfig};
use camera_sources::Source;
use egui::ColorImage;
use serde::Serialize;
use shmproto::{Namespace, SourceKind};

use crate::feed::daemon::DaemonFeed;
use crate::feed::local::{DeviceLease, LocalFeed, SourceOpener};
use crate::feed::FrameFeed;
use crate::supervisor::{Fallback, Supervisor};
use crate::viewer::{FrameCounts, Viewer};

/// What stands in for the daemon when it is not there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FallbackChoice {
    /// The first webcam (needs the cargo feature `webcam`).
    Webcam,
    /// The daemon's synthetic 3D scene, rendered inside the app.
    Synthetic,
    /// Nothing: wait for the daemon.
    Nothing,
}

/// Watches `namespace` for the daemon and prepares the fallback.
pub fn start_feeds(namespace: Namespace, fallback: FallbackChoice) -> std::io::Result<Supervisor> {
    let daemon = DaemonFeed::spawn(namespace)?;
    let fallback = match fallback {
        FallbackChoice::Nothing => Fallback::Unavailable("disabled with --no-webcam".to_owned()),
        FallbackChoice::Webcam if !camera_sources::webcam::WEBCAM_BUILT => Fallback::Unavailable(
            "the webcam fallback is not built into this binary (rebuild with --features webcam)"
                .to_owned(),
        ),
        FallbackChoice::Webcam => local_fallback(SourceKind::Webcam, || {
            Box::new(|| open_webcam(&WebcamConfig::default()))
        }),
        FallbackChoice::Synthetic => local_fallback(SourceKind::Synthetic, || {
            Box::new(|| {
                SyntheticSource::new(SyntheticConfig::default())
                    .map(|source| Box::new(source) as Box<dyn Source>)
            })
        }),
    };
    Ok(Supervisor::new(Some(Box::new(daemon)), fallback))
}

/// Shows the camera a Zenoh bridge publishes under `prefix` (`aaa --remote`), in the daemon's
/// place and with no fallback. A bad endpoint or configuration file is an error here.
#[cfg(feature = "zenoh")]
pub fn start_remote_feed(
    settings: &zenoh_bridge::SessionSettings,
    prefix: &zenoh_bridge::KeyPrefix,
) -> Result<Supervisor, zenoh_bridge::BridgeError> {
    let remote = crate::feed::remote::RemoteFeed::spawn(settings, prefix)?;
    Ok(Supervisor::new(
        Some(Box::new(remote)),
        Fallback::Unavailable("not used while showing a remote camera".to_owned()),
    ))
}

/// A fallback that runs a fresh worker over the same device each time the daemon is gone.
fn local_fallback(kind: SourceKind, make_opener: fn() -> SourceOpener) -> Fallback {
    let lease = DeviceLease::default();
    Fallback::Feed(Box::new(move || {
        LocalFeed::spawn(kind, make_opener(), Arc::clone(&lease))
            .map(|feed| Box::new(feed) as Box<dyn FrameFeed>)
            .map_err(|err| format!("cannot start the {kind} worker thread: {err}"))
    }))
}

/// `--smoke-test`: run for a while, then report what was received and shown.
#[derive(Debug, Clone)]
pub struct SmokeTest {
    pub duration: Duration,
    /// Where to save a screenshot of the window just before exiting.
    pub screenshot: Option<PathBuf>,
    /// Freeze the third frame shown and end (screenshot included) once its detection boxes
    /// are drawn, or at `duration` at the latest.
    pub freeze_and_detect: bool,
}

/// Frames shown before `--freeze-and-detect` freezes one (the first may come from a source
/// still settling).
const FRAMES_BEFORE_FREEZE: u64 = 3;

/// What `--freeze-and-detect` saw: the frozen frame's detection and where its boxes were drawn.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SmokeDetection {
    pub frame_number: u64,
    pub detector: String,
    pub detections: usize,
    pub inference_ms: f32,
    /// From Freeze to the result in the GUI.
    pub freeze_to_result_ms: f32,
    /// From Freeze to the pass that drew the boxes.
    pub freeze_to_boxes_ms: f32,
    /// The boxes on screen, `[x1, y1, x2, y2]` in the screenshot's pixels, over the colour
    /// image then over the depth image; in the 3D view the screen rectangles of the markers.
    pub boxes_px: Vec<[f32; 4]>,
    /// Where each box's caption (label, score, distance) went, in the same order and pixels.
    pub captions_px: Vec<[f32; 4]>,
    /// Where the colour and the depth images (or the 3D view) were drawn, in the same pixels.
    pub images_px: Vec<[f32; 4]>,
    pub labels: Vec<String>,
}

/// What the 3D view showed in the screenshot: where, from where, and the shown frame's ground
/// truth (the synthetic scene's), so that a test can project it and look at the pixels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SmokeView3d {
    pub frame_number: u64,
    /// Where the point cloud was drawn, `[x1, y1, x2, y2]` in the screenshot's pixels.
    pub view_px: [f32; 4],
    pub target_m: [f32; 3],
    pub yaw_deg: f32,
    pub pitch_deg: f32,
    pub distance_m: f32,
    pub ground_truth: Vec<shmproto::GroundTruthObject>,
}

/// What a smoke test saw; filled in when the window closes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SmokeReport {
    pub counts: FrameCounts,
    /// The source shown at the end ("daemon", "webcam", "none").
    pub source: String,
    /// Where the screenshot went, or why it failed.
    pub screenshot: Option<Result<PathBuf, String>>,
    /// With `freeze_and_detect`: the boxes drawn, `None` if none were in time.
    pub detection: Option<SmokeDetection>,
    /// The 3D view at the screenshot, when it was up.
    pub view3d: Option<SmokeView3d>,
}

struct SmokeRun {
    deadline: Instant,
    screenshot: Option<PathBuf>,
    /// The screenshot, once the renderer delivered it.
    captured: Arc<Mutex<Option<Arc<ColorImage>>>>,
    requested: bool,
    report: Arc<Mutex<SmokeReport>>,
    freeze_and_detect: bool,
    frozen: bool,
}

/// The eframe application.
pub struct AaaApp {
    viewer: Viewer,
    smoke: Option<SmokeRun>,
}

impl AaaApp {
    /// `report` receives the smoke test's results (if `smoke_test` is given).
    pub fn new(
        viewer: Viewer,
        smoke_test: Option<SmokeTest>,
        report: Arc<Mutex<SmokeReport>>,
    ) -> Self {
        let smoke = smoke_test.map(|smoke_test| SmokeRun {
            deadline: Instant::now() + smoke_test.duration,
            screenshot: smoke_test.screenshot,
            captured: Arc::default(),
            requested: false,
            report,
            freeze_and_detect: smoke_test.freeze_and_detect,
            frozen: false,
        });
        AaaApp { viewer, smoke }
    }

    fn smoke_test_step(&mut self, ctx: &egui::Context) {
        let Some(smoke) = &mut self.smoke else {
            return;
        };
        let now = Instant::now();
        let ready = if smoke.freeze_and_detect {
            if !smoke.frozen && self.viewer.counts().displayed >= FRAMES_BEFORE_FREEZE {
                // The detection's result wakes the GUI.
                self.viewer.toggle_freeze(ctx);
                smoke.frozen = true;
            }
            if smoke.report_mut().detection.is_none() {
                if let Some(detection) = drawn_detection(&self.viewer, ctx.pixels_per_point()) {
                    tracing::info!(
                        "smoke test: frame {} frozen, {} detections drawn {:.1} ms after Freeze (inference {:.1} ms)",
                        detection.frame_number,
                        detection.detections,
                        detection.freeze_to_boxes_ms,
                        detection.inference_ms
                    );
                    smoke.report_mut().detection = Some(detection);
                }
            }
            smoke.report_mut().detection.is_some() || now >= smoke.deadline
        } else {
            now >= smoke.deadline
        };
        if !ready {
            ctx.request_repaint_after(smoke.deadline.saturating_duration_since(now));
            return;
        }
        if let Some(path) = &smoke.screenshot {
            if !smoke.requested {
                smoke.requested = true;
                // The screenshot shows this pass.
                smoke.report_mut().view3d = drawn_view3d(&self.viewer, ctx.pixels_per_point());
                let captured = Arc::clone(&smoke.captured);
                let repaint = ctx.clone();
                ctx.request_screenshot(move |image| {
                    *captured
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(image);
                    repaint.request_repaint();
                });
                return;
            }
            let image = smoke
                .captured
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take();
            let Some(image) = image else {
                // Not rendered yet; the callback wakes us.
                return;
            };
            let saved = save_screenshot(&image, path).map(|()| path.clone());
            smoke.report_mut().screenshot = Some(saved);
        }
        let status = self.viewer.status_line();
        let mut report = smoke.report_mut();
        report.counts = self.viewer.counts();
        report.source = status.source;
        drop(report);
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }
}

/// The frozen frame's detection, once its boxes were drawn, with the boxes in screen pixels.
fn drawn_detection(viewer: &Viewer, pixels_per_point: f32) -> Option<SmokeDetection> {
    let timing = viewer.freeze_timing()?;
    let shown = viewer.shown_detections()?;
    let in_pixels = |rect: egui::Rect| {
        let rect = rect * pixels_per_point;
        [rect.min.x, rect.min.y, rect.max.x, rect.max.y]
    };
    let drawn = viewer.drawn_boxes();
    Some(SmokeDetection {
        frame_number: timing.frame_number,
        detector: shown.detector.clone(),
        detections: timing.detections,
        inference_ms: timing.inference_ms,
        freeze_to_result_ms: timing.request_to_result_ms,
        freeze_to_boxes_ms: timing.request_to_boxes_ms,
        boxes_px: drawn
            .iter()
            .map(|drawn| in_pixels(drawn.box_rect))
            .collect(),
        captions_px: drawn
            .iter()
            .map(|drawn| in_pixels(drawn.caption_rect))
            .collect(),
        images_px: [
            viewer.image_rects().color,
            viewer.image_rects().depth,
            viewer.image_rects().cloud,
        ]
        .into_iter()
        .flatten()
        .map(in_pixels)
        .collect(),
        labels: shown
            .detections
            .iter()
            .map(|detection| detection.label.clone())
            .collect(),
    })
}

/// The 3D view as this pass drew it, `None` when it is not up.
fn drawn_view3d(viewer: &Viewer, pixels_per_point: f32) -> Option<SmokeView3d> {
    let rect = viewer.image_rects().cloud? * pixels_per_point;
    let frame = viewer.shown_frame()?;
    let camera = viewer.cloud_camera();
    Some(SmokeView3d {
        frame_number: frame.frame_number,
        view_px: [rect.min.x, rect.min.y, rect.max.x, rect.max.y],
        target_m: camera.target_m,
        yaw_deg: camera.yaw_deg,
        pitch_deg: camera.pitch_deg,
        distance_m: camera.distance_m,
        ground_truth: frame.metadata.ground_truth.clone(),
    })
}

impl SmokeRun {
    fn report_mut(&self) -> std::sync::MutexGuard<'_, SmokeReport> {
        self.report
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn save_screenshot(image: &ColorImage, path: &std::path::Path) -> Result<(), String> {
    let [width, height] = image.size;
    let rgba: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(|pixel| pixel.to_array())
        .collect();
    let Some(buffer) = image::RgbaImage::from_raw(width as u32, height as u32, rgba) else {
        return Err(format!(
            "screenshot of {width}x{height} has the wrong number of pixels"
        ));
    };
    buffer
        .save(path)
        .map_err(|err| format!("cannot write the screenshot {}: {err}", path.display()))
}

impl eframe::App for AaaApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.viewer.ui(ui);
        let ctx = ui.ctx().clone();
        self.smoke_test_step(&ctx);
    }

    fn on_exit(&mut self, gl: Option<&eframe::glow::Context>) {
        if let Some(gl) = gl {
            self.viewer.cloud_renderer().destroy(gl);
        }
    }
}
