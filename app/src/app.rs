//! The eframe application: the [`Viewer`] in a window, its feeds, and the smoke-test mode.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use camera_sources::synthetic::{SyntheticConfig, SyntheticSource};
use camera_sources::webcam::{open_webcam, WebcamConfig};
use camera_sources::Source;
use egui::ColorImage;
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
}

/// What a smoke test saw; filled in when the window closes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SmokeReport {
    pub counts: FrameCounts,
    /// The source shown at the end ("daemon", "webcam", "none").
    pub source: String,
    /// Where the screenshot went, or why it failed.
    pub screenshot: Option<Result<PathBuf, String>>,
}

struct SmokeRun {
    deadline: Instant,
    screenshot: Option<PathBuf>,
    /// The screenshot, once the renderer delivered it.
    captured: Arc<Mutex<Option<Arc<ColorImage>>>>,
    requested: bool,
    report: Arc<Mutex<SmokeReport>>,
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
        });
        AaaApp { viewer, smoke }
    }

    fn smoke_test_step(&mut self, ctx: &egui::Context) {
        let Some(smoke) = &mut self.smoke else {
            return;
        };
        let now = Instant::now();
        if now < smoke.deadline {
            ctx.request_repaint_after(smoke.deadline - now);
            return;
        }
        if let Some(path) = &smoke.screenshot {
            if !smoke.requested {
                smoke.requested = true;
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
}
