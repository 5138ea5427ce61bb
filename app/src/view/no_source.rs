//! The screen shown while there is nothing to show: what is missing and what to do.

/// Why there is no picture, in words the user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoSourceInfo {
    /// What the daemon side reports ("aaa_rgb_frame does not exist", an open error, a loss).
    pub daemon: String,
    /// What the fallback reports ("no webcam: ...", "not built", "disabled").
    pub fallback: String,
    /// True while a source is connected but has not delivered a frame yet.
    pub waiting_for_first_frame: bool,
}

pub fn no_source_ui(ui: &mut egui::Ui, info: &NoSourceInfo) {
    ui.vertical_centered(|ui| {
        ui.add_space(ui.available_height() * 0.2);
        if info.waiting_for_first_frame {
            ui.heading("Waiting for the first frame");
        } else {
            ui.heading("No camera");
        }
        ui.add_space(12.0);
        ui.label(format!("Daemon: {}", info.daemon));
        ui.label(format!("Webcam: {}", info.fallback));
        ui.add_space(12.0);
        if !info.waiting_for_first_frame {
            ui.label("To see depth, start the capture daemon: make daemon-start");
            ui.label("Or plug in a camera.");
            ui.weak("The app keeps looking and connects by itself.");
        }
    });
}
