//! The toolbar: freeze for detection, save the frozen frame, record the daemon's frames, depth
//! range, and the switches of the side panels (detection, daemon controls, daemon health).

use std::time::Duration;

use super::ViewMode;
use crate::colormap::DepthRange;

/// What the user asked for in the toolbar this pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolbarAction {
    ToggleFreeze,
    Save,
    StartRecording,
    StopRecording,
}

/// A recording under way, as the toolbar shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingStatus {
    pub file_name: String,
    pub elapsed: Duration,
    pub bytes: u64,
    /// Stop was asked; the recorder is finishing the file.
    pub stopping: bool,
}

/// The toolbar's editable state.
pub struct Toolbar<'a> {
    /// 2D images or the 3D point cloud.
    pub view_mode: &'a mut ViewMode,
    pub frozen: bool,
    pub can_freeze: bool,
    pub save_folder: &'a mut String,
    pub saving: bool,
    pub depth_range: &'a mut DepthRange,
    pub show_depth_range: bool,
    /// Whether the detection panel is open.
    pub detection_open: &'a mut bool,
    /// Whether the controls panel is open.
    pub controls_open: &'a mut bool,
    /// Whether the health panel is open.
    pub health_open: &'a mut bool,
    /// Whether a recording can start (a daemon is connected and its settings known).
    pub can_record: bool,
    pub recording: Option<RecordingStatus>,
}

/// The Record / Stop button and, while recording, file name, elapsed time and size.
fn recording_ui(
    ui: &mut egui::Ui,
    can_record: bool,
    recording: Option<&RecordingStatus>,
) -> Option<ToolbarAction> {
    let Some(status) = recording else {
        let record = ui
            .add_enabled(can_record, egui::Button::new("Record"))
            .on_hover_text("Record the daemon's frames into an MCAP file in the save folder (opens in Foxglove, Lichtblick, rerun)")
            .on_disabled_hover_text("Recording needs a running daemon");
        return record.clicked().then_some(ToolbarAction::StartRecording);
    };
    let stop = ui
        .add_enabled(!status.stopping, egui::Button::new("Stop recording"))
        .on_hover_text("Finish the recording file");
    let seconds = status.elapsed.as_secs();
    ui.label(format!(
        "Recording {} {}:{:02} {:.1} MB",
        status.file_name,
        seconds / 60,
        seconds % 60,
        status.bytes as f64 / 1e6
    ));
    stop.clicked().then_some(ToolbarAction::StopRecording)
}

pub fn toolbar_ui(ui: &mut egui::Ui, toolbar: Toolbar<'_>) -> Option<ToolbarAction> {
    let mut action = None;
    ui.horizontal(|ui| {
        ui.selectable_value(toolbar.view_mode, ViewMode::Images, "2D")
            .on_hover_text("Colour and depth images side by side");
        ui.selectable_value(toolbar.view_mode, ViewMode::PointCloud, "3D")
            .on_hover_text("The depth as a point cloud in the colours of the image, turned with the mouse");
        ui.separator();
        let freeze_label = if toolbar.frozen { "Unfreeze" } else { "Freeze" };
        let freeze = ui
            .add_enabled(
                toolbar.can_freeze || toolbar.frozen,
                egui::Button::new(freeze_label),
            )
            .on_hover_text("Freeze colour, depth and metadata of the shown frame (Space)");
        if freeze.clicked() {
            action = Some(ToolbarAction::ToggleFreeze);
        }
        ui.separator();
        let folder_label = ui.label("Save folder:");
        ui.add(egui::TextEdit::singleline(toolbar.save_folder).desired_width(220.0))
            .labelled_by(folder_label.id);
        let save = ui
            .add_enabled(toolbar.frozen && !toolbar.saving, egui::Button::new("Save"))
            .on_hover_text(
                "Write colour PNG, 16-bit depth PNG and metadata JSON of the frozen frame, and its detections once detected",
            );
        if save.clicked() {
            action = Some(ToolbarAction::Save);
        }
        ui.separator();
        if let Some(recording) = recording_ui(ui, toolbar.can_record, toolbar.recording.as_ref()) {
            action = Some(recording);
        }
        ui.separator();
        ui.toggle_value(toolbar.detection_open, "Detection")
            .on_hover_text("Detect objects in the frozen frame or live; choose the detector");
        ui.toggle_value(toolbar.controls_open, "Controls")
            .on_hover_text("The daemon's camera controls (exposure, gain, ...)");
        ui.toggle_value(toolbar.health_open, "Health")
            .on_hover_text("The daemon's metrics and a plot of the last minute");
        if toolbar.show_depth_range {
            ui.separator();
            ui.label("Depth range:");
            let range = toolbar.depth_range;
            let far_m = range.far_m;
            ui.add(
                egui::DragValue::new(&mut range.near_m)
                    .range(0.0..=far_m - 0.05)
                    .speed(0.01)
                    .suffix(" m"),
            );
            ui.label("to");
            let near_m = range.near_m;
            ui.add(
                egui::DragValue::new(&mut range.far_m)
                    .range(near_m + 0.05..=65.0)
                    .speed(0.01)
                    .suffix(" m"),
            );
        }
    });
    action
}
