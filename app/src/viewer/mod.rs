//! The viewer's state and its whole UI, independent of the window (tests drive it with
//! `egui_kittest`; `app.rs` puts it in an eframe window).
//!
//! [`Viewer`] is a composition, one part per concern and file:
//! - `display.rs`: the frame on screen (shown or frozen), its textures and depth colouring, the
//!   images and the hovered pixel;
//! - `stats.rs`: the frames the feeds delivered and the shown feed's rate;
//! - `saving.rs`: writing the frozen frame (and its detections) on a thread of its own;
//! - `recording.rs`: the **Record** button's recorder process (`aaa-camera-daemon record`);
//! - `detection_panel.rs`: detection on the frozen frame and on live frames, the daemon's
//!   detections, the boxes over the images and the detection panel;
//! - `daemon_start.rs`: the "Start daemon" button and `--start-daemon`;
//! - `controls_panel.rs`, `health_panel.rs`: the side panels of the connected daemon;
//! - `status.rs`: what the status bar and the no-source screen say, and the repaints no worker
//!   asks for.
//!
//! This file takes in what the feeds sent ([`Viewer::update`]) and lays the panels out
//! ([`Viewer::ui`]); the panels themselves draw in `crate::view`.

mod controls_panel;
mod daemon_start;
mod detection_panel;
mod display;
mod health_panel;
mod recording;
mod saving;
mod stats;
mod status;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use detect::{DetectorChoice, DetectorInfo, OpenOptions};
use egui::Key;

use crate::control_link::DaemonControls;
use crate::feed::Origin;
use crate::frame::FrozenFrame;
use crate::launcher::{DaemonLauncher, DaemonSettings};
use crate::recorder::RecordingEnd;
use crate::save::SavedFiles;
use crate::supervisor::Supervisor;
use crate::view::hover::HoverReadout;
use crate::view::no_source::no_source_ui;
use crate::view::status_bar::{status_bar_ui, StatusLine};
use crate::view::toolbar::{self, Toolbar, ToolbarAction};
use crate::view::ViewMode;
use crate::view3d::camera::OrbitCamera;
use crate::view3d::lines::Lines;
use controls_panel::ControlsPanel;
use daemon_start::DaemonStart;
use detection_panel::DetectionPanel;
use display::FrameDisplay;
use health_panel::HealthPanel;
use recording::Recording;
use saving::Saving;
use stats::FeedStats;
use status::Messages;

pub use crate::health::STALE_AFTER;
pub use crate::view::boxes::DrawnBox;
pub use crate::view::detection::{BoxSource, ShownDetections};
pub use detection_panel::FreezeTiming;
pub use display::ImageRects;
pub use stats::FrameCounts;

/// The viewer: the feeds, the frame on screen, saving, and the daemon's panels.
pub struct Viewer {
    supervisor: Supervisor,
    display: FrameDisplay,
    stats: FeedStats,
    saving: Saving,
    messages: Messages,
    daemon_start: DaemonStart,
    controls: ControlsPanel,
    health: HealthPanel,
    detection: DetectionPanel,
    recording: Recording,
}

impl Viewer {
    pub fn new(supervisor: Supervisor, save_folder: PathBuf) -> Self {
        Viewer {
            supervisor,
            display: FrameDisplay::default(),
            stats: FeedStats::default(),
            saving: Saving::new(&save_folder),
            messages: Messages::default(),
            daemon_start: DaemonStart::default(),
            controls: ControlsPanel::default(),
            health: HealthPanel::default(),
            detection: DetectionPanel::new(DetectorChoice::Depth, OpenOptions::default()),
            recording: Recording::default(),
        }
    }

    /// Detects with `choice` (the depth-only detector unless told otherwise), opened with
    /// `options` (`--model`, `--onnxruntime`, `--labels`).
    pub fn with_detector(mut self, choice: DetectorChoice, options: OpenOptions) -> Self {
        self.detection.set_detector(choice, options);
        self
    }

    /// Starts in `mode`, the 3D view seen from `camera` (also where Reset puts it).
    pub fn with_view(mut self, mode: ViewMode, camera: OrbitCamera) -> Self {
        *self.display.view_mode_mut() = mode;
        let cloud = self.display.cloud_mut();
        cloud.camera = camera;
        cloud.home = camera;
        self
    }

    pub fn view_mode(&self) -> ViewMode {
        self.display.view_mode()
    }

    /// The 3D view's camera, as the last pass drew with it.
    pub fn cloud_camera(&self) -> OrbitCamera {
        self.display.cloud().camera
    }

    /// The 3D view's renderer (its GPU state; freed with [`crate::view3d::renderer::CloudRenderer::destroy`]).
    pub fn cloud_renderer(&self) -> &std::sync::Arc<crate::view3d::renderer::CloudRenderer> {
        self.display.cloud().renderer()
    }

    /// The frame on screen (the frozen one while frozen).
    pub fn shown_frame(&self) -> Option<&Arc<crate::frame::Frame>> {
        self.display.shown().map(|shown| &shown.frame)
    }

    /// Lets the viewer control and start the daemon described by `settings`; with
    /// `start_when_missing` it starts one as soon as it learns that none runs.
    pub fn with_daemon(mut self, settings: DaemonSettings, start_when_missing: bool) -> Self {
        self.detection
            .set_daemon_namespace(settings.namespace.clone());
        self.daemon_start = DaemonStart::new(settings, start_when_missing);
        self
    }

    /// The daemon launcher, if the viewer knows the daemon's settings.
    pub fn launcher(&self) -> Option<&DaemonLauncher> {
        self.daemon_start.launcher()
    }

    /// The controls of the connected daemon, while one is connected.
    pub fn daemon_controls(&self) -> Option<&DaemonControls> {
        self.controls.daemon_controls()
    }

    pub fn supervisor_mut(&mut self) -> &mut Supervisor {
        &mut self.supervisor
    }

    /// Number of the frame on screen (the frozen one while frozen).
    pub fn displayed_frame_number(&self) -> Option<u64> {
        self.display.frame_number()
    }

    /// The frozen frame, ready for a detector.
    pub fn frozen_frame(&self) -> Option<&FrozenFrame> {
        self.display.frozen()
    }

    pub fn counts(&self) -> FrameCounts {
        FrameCounts {
            received: self.stats.received(),
            displayed: self.display.displayed(),
        }
    }

    /// Where the images were drawn in the last pass.
    pub fn image_rects(&self) -> ImageRects {
        self.display.image_rects()
    }

    /// The readout of the hovered pixel in the last pass.
    pub fn hover_readout(&self) -> Option<&HoverReadout> {
        self.display.hover_readout()
    }

    /// The files of the last successful save.
    pub fn last_saved(&self) -> Option<&SavedFiles> {
        self.saving.last_saved()
    }

    pub fn is_saving(&self) -> bool {
        self.saving.is_saving()
    }

    /// The MCAP file of the recording running or last started from the Record button.
    pub fn recording_file(&self) -> Option<&std::path::Path> {
        self.recording.last_file()
    }

    /// Whether a recording is running.
    pub fn is_recording(&self) -> bool {
        self.recording.status().is_some()
    }

    /// The detections drawn over the shown frame in the last pass.
    pub fn shown_detections(&self) -> Option<&ShownDetections> {
        self.detection.shown()
    }

    /// The boxes drawn in the last pass (in points): over the colour image, then over the depth
    /// image, each in the order of [`Self::shown_detections`].
    pub fn drawn_boxes(&self) -> &[DrawnBox] {
        self.detection.drawn_boxes()
    }

    /// The detection highlighted (its box or its list row is hovered), an index into
    /// [`Self::shown_detections`].
    pub fn highlighted_detection(&self) -> Option<usize> {
        self.detection.highlighted()
    }

    /// The detector that runs, once one opened.
    pub fn active_detector(&self) -> Option<&(DetectorChoice, DetectorInfo)> {
        self.detection.active_detector()
    }

    /// How long the frozen frame's detection took, once its boxes were drawn.
    pub fn freeze_timing(&self) -> Option<FreezeTiming> {
        self.detection.freeze_timing()
    }

    /// True while the frozen frame is being detected.
    pub fn is_detecting_frozen(&self) -> bool {
        self.detection.is_detecting_frozen()
    }

    /// Freezes the shown frame, or unfreezes (the newest frame is shown at the next pass).
    pub fn toggle_freeze(&mut self, ctx: &egui::Context) {
        self.display.toggle_freeze(ctx);
        match self.display.frozen() {
            Some(frozen) => self.detection.on_freeze(frozen.shared_frame(), ctx),
            None => self.detection.on_unfreeze(),
        }
    }

    /// Takes in what the feeds, the save thread and the daemon's workers sent since the last
    /// pass.
    pub fn update(&mut self, ctx: &egui::Context) {
        self.supervisor.poll(ctx);
        self.poll_save();
        self.poll_recording(ctx);
        self.daemon_start.poll(&self.supervisor, ctx);
        self.controls
            .follow(&self.supervisor, self.daemon_start.launcher(), ctx);
        self.health.follow(&self.supervisor);
        self.detection.poll(ctx);
        if let Some((feed, _)) = self.supervisor.shown_feed() {
            let results = feed.take_detections();
            if !results.is_empty() {
                self.detection.take_remote_results(results);
            }
        }
        self.take_newest_frame(ctx);
        let shown_frame = self
            .display
            .shown()
            .map(|shown| (shown.frame.frame_number, shown.origin));
        self.detection.select(shown_frame);
    }

    /// Draws the whole viewer into `ui` (the window's root).
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.update(&ctx);
        if !ctx.egui_wants_keyboard_input() && ui.input(|input| input.key_pressed(Key::Space)) {
            self.toggle_freeze(&ctx);
        }

        egui::Panel::top("toolbar").show(ui, |ui| self.toolbar_ui(ui));
        if let Err(err) = self.display.refresh_textures(&ctx) {
            self.messages.problem = Some(err.to_string());
        }

        let status = self.status_line();
        egui::Panel::bottom("status_bar").show(ui, |ui| status_bar_ui(ui, &status));

        if self.controls.is_open() || self.health.is_open() || self.detection.is_open() {
            egui::Panel::right("daemon_panels")
                .resizable(true)
                .default_size(340.0)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical().show(ui, |ui| self.side_panels_ui(ui));
                });
        }

        egui::CentralPanel::default().show(ui, |ui| self.central_ui(ui, &status));

        status::schedule_repaint(&ctx, self.display.is_frozen(), &status);
    }

    /// Counts what the shown feed received and shows its newest frame (unless frozen).
    fn take_newest_frame(&mut self, ctx: &egui::Context) {
        let Some((feed, _)) = self.supervisor.shown_feed() else {
            return;
        };
        let link = feed.link();
        let frozen = self.display.is_frozen();
        link.set_live_view(!frozen);
        self.stats.observe(link, Instant::now());
        if frozen {
            return;
        }
        let Some(frame) = link.take_newest_frame() else {
            return;
        };
        let frame = Arc::new(frame);
        let origin = feed.origin();
        match self.display.show(ctx, Arc::clone(&frame), origin) {
            Ok(publish_latency_ms) => {
                if let Some(publish_latency_ms) = publish_latency_ms {
                    self.health.observe_latency(publish_latency_ms);
                }
                self.detection.on_frame_shown(&frame, origin);
            }
            Err(err) => {
                tracing::error!("{err}");
                self.messages.problem = Some(err.to_string());
            }
        }
    }

    fn save_frozen(&mut self, ctx: &egui::Context) {
        let Some(frozen) = self.display.frozen() else {
            return;
        };
        let detections = self.detection.record_for(frozen.frame_number());
        match self.saving.start(frozen.clone(), detections, ctx) {
            Ok(()) => self.messages.notice = Some("saving...".to_owned()),
            Err(error) => self.messages.problem = Some(error),
        }
    }

    fn poll_save(&mut self) {
        match self.saving.poll() {
            None => {}
            Some(Ok(folder)) => {
                self.messages.notice = Some(format!("saved to {folder}"));
                self.messages.problem = None;
            }
            Some(Err(error)) => {
                tracing::error!("saving the frozen frame failed: {error}");
                self.messages.notice = None;
                self.messages.problem = Some(format!("save failed: {error}"));
            }
        }
    }

    fn poll_recording(&mut self, ctx: &egui::Context) {
        match self.recording.poll(ctx) {
            None => {}
            Some(RecordingEnd::Finished { path, summary }) => {
                self.messages.notice = Some(format!("recorded {}: {summary}", path.display()));
                self.messages.problem = None;
            }
            Some(RecordingEnd::Failed { path, error }) => {
                tracing::error!("recording {} failed: {error}", path.display());
                self.messages.problem = Some(format!("recording failed: {error}"));
            }
        }
    }

    fn start_recording(&mut self) {
        let Some(launcher) = self.daemon_start.launcher() else {
            return;
        };
        let folder = PathBuf::from(self.saving.folder_mut().trim());
        match self.recording.start(launcher.settings(), &folder) {
            Ok(()) => self.messages.problem = None,
            Err(error) => self.messages.problem = Some(format!("cannot record: {error}")),
        }
    }

    fn toolbar_ui(&mut self, ui: &mut egui::Ui) {
        let saving = self.saving.is_saving();
        let mut view_mode = self.display.view_mode();
        let can_record = self.daemon_start.launcher().is_some()
            && self
                .supervisor
                .daemon_connection()
                .is_some_and(|connection| connection.is_connected());
        let action = toolbar::toolbar_ui(
            ui,
            Toolbar {
                view_mode: &mut view_mode,
                frozen: self.display.is_frozen(),
                can_freeze: self.display.shown().is_some(),
                save_folder: self.saving.folder_mut(),
                saving,
                show_depth_range: self.display.has_depth(),
                depth_range: self.display.depth_range_mut(),
                detection_open: self.detection.open_mut(),
                controls_open: self.controls.open_mut(),
                health_open: self.health.open_mut(),
                can_record,
                recording: self.recording.status(),
            },
        );
        *self.display.view_mode_mut() = view_mode;
        match action {
            Some(ToolbarAction::ToggleFreeze) => self.toggle_freeze(ui.ctx()),
            Some(ToolbarAction::Save) => self.save_frozen(ui.ctx()),
            Some(ToolbarAction::StartRecording) => self.start_recording(),
            Some(ToolbarAction::StopRecording) => self.recording.stop(),
            None => {}
        }
    }

    fn side_panels_ui(&mut self, ui: &mut egui::Ui) {
        let shown_origin = self.supervisor.shown_feed().map(|(feed, _)| feed.origin());
        let daemon = self.no_source_info().daemon;
        let unavailable = |what: &str| status::unavailable_text(what, shown_origin, &daemon);
        if self.detection.is_open() {
            self.detection.panel_ui(ui);
            ui.separator();
        }
        self.controls.panel_ui(ui, &unavailable);
        self.health.panel_ui(ui, &self.supervisor, &unavailable);
    }

    fn central_ui(&mut self, ui: &mut egui::Ui, status: &StatusLine) {
        let Some(shown_origin) = self.display.shown().map(|shown| shown.origin) else {
            let info = self.no_source_info();
            if no_source_ui(ui, &info, self.daemon_start.start_daemon()) {
                self.daemon_start.start(ui.ctx());
            }
            return;
        };
        if let Some(reason) = self.supervisor.daemon_loss() {
            if status.source == "none" {
                ui.colored_label(
                    egui::Color32::from_rgb(220, 60, 60),
                    format!(
                        "{} gone ({reason}); reconnecting. Showing the last frame from the {shown_origin}.",
                        match self.supervisor.primary_origin() {
                            Some(Origin::Remote) => "Remote camera",
                            _ => "Daemon",
                        }
                    ),
                );
            }
        }
        if self.display.view_mode() == ViewMode::PointCloud {
            self.display.frames_ui(ui, self.detection.marker_lines());
            if let Some(rect) = self.display.image_rects().cloud {
                let camera = self.display.cloud().camera;
                self.detection.overlay_3d_ui(ui, rect, &camera);
            }
            return;
        }
        self.display.frames_ui(ui, Lines::default());
        if let Some(shown) = self.display.shown() {
            let size_px = [shown.frame.geometry.width, shown.frame.geometry.height];
            self.detection
                .overlay_ui(ui, self.display.image_rects(), size_px);
        }
    }
}

#[cfg(test)]
mod detection_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod view3d_tests;
