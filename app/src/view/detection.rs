//! The detection panel: which detector runs, its thresholds, Live, the timings, and the list
//! of the detections on screen with their 3D points (or why there is none).

use egui::{Color32, RichText};
use shmproto::Detection;

use super::boxes::{APP_BOX_COLOR, DAEMON_BOX_COLOR};

const ERROR_COLOR: Color32 = Color32::from_rgb(220, 60, 60);

/// Whose detections are on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoxSource {
    /// The app's detector on the frozen frame.
    Frozen,
    /// The app's detector on live frames (the Live toggle).
    Live,
    /// The capture daemon's detector (its `aaa_detections` segment).
    Daemon,
}

/// The detections drawn over the shown frame, and where they come from.
#[derive(Debug, Clone, PartialEq)]
pub struct ShownDetections {
    pub source: BoxSource,
    /// The frame the detections were computed for.
    pub frame_number: u64,
    /// How many frames older than the shown frame that is (0 while frozen).
    pub frames_behind: u64,
    /// The detector, as `DetectorInfo` displays.
    pub detector: String,
    pub detections: Vec<Detection>,
}

impl ShownDetections {
    pub fn box_color(&self) -> Color32 {
        match self.source {
            BoxSource::Frozen | BoxSource::Live => APP_BOX_COLOR,
            BoxSource::Daemon => DAEMON_BOX_COLOR,
        }
    }

    /// The heading over the list.
    pub fn heading(&self) -> String {
        let count = match self.detections.len() {
            1 => "1 detection".to_owned(),
            n => format!("{n} detections"),
        };
        let whose = match self.source {
            BoxSource::Frozen => "frozen",
            BoxSource::Live => "live",
            BoxSource::Daemon => "daemon's",
        };
        let mut heading = format!("{count} ({whose}, frame {}", self.frame_number);
        if self.frames_behind > 0 {
            heading += &format!(", {} behind the shown frame", self.frames_behind);
        }
        heading + ")"
    }
}

/// One row of the list: number, label, score, distance and 3D point, or why there is no point.
pub fn detection_row_text(index: usize, detection: &Detection) -> String {
    let mut text = format!("#{} {} {:.2}", index + 1, detection.label, detection.score);
    match (&detection.position, &detection.position_missing) {
        (Some(position), _) => {
            let [x, y, z] = position.point_m;
            text += &format!("  {:.2} m  ({x:.2}, {y:.2}, {z:.2}) m", position.distance_m);
        }
        (None, Some(reason)) => text += &format!("  no 3D point: {reason}"),
        (None, None) => text += "  no 3D point",
    }
    text
}

/// What the detector is doing, for the panel's first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetectorStatus {
    /// The named detector is being opened.
    Opening(String),
    /// The named detector runs.
    Ready(String),
    /// No detector could be opened.
    None,
}

/// Everything the panel shows, prepared by the viewer; the `&mut` fields are what it edits.
pub struct DetectionPanelView<'a> {
    pub detector: DetectorStatus,
    /// Why the last detector asked for could not be opened.
    pub open_error: Option<&'a str>,
    /// The model path field.
    pub model_path: &'a mut String,
    pub dialog_open: bool,
    /// What came of the last dialog, when it chose nothing.
    pub dialog_note: Option<&'a str>,
    pub score_threshold: &'a mut f32,
    pub iou_threshold: &'a mut f32,
    pub live: &'a mut bool,
    /// Rate achieved and mean inference time of live detection, while it runs.
    pub live_stats: Option<(f32, f32)>,
    /// A remark about live detection (paused while frozen, results too late to draw).
    pub live_note: Option<String>,
    /// The frozen frame's detection: in progress, its timings, or its error.
    pub frozen_line: Option<(String, bool)>,
    /// The daemon's detections: where they stand.
    pub daemon_line: Option<String>,
    /// The detections on screen.
    pub shown: Option<&'a ShownDetections>,
    pub highlighted: Option<usize>,
}

/// What the user did in the panel this pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetectionAction {
    UseDepthOnly,
    /// Load the model in the path field.
    LoadModel,
    /// Open the file dialog.
    BrowseModel,
    /// A threshold changed.
    ThresholdsChanged,
    /// Live was switched on or off.
    LiveChanged,
}

/// What the panel reports.
#[derive(Debug, Default)]
pub struct DetectionPanelResponse {
    pub action: Option<DetectionAction>,
    /// The list row under the pointer.
    pub hovered_row: Option<usize>,
}

pub fn detection_panel_ui(
    ui: &mut egui::Ui,
    view: DetectionPanelView<'_>,
) -> DetectionPanelResponse {
    let mut response = DetectionPanelResponse::default();
    ui.heading("Detection");
    match &view.detector {
        DetectorStatus::Opening(name) => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Opening detector {name}"));
            });
        }
        DetectorStatus::Ready(name) => {
            ui.label(format!("Detector: {name}"));
        }
        DetectorStatus::None => {
            ui.colored_label(ERROR_COLOR, "No detector");
        }
    }
    if let Some(error) = view.open_error {
        ui.colored_label(ERROR_COLOR, error);
    }
    ui.horizontal(|ui| {
        if ui
            .button("Depth only")
            .on_hover_text("The depth-only detector: objects standing out of the floor or wall, no model needed")
            .clicked()
        {
            response.action = Some(DetectionAction::UseDepthOnly);
        }
        let browse = ui
            .add_enabled(!view.dialog_open, egui::Button::new("Open model…"))
            .on_hover_text("Choose an ONNX model (YOLOv8/YOLO11, end-to-end YOLO, RF-DETR)");
        if browse.clicked() {
            response.action = Some(DetectionAction::BrowseModel);
        }
    });
    ui.horizontal(|ui| {
        let label = ui.label("Model:");
        let field = ui
            .add(
                egui::TextEdit::singleline(view.model_path)
                    .hint_text("path/to/model.onnx")
                    .desired_width(190.0),
            )
            .labelled_by(label.id);
        let entered = field.lost_focus() && ui.input(|input| input.key_pressed(egui::Key::Enter));
        let load = ui.add_enabled(
            !view.model_path.trim().is_empty(),
            egui::Button::new("Load"),
        );
        if load.clicked() || entered {
            response.action = Some(DetectionAction::LoadModel);
        }
    });
    if let Some(note) = view.dialog_note {
        ui.weak(note);
    }

    ui.separator();
    let score = ui.add(
        egui::Slider::new(view.score_threshold, 0.0..=1.0)
            .text("Score threshold")
            .fixed_decimals(2),
    );
    let iou = ui
        .add(
            egui::Slider::new(view.iou_threshold, 0.05..=1.0)
                .text("IoU threshold")
                .fixed_decimals(2),
        )
        .on_hover_text("Of two boxes of one class overlapping more than this, the weaker goes");
    if score.changed() || iou.changed() {
        response.action = Some(DetectionAction::ThresholdsChanged);
    }
    ui.horizontal(|ui| {
        let live = ui
            .toggle_value(view.live, "Live")
            .on_hover_text("Detect on live frames, the newest each time the detector is free");
        if live.changed() {
            response.action = Some(DetectionAction::LiveChanged);
        }
        if let Some((rate_hz, inference_ms)) = view.live_stats {
            ui.label(format!(
                "{rate_hz:.1} detections/s, inference {inference_ms:.0} ms"
            ));
        }
    });
    if let Some(note) = &view.live_note {
        ui.weak(note);
    }
    if let Some((line, is_error)) = &view.frozen_line {
        if *is_error {
            ui.colored_label(ERROR_COLOR, line);
        } else {
            ui.label(line);
        }
    }
    if let Some(line) = &view.daemon_line {
        ui.weak(line);
    }

    ui.separator();
    match view.shown {
        None => {
            ui.weak("Freeze a frame (Space) to detect on it, or switch Live on");
        }
        Some(shown) => {
            ui.label(RichText::new(shown.heading()).color(shown.box_color()));
            ui.weak(format!("by {}", shown.detector));
            for (index, detection) in shown.detections.iter().enumerate() {
                let row = ui.selectable_label(
                    view.highlighted == Some(index),
                    RichText::new(detection_row_text(index, detection)).monospace(),
                );
                if row.hovered() {
                    response.hovered_row = Some(index);
                }
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_give_the_point_or_the_reason() {
        let mut detection = Detection {
            class_id: 0,
            label: "object".to_owned(),
            score: 0.9,
            box_px: [0.0; 4],
            position: None,
            position_missing: Some("no valid depth in the box's central region".to_owned()),
        };
        assert_eq!(
            detection_row_text(1, &detection),
            "#2 object 0.90  no 3D point: no valid depth in the box's central region"
        );
        detection.position = Some(shmproto::ObjectPosition {
            depth_m: 1.5,
            point_m: [0.1, -0.2, 1.5],
            distance_m: 1.5166,
            extent_m: None,
        });
        assert_eq!(
            detection_row_text(0, &detection),
            "#1 object 0.90  1.52 m  (0.10, -0.20, 1.50) m"
        );
    }
}
