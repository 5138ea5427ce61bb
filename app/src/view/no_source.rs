//! The screen shown while there is nothing to show: what is missing and what to do, with a
//! button that starts the daemon.

use egui::{Color32, RichText};

use shmproto::SourceKind;

/// Why there is no picture, in words the user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoSourceInfo {
    /// What the first line names: "Daemon", or "Remote camera" for `aaa --remote`.
    pub primary: &'static str,
    /// What the daemon side reports ("aaa_rgb_frame does not exist", an open error, a loss).
    pub daemon: String,
    /// What the fallback reports ("no webcam: ...", "not built", "disabled").
    pub fallback: String,
    /// True while a source is connected but has not delivered a frame yet.
    pub waiting_for_first_frame: bool,
}

/// The "Start daemon" part of the screen.
pub struct StartDaemon<'a> {
    /// The source the daemon opens; the user may change it.
    pub source: &'a mut SourceKind,
    /// False while a start is under way.
    pub can_start: bool,
    /// How the last start went: the text, and whether it is a failure.
    pub progress: Option<(String, bool)>,
}

/// Draws the screen; true when the user asked to start the daemon.
pub fn no_source_ui(
    ui: &mut egui::Ui,
    info: &NoSourceInfo,
    start: Option<StartDaemon<'_>>,
) -> bool {
    let mut start_clicked = false;
    ui.vertical_centered(|ui| {
        ui.add_space(ui.available_height() * 0.2);
        if info.waiting_for_first_frame {
            ui.heading("Waiting for the first frame");
        } else {
            ui.heading("No camera");
        }
        ui.add_space(12.0);
        ui.label(format!("{}: {}", info.primary, info.daemon));
        ui.label(format!("Webcam: {}", info.fallback));
        ui.add_space(12.0);
        if info.waiting_for_first_frame {
            return;
        }
        if let Some(start) = start {
            ui.horizontal(|ui| {
                // Centre the row: the combo box and button are about 300 points wide.
                ui.add_space(((ui.available_width() - 300.0) / 2.0).max(0.0));
                egui::ComboBox::from_label("source")
                    .selected_text(start.source.as_str())
                    .show_ui(ui, |ui| {
                        for choice in SourceKind::SELECTABLE {
                            ui.selectable_value(start.source, choice, choice.as_str());
                        }
                    });
                start_clicked = ui
                    .add_enabled(start.can_start, egui::Button::new("Start daemon"))
                    .on_hover_text(
                        "Run aaa-camera-daemon in the background; it keeps running when the app closes",
                    )
                    .clicked();
            });
            if let Some((text, failed)) = &start.progress {
                let color = if *failed {
                    Color32::from_rgb(220, 60, 60)
                } else {
                    ui.visuals().text_color()
                };
                ui.label(RichText::new(text).color(color));
            }
            ui.add_space(8.0);
        }
        ui.label("Or from a shell: make daemon-start");
        ui.label("Or plug in a camera.");
        ui.weak("The app keeps looking and connects by itself.");
    });
    start_clicked
}
