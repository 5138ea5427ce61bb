//! Detection in the viewer: the detector the worker runs, the frozen frame's detection, live
//! detection, the daemon's detections, which of them are on screen, and the panel and boxes
//! that show them (drawn by `crate::view::detection` and `crate::view::boxes`).
//!
//! Freeze hands the frozen frame to the worker (`crate::detection::worker`) and returns; the
//! worker's result wakes the GUI, which draws the boxes in the next pass. Changing a threshold
//! while frozen detects the frozen frame again. Live hands each newly shown frame to the worker
//! through its single-slot mailbox, so the worker always takes the newest and the display never
//! waits. Boxes are drawn over live frames by frame number (`crate::detection::matching`): over
//! the frame they were computed for, or a newer one at most two frames later, never older ones.
//!
//! The daemon's own detections (`crate::detection::daemon`) are drawn the same way over the
//! daemon's live frames, in their own colour, while the app's Live is off (Live on means the
//! user wants the app's detector; the panel says the daemon's are hidden).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use detect::{DetectSettings, DetectorChoice, DetectorInfo, OpenOptions};
use shmproto::{DetectionResult, Namespace};

use super::display::ImageRects;
use crate::detection::daemon::{DaemonDetections, DaemonDetectionsState};
use crate::detection::dialog::{DialogOutcome, ModelDialog};
use crate::detection::matching::{RecentResults, MAX_FRAMES_BEHIND};
use crate::detection::rate::RateMeter;
use crate::detection::record::{DetectionTimings, DetectionsRecord};
use crate::detection::worker::{
    ms, Detected, DetectionWorker, DetectorOpener, OpenRequest, Opened, Purpose, WorkerReport,
};
use crate::feed::Origin;
use crate::frame::Frame;
use crate::view::boxes::{detection_boxes_ui, BoxesDrawn, BoxesOverImage, DrawnBox};
use crate::view::detection::{
    detection_panel_ui, BoxSource, DetectionAction, DetectionPanelView, DetectorStatus,
    ShownDetections,
};
use crate::view::point_cloud::{marker_labels_ui, marker_lines, MarkersIn3d};
use crate::view3d::camera::OrbitCamera;
use crate::view3d::lines::Lines;

/// How long the frozen frame's detection took, once its boxes were drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FreezeTiming {
    pub frame_number: u64,
    pub detections: usize,
    /// In the detector.
    pub inference_ms: f32,
    /// From the request (Freeze, or new thresholds) to the result in the GUI.
    pub request_to_result_ms: f32,
    /// From the request to the pass that drew the boxes.
    pub request_to_boxes_ms: f32,
}

/// The frozen frame and its detection.
struct FrozenDetection {
    frame: Arc<Frame>,
    /// The newest request for this frame.
    request_id: Option<u64>,
    /// The newest result for it, with when the GUI received it and first drew it.
    result: Option<ReceivedResult>,
}

struct ReceivedResult {
    detected: Box<Detected>,
    received: Instant,
    drawn: Option<Instant>,
}

impl ReceivedResult {
    fn timings(&self) -> Option<DetectionTimings> {
        let result = self.detected.outcome.as_ref().ok()?;
        let submitted = self.detected.submitted;
        Some(DetectionTimings {
            inference_ms: result.inference_ms,
            worker_ms: self.detected.worker_ms(),
            queued_ms: self.detected.queued_ms(),
            request_to_result_ms: ms(self.received.duration_since(submitted)),
            request_to_boxes_ms: self.drawn.map(|drawn| ms(drawn.duration_since(submitted))),
        })
    }
}

/// Live detection: on, its recent results and how fast they come.
#[derive(Default)]
struct LiveDetection {
    enabled: bool,
    /// The feed whose frames the results are for; they go when another feed is shown.
    origin: Option<Origin>,
    recent: RecentResults<DetectionResult>,
    meter: RateMeter,
    error: Option<String>,
}

/// The daemon's detections: the worker reading them, their recent results and rate.
#[derive(Default)]
struct DaemonSide {
    /// The namespace whose detections to read; `None`: the viewer knows no daemon.
    namespace: Option<Namespace>,
    feed: Option<DaemonDetections>,
    spawn_error: Option<String>,
    recent: RecentResults<DetectionResult>,
    meter: RateMeter,
    /// The detections writer the results came from, to drop a previous writer's.
    writer_pid: Option<u32>,
    /// Results came from a remote camera's feed (its daemon detects on its own host).
    remote: bool,
}

impl DaemonSide {
    fn poll(&mut self, ctx: &egui::Context) {
        if self.feed.is_none() && self.spawn_error.is_none() {
            let Some(namespace) = self.namespace.clone() else {
                return;
            };
            match DaemonDetections::spawn(namespace, ctx.clone()) {
                Ok(feed) => self.feed = Some(feed),
                Err(err) => {
                    let error = format!("cannot start reading the daemon's detections: {err}");
                    tracing::error!("{error}");
                    self.spawn_error = Some(error);
                }
            }
        }
        let Some(feed) = &self.feed else {
            return;
        };
        let writer_pid = match feed.state() {
            DaemonDetectionsState::Connected { writer_pid } => Some(writer_pid),
            _ => None,
        };
        if writer_pid.is_some() && writer_pid != self.writer_pid {
            self.recent.clear();
            self.meter.clear();
            self.writer_pid = writer_pid;
        }
        let now = Instant::now();
        for published in feed.take_results() {
            self.meter.record(now, published.result.inference_ms);
            self.recent
                .push(published.result.frame_number, published.result);
        }
    }

    /// Takes results a remote camera's feed brought.
    fn take_remote(&mut self, results: Vec<DetectionResult>) {
        self.remote = true;
        let now = Instant::now();
        for result in results {
            self.meter.record(now, result.inference_ms);
            self.recent.push(result.frame_number, result);
        }
    }

    /// "{who}: detector, rate, inference", or that results are awaited.
    fn results_text(&self, who: &str, waiting: String) -> String {
        let now = Instant::now();
        match self.recent.newest() {
            None => waiting,
            Some((_, result)) => {
                let mut text = format!("{who}: {}", result.detector);
                if let Some(rate) = self.meter.rate_hz(now) {
                    text += &format!(", {rate:.1}/s");
                }
                if let Some(inference_ms) = self.meter.mean_inference_ms(now) {
                    text += &format!(", inference {inference_ms:.0} ms");
                }
                text
            }
        }
    }

    /// The panel's line about the daemon's detections.
    fn line(&self, live_on: bool, daemon_shown: bool) -> Option<String> {
        if let Some(error) = &self.spawn_error {
            return Some(error.clone());
        }
        if self.feed.is_none() && self.remote {
            let mut text = self.results_text("Remote daemon detections", String::new());
            if live_on {
                text += " (hidden while the app's Live runs)";
            }
            return Some(text);
        }
        let feed = self.feed.as_ref()?;
        let text = match feed.state() {
            DaemonDetectionsState::Starting => return None,
            DaemonDetectionsState::Absent => {
                "Daemon detections: none (the daemon is not detecting; `aaa-camera-daemon ctl detect on` starts it)".to_owned()
            }
            DaemonDetectionsState::Unavailable(reason) => {
                format!("Daemon detections: unavailable ({reason})")
            }
            DaemonDetectionsState::Connected { writer_pid } => {
                let mut text = self.results_text(
                    "Daemon detections",
                    format!("Daemon detections: waiting for results (pid {writer_pid})"),
                );
                if live_on {
                    text += " (hidden while the app's Live runs)";
                } else if !daemon_shown {
                    text += " (drawn over the daemon's live frames only)";
                }
                text
            }
        };
        let error = feed
            .last_error()
            .map(|error| format!("; last bad result: {error}"));
        Some(text + &error.unwrap_or_default())
    }
}

/// The detection panel and everything behind it.
pub(super) struct DetectionPanel {
    open: bool,
    /// The detector asked for last.
    choice: DetectorChoice,
    options: OpenOptions,
    /// How the worker opens detectors; taken when it starts.
    opener: Option<DetectorOpener>,
    worker: Option<DetectionWorker>,
    worker_error: Option<String>,
    /// The detector that runs.
    active: Option<(DetectorChoice, DetectorInfo)>,
    /// Opens asked for and not answered yet.
    opens_pending: usize,
    open_error: Option<String>,
    settings: DetectSettings,
    model_path: String,
    dialog: ModelDialog,
    dialog_note: Option<String>,
    frozen: Option<FrozenDetection>,
    live: LiveDetection,
    daemon: DaemonSide,
    /// What is on screen this pass.
    shown: Option<ShownDetections>,
    /// The detection whose list row is hovered (this pass) or whose box is (last pass).
    highlight_from_list: Option<usize>,
    highlight_from_boxes: Option<usize>,
    /// The boxes drawn in the last pass: over the colour image, then over the depth image.
    drawn: Vec<DrawnBox>,
}

impl DetectionPanel {
    pub(super) fn new(choice: DetectorChoice, options: OpenOptions) -> Self {
        let model_path = match &choice {
            DetectorChoice::Depth => String::new(),
            DetectorChoice::Model(path) => path.display().to_string(),
        };
        DetectionPanel {
            open: true,
            choice,
            options,
            opener: None,
            worker: None,
            worker_error: None,
            active: None,
            opens_pending: 0,
            open_error: None,
            settings: DetectSettings::default(),
            model_path,
            dialog: ModelDialog::default(),
            dialog_note: None,
            frozen: None,
            live: LiveDetection::default(),
            daemon: DaemonSide::default(),
            shown: None,
            highlight_from_list: None,
            highlight_from_boxes: None,
            drawn: Vec::new(),
        }
    }

    /// Detects with `choice`, opened with `options` (before the first pass; later the panel
    /// changes detectors).
    pub(super) fn set_detector(&mut self, choice: DetectorChoice, options: OpenOptions) {
        self.model_path = match &choice {
            DetectorChoice::Depth => String::new(),
            DetectorChoice::Model(path) => path.display().to_string(),
        };
        self.choice = choice;
        self.options = options;
    }

    /// Takes the detection results a remote camera's feed brought (its daemon detects on its
    /// own host); they are drawn over its frames like a local daemon's.
    pub(super) fn take_remote_results(&mut self, results: Vec<DetectionResult>) {
        self.daemon.take_remote(results);
    }

    /// Reads the daemon's detections in `namespace` (from the first pass on).
    pub(super) fn set_daemon_namespace(&mut self, namespace: Namespace) {
        self.daemon.namespace = Some(namespace);
    }

    /// Opens detectors with `opener` instead of `detect::open_detector` (tests).
    #[cfg(test)]
    pub(super) fn set_opener(&mut self, opener: DetectorOpener) {
        self.opener = Some(opener);
    }

    pub(super) fn is_open(&self) -> bool {
        self.open
    }

    pub(super) fn open_mut(&mut self) -> &mut bool {
        &mut self.open
    }

    /// The detections on screen this pass.
    pub(super) fn shown(&self) -> Option<&ShownDetections> {
        self.shown.as_ref()
    }

    /// The boxes drawn in the last pass: over the colour image, then over the depth image.
    pub(super) fn drawn_boxes(&self) -> &[DrawnBox] {
        &self.drawn
    }

    /// The highlighted detection (its box or its row is hovered).
    pub(super) fn highlighted(&self) -> Option<usize> {
        self.highlight_from_list.or(self.highlight_from_boxes)
    }

    /// The detector that runs, once one opened.
    pub(super) fn active_detector(&self) -> Option<&(DetectorChoice, DetectorInfo)> {
        self.active.as_ref()
    }

    /// How long the frozen frame's detection took, once its boxes were drawn.
    pub(super) fn freeze_timing(&self) -> Option<FreezeTiming> {
        let frozen = self.frozen.as_ref()?;
        let received = frozen.result.as_ref()?;
        let result = received.detected.outcome.as_ref().ok()?;
        let timings = received.timings()?;
        Some(FreezeTiming {
            frame_number: result.frame_number,
            detections: result.detections.len(),
            inference_ms: result.inference_ms,
            request_to_result_ms: timings.request_to_result_ms,
            request_to_boxes_ms: timings.request_to_boxes_ms?,
        })
    }

    /// True while the frozen frame's newest request has no result yet.
    pub(super) fn is_detecting_frozen(&self) -> bool {
        self.frozen.as_ref().is_some_and(|frozen| {
            frozen.request_id.is_some()
                && frozen.request_id != frozen.result.as_ref().map(|result| result.detected.id)
        })
    }

    /// What Save writes about the frame `frame_number`, when its detection finished.
    pub(super) fn record_for(&self, frame_number: u64) -> Option<DetectionsRecord> {
        let frozen = self.frozen.as_ref()?;
        let received = frozen.result.as_ref()?;
        let result = received.detected.outcome.as_ref().ok()?;
        if result.frame_number != frame_number {
            return None;
        }
        let choice = received.detected.detector.clone()?;
        let settings = received.detected.settings;
        Some(DetectionsRecord {
            detector: choice.to_string(),
            model_path: match &choice {
                DetectorChoice::Depth => None,
                DetectorChoice::Model(path) => Some(path.clone()),
            },
            score_threshold: settings.score_threshold,
            iou_threshold: settings.iou_threshold,
            max_detections: settings.max_detections,
            timings: received.timings()?,
            result: result.clone(),
        })
    }

    /// Starts the worker (first pass) and takes in what it and the file dialog reported.
    pub(super) fn poll(&mut self, ctx: &egui::Context) {
        self.ensure_worker(ctx);
        self.daemon.poll(ctx);
        while let Some(report) = self.next_report() {
            match report {
                WorkerReport::Opened(opened) => self.take_opened(opened, ctx),
                WorkerReport::Detected(detected) => self.take_detected(detected),
            }
        }
        match self.dialog.poll() {
            None => {}
            Some(DialogOutcome::Chosen(path)) => {
                self.dialog_note = None;
                self.model_path = path.display().to_string();
                self.open_detector(DetectorChoice::Model(path), ctx);
            }
            Some(DialogOutcome::NothingChosen) => {
                self.dialog_note = Some(
                    "No model chosen. (No dialog? This desktop has neither a file chooser portal nor zenity: type the path above.)"
                        .to_owned(),
                );
            }
            Some(DialogOutcome::Failed(error)) => self.dialog_note = Some(error),
        }
    }

    /// The viewer froze `frame`: detect on it.
    pub(super) fn on_freeze(&mut self, frame: Arc<Frame>, ctx: &egui::Context) {
        self.frozen = Some(FrozenDetection {
            frame,
            request_id: None,
            result: None,
        });
        self.detect_frozen(ctx);
    }

    /// The viewer unfroze: forget the frozen frame and its detection.
    pub(super) fn on_unfreeze(&mut self) {
        if self.frozen.take().is_some() {
            if let Some(worker) = &mut self.worker {
                // A frozen request not started yet is no longer wanted (a live one cannot be
                // waiting: the frozen one replaced it).
                worker.withdraw();
            }
        }
        self.highlight_from_boxes = None;
    }

    /// The viewer put `frame` from `origin` on screen (live): hand it to live detection.
    pub(super) fn on_frame_shown(&mut self, frame: &Arc<Frame>, origin: Origin) {
        if self.live.origin != Some(origin) {
            self.live.origin = Some(origin);
            self.live.recent.clear();
        }
        if !self.live.enabled || self.frozen.is_some() {
            return;
        }
        if let Some(worker) = &mut self.worker {
            worker.submit(Purpose::Live, Arc::clone(frame), self.settings);
        }
    }

    /// Chooses what is on screen this pass: the frozen frame's detections while frozen, else
    /// live results for the shown frame (by frame number).
    pub(super) fn select(&mut self, shown_frame: Option<(u64, Origin)>) {
        if let Some(feed) = &self.daemon.feed {
            let live_daemon_frames = self.frozen.is_none()
                && !self.live.enabled
                && shown_frame.is_some_and(|(_, origin)| origin == Origin::Daemon);
            feed.set_wants_repaints(live_daemon_frames);
        }
        self.shown = self.choose_shown(shown_frame);
        let count = self
            .shown
            .as_ref()
            .map_or(0, |shown| shown.detections.len());
        if self
            .highlight_from_boxes
            .is_some_and(|index| index >= count)
        {
            self.highlight_from_boxes = None;
        }
    }

    fn choose_shown(&self, shown_frame: Option<(u64, Origin)>) -> Option<ShownDetections> {
        if let Some(frozen) = &self.frozen {
            let received = frozen.result.as_ref()?;
            let result = received.detected.outcome.as_ref().ok()?;
            return Some(shown_from(BoxSource::Frozen, result, 0));
        }
        let (frame_number, origin) = shown_frame?;
        if self.live.enabled {
            if self.live.origin != Some(origin) {
                return None;
            }
            let found = self.live.recent.for_frame(frame_number)?;
            return Some(shown_from(
                BoxSource::Live,
                found.result,
                found.frames_behind,
            ));
        }
        if !matches!(origin, Origin::Daemon | Origin::Remote) {
            return None;
        }
        let found = self.daemon.recent.for_frame(frame_number)?;
        Some(shown_from(
            BoxSource::Daemon,
            found.result,
            found.frames_behind,
        ))
    }

    /// Draws the boxes on screen over the colour and depth images of `size_px` drawn at `rects`.
    pub(super) fn overlay_ui(&mut self, ui: &egui::Ui, rects: ImageRects, size_px: [u32; 2]) {
        self.drawn.clear();
        let Some(shown) = &self.shown else {
            self.highlight_from_boxes = None;
            return;
        };
        let highlighted = self.highlight_from_list.or(self.highlight_from_boxes);
        let mut hovered = None;
        for rect in [rects.color, rects.depth].into_iter().flatten() {
            let boxes = BoxesOverImage {
                image_rect: rect,
                size_px,
                detections: &shown.detections,
                color: shown.box_color(),
                highlighted,
            };
            let drawn = detection_boxes_ui(ui, &boxes);
            hovered = hovered.or(drawn.hovered);
            self.drawn.extend(drawn.boxes);
        }
        self.note_drawn(ui, hovered);
    }

    /// The 3D view's marker lines for the detections on screen.
    pub(super) fn marker_lines(&self) -> Lines {
        let mut lines = Lines::default();
        if let Some(shown) = &self.shown {
            marker_lines(
                &mut lines,
                &shown.detections,
                shown.box_color(),
                self.highlighted(),
            );
        }
        lines
    }

    /// Labels the markers in the 3D view drawn in `rect` from `camera`.
    pub(super) fn overlay_3d_ui(&mut self, ui: &egui::Ui, rect: egui::Rect, camera: &OrbitCamera) {
        self.drawn.clear();
        let Some(shown) = &self.shown else {
            self.highlight_from_boxes = None;
            return;
        };
        let markers = MarkersIn3d {
            rect,
            camera,
            detections: &shown.detections,
            color: shown.box_color(),
            highlighted: self.highlighted(),
        };
        let BoxesDrawn { hovered, boxes } = marker_labels_ui(ui, &markers);
        self.drawn = boxes;
        self.note_drawn(ui, hovered);
    }

    /// After boxes or markers were drawn: the highlight from the pointer, and the frozen
    /// detection's timing.
    fn note_drawn(&mut self, ui: &egui::Ui, hovered: Option<usize>) {
        let Some(shown) = &self.shown else {
            return;
        };
        let source = shown.source;
        if hovered != self.highlight_from_boxes {
            self.highlight_from_boxes = hovered;
            // The list, drawn before the images, shows the new highlight next pass.
            ui.ctx().request_repaint();
        }
        if source == BoxSource::Frozen {
            self.note_frozen_boxes_drawn();
        }
    }

    /// The panel.
    pub(super) fn panel_ui(&mut self, ui: &mut egui::Ui) {
        let now = Instant::now();
        let detector = if self.opens_pending > 0 {
            DetectorStatus::Opening(self.choice.to_string())
        } else {
            match &self.active {
                Some((_, info)) => DetectorStatus::Ready(info.to_string()),
                None if self.worker_error.is_none() && self.open_error.is_none() => {
                    DetectorStatus::Opening(self.choice.to_string())
                }
                None => DetectorStatus::None,
            }
        };
        let open_error = self.worker_error.as_deref().or(self.open_error.as_deref());
        let live_running = self.live.enabled && self.frozen.is_none();
        let live_stats = live_running
            .then(|| {
                let rate = self.live.meter.rate_hz(now)?;
                Some((rate, self.live.meter.mean_inference_ms(now)?))
            })
            .flatten();
        let live_note = self.live_note();
        let frozen_line = self.frozen_line();
        let mut settings = self.settings;
        let mut live = self.live.enabled;
        let response = detection_panel_ui(
            ui,
            DetectionPanelView {
                detector,
                open_error,
                model_path: &mut self.model_path,
                dialog_open: self.dialog.is_open(),
                dialog_note: self.dialog_note.as_deref(),
                score_threshold: &mut settings.score_threshold,
                iou_threshold: &mut settings.iou_threshold,
                live: &mut live,
                live_stats,
                live_note,
                frozen_line,
                daemon_line: self
                    .daemon
                    .line(self.live.enabled, self.live.origin == Some(Origin::Daemon)),
                shown: self.shown.as_ref(),
                highlighted: self.highlight_from_list.or(self.highlight_from_boxes),
            },
        );
        self.highlight_from_list = response.hovered_row;
        self.settings = settings;
        self.live.enabled = live;
        let ctx = ui.ctx().clone();
        match response.action {
            None => {}
            Some(DetectionAction::UseDepthOnly) => {
                self.open_detector(DetectorChoice::Depth, &ctx);
            }
            Some(DetectionAction::LoadModel) => {
                match self.model_path.trim().parse::<DetectorChoice>() {
                    Ok(choice) => self.open_detector(choice, &ctx),
                    Err(error) => self.open_error = Some(error),
                }
            }
            Some(DetectionAction::BrowseModel) => {
                let start_folder = PathBuf::from(self.model_path.trim())
                    .parent()
                    .filter(|folder| folder.is_dir())
                    .map(PathBuf::from);
                self.dialog_note = None;
                if let Err(error) = self.dialog.open(&ctx, start_folder) {
                    self.dialog_note = Some(error);
                }
            }
            Some(DetectionAction::ThresholdsChanged) => self.detect_frozen(&ctx),
            Some(DetectionAction::LiveChanged) => {
                self.live.recent.clear();
                self.live.meter.clear();
                self.live.error = None;
            }
        }
    }

    fn live_note(&self) -> Option<String> {
        if !self.live.enabled {
            return None;
        }
        if self.frozen.is_some() {
            return Some("Live detection pauses while frozen.".to_owned());
        }
        if let Some(error) = &self.live.error {
            return Some(format!("Live detection failed: {error}"));
        }
        if self.shown.is_none() {
            if let Some((newest, result)) = self.live.recent.newest() {
                return Some(format!(
                    "Newest result (frame {newest}, {:.0} ms inference) came too late to draw: boxes are drawn at most {MAX_FRAMES_BEHIND} frames after their frame.",
                    result.inference_ms
                ));
            }
        }
        None
    }

    /// The frozen frame's detection in words, and whether that is an error.
    fn frozen_line(&self) -> Option<(String, bool)> {
        let frozen = self.frozen.as_ref()?;
        let frame_number = frozen.frame.frame_number;
        if let Some(error) = &self.worker_error {
            return Some((format!("Cannot detect: {error}"), true));
        }
        if self.is_detecting_frozen() {
            return Some((format!("Detecting frame {frame_number}…"), false));
        }
        let received = frozen.result.as_ref()?;
        match &received.detected.outcome {
            Err(error) => Some((format!("Detection failed: {error}"), true)),
            Ok(result) => {
                let timings = received.timings()?;
                let mut line = format!(
                    "Frame {frame_number}: detected in {:.0} ms (inference {:.1} ms)",
                    timings.request_to_result_ms, result.inference_ms
                );
                if let Some(boxes_ms) = timings.request_to_boxes_ms {
                    line += &format!(", shown after {boxes_ms:.0} ms");
                }
                Some((line, false))
            }
        }
    }

    fn ensure_worker(&mut self, ctx: &egui::Context) {
        if self.worker.is_some() || self.worker_error.is_some() {
            return;
        }
        let opener = self.opener.take().unwrap_or_else(|| {
            Box::new(|choice: &DetectorChoice, options: &OpenOptions| {
                detect::open_detector(choice, options)
            })
        });
        match DetectionWorker::spawn(ctx.clone(), opener) {
            Ok(worker) => {
                self.worker = Some(worker);
                self.open_detector(self.choice.clone(), ctx);
            }
            Err(err) => {
                let error = format!("cannot start the detection thread: {err}");
                tracing::error!("{error}");
                self.worker_error = Some(error);
            }
        }
    }

    fn next_report(&mut self) -> Option<WorkerReport> {
        let worker = self.worker.as_ref()?;
        match worker.next_report() {
            Ok(report) => report,
            Err(gone) => {
                tracing::error!("{gone}");
                self.worker_error = Some(gone.to_string());
                self.worker = None;
                None
            }
        }
    }

    fn open_detector(&mut self, choice: DetectorChoice, ctx: &egui::Context) {
        self.choice = choice.clone();
        self.open_error = None;
        let Some(worker) = &self.worker else {
            // Opened when the worker starts (the first pass).
            return;
        };
        worker.open(OpenRequest {
            choice,
            options: self.options.clone(),
        });
        self.opens_pending += 1;
        ctx.request_repaint();
    }

    fn take_opened(&mut self, opened: Opened, ctx: &egui::Context) {
        self.opens_pending = self.opens_pending.saturating_sub(1);
        self.active = opened.active;
        match opened.result {
            Ok(_) => {
                self.open_error = None;
                // The frozen frame's boxes were another detector's: detect again.
                self.detect_frozen(ctx);
                self.live.recent.clear();
                self.live.meter.clear();
            }
            Err(error) => {
                let keeps = match &self.active {
                    Some((choice, _)) => format!(" (still using {choice})"),
                    None => String::new(),
                };
                self.open_error = Some(format!("{error}{keeps}"));
            }
        }
    }

    fn take_detected(&mut self, detected: Box<Detected>) {
        match detected.purpose {
            Purpose::Frozen => {
                let Some(frozen) = &mut self.frozen else {
                    return;
                };
                let newer = frozen
                    .result
                    .as_ref()
                    .is_none_or(|old| old.detected.id < detected.id);
                if detected.frame_number != frozen.frame.frame_number || !newer {
                    return;
                }
                match &detected.outcome {
                    Ok(result) => tracing::debug!(
                        "frozen frame {}: {} detections in {:.1} ms (inference {:.1} ms)",
                        detected.frame_number,
                        result.detections.len(),
                        detected.total_ms(),
                        result.inference_ms
                    ),
                    Err(error) => tracing::warn!(
                        "detection on frozen frame {} failed: {error}",
                        detected.frame_number
                    ),
                }
                frozen.result = Some(ReceivedResult {
                    detected,
                    received: Instant::now(),
                    drawn: None,
                });
            }
            Purpose::Live => {
                if !self.live.enabled {
                    return;
                }
                match detected.outcome {
                    Ok(result) => {
                        self.live.error = None;
                        self.live.meter.record(Instant::now(), result.inference_ms);
                        self.live.recent.push(result.frame_number, result);
                    }
                    Err(error) => self.live.error = Some(error),
                }
            }
        }
    }

    /// Hands the frozen frame to the worker with the current thresholds.
    fn detect_frozen(&mut self, ctx: &egui::Context) {
        let (Some(frozen), Some(worker)) = (&mut self.frozen, &mut self.worker) else {
            return;
        };
        let (id, _replaced) =
            worker.submit(Purpose::Frozen, Arc::clone(&frozen.frame), self.settings);
        frozen.request_id = Some(id);
        ctx.request_repaint();
    }

    fn note_frozen_boxes_drawn(&mut self) {
        let Some(received) = self
            .frozen
            .as_mut()
            .and_then(|frozen| frozen.result.as_mut())
        else {
            return;
        };
        if received.drawn.is_some() {
            return;
        }
        let now_drawn = Instant::now();
        received.drawn = Some(now_drawn);
        if let (Ok(result), Some(timings)) = (&received.detected.outcome, received.timings()) {
            let drawn_after_worker_ms = ms(now_drawn.duration_since(received.detected.finished));
            tracing::info!(
                "frame {}: {} detections; detected in {:.1} ms (inference {:.1} ms, worker {:.1} ms, waited {:.1} ms for the worker), shown after {:.1} ms ({:.1} ms after the worker finished)",
                result.frame_number,
                result.detections.len(),
                timings.request_to_result_ms,
                result.inference_ms,
                timings.worker_ms,
                timings.queued_ms,
                timings.request_to_boxes_ms.unwrap_or(f32::NAN),
                drawn_after_worker_ms,
            );
        }
    }
}

fn shown_from(source: BoxSource, result: &DetectionResult, frames_behind: u64) -> ShownDetections {
    ShownDetections {
        source,
        frame_number: result.frame_number,
        frames_behind,
        detector: result.detector.to_string(),
        detections: result.detections.clone(),
    }
}
