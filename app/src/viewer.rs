//! The viewer's state and its whole UI, independent of the window (tests drive it with
//! `egui_kittest`; `app.rs` puts it in an eframe window).

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError};
use egui::{Key, Rect, Vec2};

use crate::colormap::DepthRange;
use crate::control_link::DaemonControls;
use crate::feed::{FrameLink, Origin};
use crate::frame::{Frame, FrozenFrame};
use crate::health::{judge_link, HealthHistory, NOT_PUBLISHING_AFTER};
use crate::launcher::{DaemonLauncher, DaemonSettings, Elevation, LaunchState};
use crate::save::{save_frozen_frame, SavedFiles};
use crate::supervisor::{Connection, Shown, Supervisor};
use crate::texture::FrameTextures;
use crate::view::color::color_view_ui;
use crate::view::controls::{controls_ui, ControlAction, ControlsAvailability};
use crate::view::depth::{depth_view_ui, LEGEND_HEIGHT};
use crate::view::health::{health_ui, HealthAvailability};
use crate::view::hover::{hover_readout_ui, HoverReadout};
use crate::view::no_source::{no_source_ui, NoSourceInfo, StartDaemon};
use crate::view::status_bar::{status_bar_ui, LatencyKind, LinkState, StatusLine};
use crate::view::toolbar::{toolbar_ui, Toolbar, ToolbarAction};

pub use crate::health::STALE_AFTER;
/// How often the status bar refreshes while frozen (frames then do not wake the GUI).
const FROZEN_REFRESH: Duration = Duration::from_secs(1);
/// Room for the "Colour"/"Depth" captions above the images.
const CAPTION_HEIGHT: f32 = 20.0;
/// Room for the hover readout under the images.
const READOUT_HEIGHT: f32 = 24.0;

/// Frames counted since the viewer started, for the smoke test and the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameCounts {
    /// Frames the feed workers received, over every feed shown.
    pub received: u64,
    /// Frames the viewer put on screen.
    pub displayed: u64,
}

/// Where the images were drawn in the last pass (tests hover pixels through it).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ImageRects {
    pub color: Option<Rect>,
    pub depth: Option<Rect>,
}

/// The viewer: sources, the shown (or frozen) frame, textures and the panels.
pub struct Viewer {
    supervisor: Supervisor,
    shown: Option<ShownFrame>,
    frozen: Option<FrozenFrame>,
    textures: FrameTextures,
    depth_range: DepthRange,
    /// Range the depth texture was coloured with.
    textured_range: DepthRange,
    fps: FpsEstimator,
    received: ReceivedCounter,
    displayed: u64,
    save_folder: String,
    saving: Option<Receiver<Result<SavedFiles, String>>>,
    last_saved: Option<SavedFiles>,
    notice: Option<String>,
    problem: Option<String>,
    hover: Option<HoverReadout>,
    image_rects: ImageRects,
    /// Starts the daemon and knows its socket; `None` when the viewer does not know where the
    /// daemon lives (tests with hand-fed sources).
    launcher: Option<DaemonLauncher>,
    /// `--start-daemon`: start one as soon as the daemon source says none runs.
    start_when_missing: bool,
    /// The controls of the connected daemon.
    controls: Option<DaemonControls>,
    controls_open: bool,
    health_open: bool,
    health: HealthHistory,
}

struct ShownFrame {
    frame: Arc<Frame>,
    origin: Origin,
    latency: Option<(f32, LatencyKind)>,
}

impl Viewer {
    pub fn new(supervisor: Supervisor, save_folder: PathBuf) -> Self {
        Viewer {
            supervisor,
            shown: None,
            frozen: None,
            textures: FrameTextures::default(),
            depth_range: DepthRange::default(),
            textured_range: DepthRange::default(),
            fps: FpsEstimator::default(),
            received: ReceivedCounter::default(),
            displayed: 0,
            save_folder: save_folder.display().to_string(),
            saving: None,
            last_saved: None,
            notice: None,
            problem: None,
            hover: None,
            image_rects: ImageRects::default(),
            launcher: None,
            start_when_missing: false,
            controls: None,
            controls_open: false,
            health_open: false,
            health: HealthHistory::default(),
        }
    }

    /// Lets the viewer control and start the daemon described by `settings`; with
    /// `start_when_missing` it starts one as soon as it learns that none runs.
    pub fn with_daemon(mut self, settings: DaemonSettings, start_when_missing: bool) -> Self {
        self.launcher = Some(DaemonLauncher::new(settings));
        self.start_when_missing = start_when_missing;
        self
    }

    /// The daemon launcher, if the viewer knows the daemon's settings.
    pub fn launcher(&self) -> Option<&DaemonLauncher> {
        self.launcher.as_ref()
    }

    /// The controls of the connected daemon, while one is connected.
    pub fn daemon_controls(&self) -> Option<&DaemonControls> {
        self.controls.as_ref()
    }

    pub fn supervisor_mut(&mut self) -> &mut Supervisor {
        &mut self.supervisor
    }

    /// Number of the frame on screen (the frozen one while frozen).
    pub fn displayed_frame_number(&self) -> Option<u64> {
        self.shown.as_ref().map(|shown| shown.frame.frame_number)
    }

    /// The frozen frame, ready for a detector.
    pub fn frozen_frame(&self) -> Option<&FrozenFrame> {
        self.frozen.as_ref()
    }

    pub fn counts(&self) -> FrameCounts {
        FrameCounts {
            received: self.received.total,
            displayed: self.displayed,
        }
    }

    /// What the status bar says, without drawing it.
    pub fn status_line(&self) -> StatusLine {
        let shown_feed = self.supervisor.shown_feed();
        let now_ns = shmproto::monotonic_now_ns();
        let (source, state, fps, dropped) = match shown_feed {
            Some((feed, _connection)) => {
                let link = feed.link();
                let stats = link.stats();
                let age = stats
                    .last_received_mono_ns
                    .map(|last_ns| Duration::from_nanos(now_ns.saturating_sub(last_ns)));
                let writer = link.writer_report();
                let state = judge_link(age, writer.as_ref(), feed.origin() == Origin::Daemon);
                let fps = (state == LinkState::Live).then(|| self.fps.fps()).flatten();
                (feed.origin().to_string(), state, fps, stats.dropped)
            }
            None => {
                let state = match self.supervisor.daemon_loss() {
                    Some(reason) => LinkState::Lost {
                        reason: reason.to_owned(),
                    },
                    None => LinkState::NoSource,
                };
                ("none".to_owned(), state, None, 0)
            }
        };
        let shown_origin = shown_feed.map(|(feed, _)| feed.origin());
        let daemon_loss = match shown_origin {
            Some(origin) if origin != Origin::Daemon => {
                self.supervisor.daemon_loss().map(str::to_owned)
            }
            _ => None,
        };
        let shown = self.shown.as_ref();
        StatusLine {
            source,
            device: shown.map(|shown| {
                let metadata = &shown.frame.metadata;
                format!("{}: {}", metadata.source_kind, metadata.source_description)
            }),
            state,
            daemon_loss,
            size_px: shown.map(|shown| [shown.frame.geometry.width, shown.frame.geometry.height]),
            received_fps: fps,
            latency: shown.and_then(|shown| shown.latency),
            dropped,
            frame_number: self.displayed_frame_number(),
            frozen: self.frozen.is_some(),
            problem: self.problem.clone(),
            notice: self.notice.clone(),
        }
    }

    /// Where the images were drawn in the last pass.
    pub fn image_rects(&self) -> ImageRects {
        self.image_rects
    }

    /// The readout of the hovered pixel in the last pass.
    pub fn hover_readout(&self) -> Option<&HoverReadout> {
        self.hover.as_ref()
    }

    /// The files of the last successful save.
    pub fn last_saved(&self) -> Option<&SavedFiles> {
        self.last_saved.as_ref()
    }

    pub fn is_saving(&self) -> bool {
        self.saving.is_some()
    }

    /// Freezes the shown frame, or unfreezes (the newest frame is shown at the next pass).
    pub fn toggle_freeze(&mut self, ctx: &egui::Context) {
        if self.frozen.take().is_some() {
            tracing::debug!("unfrozen");
            ctx.request_repaint();
        } else if let Some(shown) = &self.shown {
            tracing::debug!("frozen at frame {}", shown.frame.frame_number);
            self.frozen = Some(FrozenFrame::new(Arc::clone(&shown.frame)));
        }
    }

    /// Draws the whole viewer into `ui` (the window's root).
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.update(&ctx);
        if !ctx.egui_wants_keyboard_input() && ui.input(|input| input.key_pressed(Key::Space)) {
            self.toggle_freeze(&ctx);
        }

        egui::Panel::top("toolbar").show(ui, |ui| {
            let has_depth = self.textures.depth().is_some();
            let action = toolbar_ui(
                ui,
                Toolbar {
                    frozen: self.frozen.is_some(),
                    can_freeze: self.shown.is_some(),
                    save_folder: &mut self.save_folder,
                    saving: self.saving.is_some(),
                    depth_range: &mut self.depth_range,
                    show_depth_range: has_depth,
                    controls_open: &mut self.controls_open,
                    health_open: &mut self.health_open,
                },
            );
            match action {
                Some(ToolbarAction::ToggleFreeze) => self.toggle_freeze(&ctx),
                Some(ToolbarAction::Save) => self.save_frozen(&ctx),
                None => {}
            }
        });
        if self.depth_range != self.textured_range {
            self.recolor_depth(&ctx);
        }

        let status = self.status_line();
        egui::Panel::bottom("status_bar").show(ui, |ui| status_bar_ui(ui, &status));

        if self.controls_open || self.health_open {
            egui::Panel::right("daemon_panels")
                .resizable(true)
                .default_size(340.0)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical().show(ui, |ui| self.side_panels_ui(ui));
                });
        }

        egui::CentralPanel::default().show(ui, |ui| self.central_ui(ui, &status));

        self.schedule_repaint(&ctx, &status);
    }

    /// Takes in what the sources and the save thread sent since the last pass.
    pub fn update(&mut self, ctx: &egui::Context) {
        self.supervisor.poll(ctx);
        self.poll_save();
        self.update_daemon(ctx);

        let frozen = self.frozen.is_some();
        let mut newest = None;
        if let Some((feed, _)) = self.supervisor.shown_feed() {
            let link: &FrameLink = feed.link();
            link.set_live_view(!frozen);
            let stats = link.stats();
            self.received.observe(link.id(), stats.received);
            self.fps.sample(link.id(), stats.received, Instant::now());
            if !frozen {
                newest = link.take_newest_frame().map(|frame| (frame, feed.origin()));
            }
        }
        if let Some((frame, origin)) = newest {
            self.show_frame(ctx, Arc::new(frame), origin);
        }
    }

    fn show_frame(&mut self, ctx: &egui::Context, frame: Arc<Frame>, origin: Origin) {
        tracing::trace!("showing frame {} from the {origin}", frame.frame_number);
        if let Err(err) = self.textures.upload(ctx, &frame, self.depth_range) {
            tracing::error!("{err}");
            self.problem = Some(err.to_string());
            return;
        }
        self.textured_range = self.depth_range;
        let now_ns = shmproto::monotonic_now_ns();
        if let (Origin::Daemon, Some(publish_ns)) = (origin, frame.publish_mono_ns) {
            let latency_ms = now_ns.saturating_sub(publish_ns) as f64 / 1e6;
            self.health.observe_latency(latency_ms, Instant::now());
        }
        let latency = match frame.publish_mono_ns {
            Some(publish_ns) => (publish_ns, LatencyKind::PublishToDisplay),
            None => (
                frame.metadata.capture_mono_ns,
                LatencyKind::CaptureToDisplay,
            ),
        };
        let latency = (latency.0 != 0).then(|| {
            let latency_ms = now_ns.saturating_sub(latency.0) as f32 / 1e6;
            (latency_ms, latency.1)
        });
        self.displayed += 1;
        self.shown = Some(ShownFrame {
            frame,
            origin,
            latency,
        });
    }

    fn recolor_depth(&mut self, ctx: &egui::Context) {
        self.textured_range = self.depth_range;
        let Some(shown) = &self.shown else {
            return;
        };
        if let Err(err) = self
            .textures
            .upload_depth(ctx, &shown.frame, self.depth_range)
        {
            self.problem = Some(err.to_string());
        }
    }

    fn save_frozen(&mut self, ctx: &egui::Context) {
        let Some(frozen) = self.frozen.clone() else {
            return;
        };
        let folder = PathBuf::from(self.save_folder.trim());
        let (result_tx, result_rx) = crossbeam_channel::bounded(1);
        let repaint = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("save frame".to_owned())
            .spawn(move || {
                let result = save_frozen_frame(&frozen, &folder).map_err(|err| err.to_string());
                // The viewer may be gone (window closed); then nobody needs the result.
                let _ = result_tx.send(result);
                repaint.request_repaint();
            });
        match spawned {
            Ok(_) => {
                self.notice = Some("saving...".to_owned());
                self.saving = Some(result_rx);
            }
            Err(err) => self.problem = Some(format!("cannot start saving: {err}")),
        }
    }

    fn poll_save(&mut self) {
        let Some(result_rx) = &self.saving else {
            return;
        };
        let result = match result_rx.try_recv() {
            Ok(result) => result,
            Err(TryRecvError::Empty) => return,
            Err(TryRecvError::Disconnected) => {
                Err("the save thread ended without a result".to_owned())
            }
        };
        self.saving = None;
        match result {
            Ok(files) => {
                let folder = files
                    .color_png
                    .parent()
                    .map_or_else(String::new, |folder| folder.display().to_string());
                self.notice = Some(format!("saved to {folder}"));
                self.problem = None;
                self.last_saved = Some(files);
            }
            Err(error) => {
                tracing::error!("saving the frozen frame failed: {error}");
                self.notice = None;
                self.problem = Some(format!("save failed: {error}"));
            }
        }
    }

    fn central_ui(&mut self, ui: &mut egui::Ui, status: &StatusLine) {
        self.hover = None;
        self.image_rects = ImageRects::default();
        if let Some(shown) = &self.shown {
            if let Some(reason) = self.supervisor.daemon_loss() {
                if status.source == "none" {
                    ui.colored_label(
                        egui::Color32::from_rgb(220, 60, 60),
                        format!(
                            "Daemon gone ({reason}); reconnecting. Showing the last frame from the {}.",
                            shown.origin
                        ),
                    );
                }
            }
            let frame = Arc::clone(&shown.frame);
            self.frames_ui(ui, &frame);
        } else {
            let info = self.no_source_info();
            let start = self.launcher.as_mut().map(|launcher| StartDaemon {
                can_start: !launcher.is_starting(),
                progress: launch_progress(launcher),
                source: launcher.source_mut(),
            });
            if no_source_ui(ui, &info, start) {
                if let Some(launcher) = &mut self.launcher {
                    launcher.start(ui.ctx());
                }
            }
        }
    }

    fn frames_ui(&mut self, ui: &mut egui::Ui, frame: &Frame) {
        let size_px = [frame.geometry.width, frame.geometry.height];
        let available = ui.available_size() - Vec2::new(0.0, READOUT_HEIGHT);
        let spacing = ui.spacing().item_spacing.x;
        let Some(color) = self.textures.color() else {
            return;
        };
        let hovered = if let Some((depth, legend)) = self.textures.depth() {
            let image_max = Vec2::new(
                (available.x - spacing) / 2.0,
                available.y - CAPTION_HEIGHT - LEGEND_HEIGHT,
            );
            let (color_view, depth_view) = ui
                .horizontal_top(|ui| {
                    let color_view = color_view_ui(ui, color, size_px, image_max);
                    let depth_max = image_max + Vec2::new(0.0, LEGEND_HEIGHT);
                    let depth_view =
                        depth_view_ui(ui, depth, legend, size_px, self.depth_range, depth_max);
                    (color_view, depth_view)
                })
                .inner;
            self.image_rects = ImageRects {
                color: Some(color_view.rect),
                depth: Some(depth_view.rect),
            };
            color_view.hovered_pixel.or(depth_view.hovered_pixel)
        } else {
            let image_max = available - Vec2::new(0.0, CAPTION_HEIGHT);
            let color_view = color_view_ui(ui, color, size_px, image_max);
            self.image_rects.color = Some(color_view.rect);
            color_view.hovered_pixel
        };
        self.hover = hovered.map(|pixel| HoverReadout::of(frame, pixel));
        hover_readout_ui(ui, self.hover.as_ref());
    }

    fn no_source_info(&self) -> NoSourceInfo {
        let launching = self
            .launcher
            .as_ref()
            .and_then(|launcher| match launcher.state() {
                LaunchState::Starting { pid: Some(pid), .. } => Some(*pid),
                _ => None,
            });
        let loss = self.supervisor.daemon_loss();
        let daemon = match (self.supervisor.daemon_connection(), loss) {
            (None, _) => "not watched".to_owned(),
            (Some(Connection::Starting), _) => "looking for it".to_owned(),
            (Some(Connection::Searching { detail }), None) => match launching {
                Some(pid) => format!("starting (pid {pid}); waiting for {detail}"),
                None => format!("not running ({detail} does not exist)"),
            },
            (Some(Connection::Searching { detail }), Some(reason)) => {
                format!("lost ({reason}); waiting for {detail} to come back")
            }
            (Some(Connection::OpenFailed { error }), _) => format!("cannot connect: {error}"),
            (Some(Connection::Lost { reason }), _) => format!("lost ({reason}); reconnecting"),
            (Some(Connection::Connected { detail }), _) => format!("connected ({detail})"),
        };
        let fallback = match self.supervisor.fallback_state() {
            Ok((_, Connection::Starting)) => "opening".to_owned(),
            Ok((_, Connection::Searching { detail })) => format!("looking for {detail}"),
            Ok((_, Connection::Connected { detail })) => format!("connected ({detail})"),
            Ok((_, Connection::OpenFailed { error })) => error.clone(),
            Ok((_, Connection::Lost { reason })) => format!("lost ({reason}); retrying"),
            Err(reason) => reason.to_owned(),
        };
        NoSourceInfo {
            daemon,
            fallback,
            waiting_for_first_frame: self.supervisor.shown_feed().is_some(),
        }
    }

    /// Wakes the GUI for what no worker will announce: the moment a live source turns stale,
    /// and a slow refresh of the statistics while frozen.
    fn schedule_repaint(&self, ctx: &egui::Context, status: &StatusLine) {
        let margin = Duration::from_millis(50);
        if self.frozen.is_some() {
            ctx.request_repaint_after(FROZEN_REFRESH);
        } else if status.state == LinkState::Live {
            ctx.request_repaint_after(STALE_AFTER + margin);
        } else if let LinkState::Stale { for_s } = status.state {
            // A stale daemon turns "alive but not publishing" at the limit.
            if status.source == Origin::Daemon.to_string() {
                let left =
                    Duration::from_secs_f32((NOT_PUBLISHING_AFTER.as_secs_f32() - for_s).max(0.0));
                ctx.request_repaint_after(left + margin);
            }
        }
    }

    /// Follows the daemon: its controls while it is shown, its metrics for the health panel,
    /// the launcher's news, and `--start-daemon`.
    fn update_daemon(&mut self, ctx: &egui::Context) {
        if let Some(launcher) = &mut self.launcher {
            launcher.poll();
        }
        if self.start_when_missing {
            match self.supervisor.daemon_connection() {
                None | Some(Connection::Starting) => {}
                Some(Connection::Connected { .. }) => {
                    tracing::info!("a daemon already runs; --start-daemon has nothing to do");
                    self.start_when_missing = false;
                }
                Some(_) => {
                    self.start_when_missing = false;
                    if let Some(launcher) = &mut self.launcher {
                        launcher.start(ctx);
                    }
                }
            }
        }

        let connected = match (self.supervisor.shown(), self.supervisor.daemon_connection()) {
            (Shown::Daemon, Some(Connection::Connected { detail })) => Some(detail.clone()),
            _ => None,
        };
        match (connected, &self.launcher) {
            (Some(detail), Some(launcher)) => {
                let current = self
                    .controls
                    .as_ref()
                    .is_some_and(|controls| controls.connection() == detail);
                if !current {
                    tracing::debug!("daemon connected ({detail}): asking for its controls");
                    let socket = launcher.settings().control_socket();
                    self.controls = Some(DaemonControls::start(socket, detail, ctx));
                }
            }
            _ => self.controls = None,
        }
        if let Some(controls) = &mut self.controls {
            controls.poll();
        }

        if let Some((feed, _)) = self.supervisor.shown_feed() {
            if feed.origin() == Origin::Daemon {
                let link = feed.link();
                link.set_wants_metrics(self.health_open);
                if let Some(metrics) = link.writer_report().and_then(|report| report.metrics) {
                    self.health.observe_metrics(&metrics, Instant::now());
                }
            }
        }
    }

    fn side_panels_ui(&mut self, ui: &mut egui::Ui) {
        let shown_origin = self.supervisor.shown_feed().map(|(feed, _)| feed.origin());
        let daemon = self.no_source_info().daemon;
        let unavailable = |what: &str| {
            match shown_origin {
            Some(Origin::Daemon) => format!(
                "{what} need the daemon's command socket, which this viewer was not told about."
            ),
            Some(origin) => format!(
                "The shown source is the {origin}, run inside the app: it has no {}. Start the capture daemon to use them.",
                what.to_lowercase()
            ),
            None => format!("No daemon is connected (daemon: {daemon}). {what} appear when it runs."),
        }
        };
        if self.controls_open {
            let availability = match &self.controls {
                Some(controls) => ControlsAvailability::Daemon(controls),
                None => ControlsAvailability::Unavailable(unavailable("Controls")),
            };
            let action = controls_ui(ui, &availability);
            if let (Some(action), Some(controls)) = (action, &mut self.controls) {
                match action {
                    ControlAction::Set { name, value } => controls.set(&name, value),
                    ControlAction::Refresh => controls.refresh(),
                }
            }
            ui.add_space(12.0);
        }
        if self.health_open {
            let shown = self.supervisor.shown_feed();
            let report = shown
                .filter(|(feed, _)| feed.origin() == Origin::Daemon)
                .map(|(feed, _)| feed.link().writer_report());
            let availability = match &report {
                Some(report) => HealthAvailability::Daemon(report.as_ref()),
                None => HealthAvailability::Unavailable(unavailable("Health metrics")),
            };
            health_ui(ui, &availability, &self.health, Instant::now());
        }
    }
}

/// How the last start of the daemon went, for the no-source screen: the text and whether it
/// failed.
fn launch_progress(launcher: &DaemonLauncher) -> Option<(String, bool)> {
    let log = launcher.log_file().display();
    match launcher.state() {
        LaunchState::Idle => None,
        LaunchState::Starting {
            source, pid: None, ..
        } => Some((format!("Starting the daemon ({source} source)..."), false)),
        LaunchState::Starting {
            source,
            pid: Some(pid),
            elevation: Elevation::Direct,
        } => Some((
            format!(
                "Daemon started (pid {pid}, {source} source); waiting for its frames. Log: {log}"
            ),
            false,
        )),
        LaunchState::Starting {
            source, elevation, ..
        } => {
            let how = match elevation {
                Elevation::Pkexec => "pkexec",
                _ => "the administrator prompt",
            };
            Some((
                format!("The {source} source needs root: asking for the password through {how}. Log: {log}"),
                false,
            ))
        }
        LaunchState::Ended { success, detail } => Some((detail.clone(), !success)),
        LaunchState::Failed(error) => Some((format!("Cannot start the daemon: {error}"), true)),
    }
}

/// Frames per second the shown source received, over about the last second.
#[derive(Default)]
struct FpsEstimator {
    link_id: Option<u64>,
    samples: VecDeque<(Instant, u64)>,
}

impl FpsEstimator {
    const WINDOW: Duration = Duration::from_millis(1500);

    fn sample(&mut self, link_id: u64, received: u64, now: Instant) {
        if self.link_id != Some(link_id) {
            self.link_id = Some(link_id);
            self.samples.clear();
        }
        if self
            .samples
            .back()
            .is_some_and(|&(_, last)| last == received)
        {
            return;
        }
        self.samples.push_back((now, received));
        while self
            .samples
            .front()
            .is_some_and(|&(at, _)| now.duration_since(at) > Self::WINDOW)
        {
            self.samples.pop_front();
        }
    }

    fn fps(&self) -> Option<f32> {
        let (first_at, first) = *self.samples.front()?;
        let (last_at, last) = *self.samples.back()?;
        let seconds = last_at.duration_since(first_at).as_secs_f32();
        (seconds >= 0.2).then(|| (last - first) as f32 / seconds)
    }
}

/// Adds up the frames received over all the links shown, one after another or in turns.
#[derive(Default)]
struct ReceivedCounter {
    last_seen_by_link: HashMap<u64, u64>,
    total: u64,
}

impl ReceivedCounter {
    fn observe(&mut self, link_id: u64, received: u64) {
        let last_seen = self.last_seen_by_link.entry(link_id).or_default();
        self.total += received.saturating_sub(*last_seen);
        *last_seen = received;
    }
}

#[cfg(test)]
mod tests;
