//! The controls panel: the daemon's camera controls as sliders and checkboxes with the real
//! ranges, each with the daemon's last answer; disabled with an explanation when the shown
//! source cannot be controlled.

use egui::{Color32, RichText};
use shmproto::control::ControlKind;

use crate::control_link::{format_value, ControlFeedback, ControlList, DaemonControls};

/// What the panel can work with this pass.
pub enum ControlsAvailability<'a> {
    /// The daemon is shown and its command channel is being used.
    Daemon(&'a DaemonControls),
    /// Nothing to control; the text says why and what to do.
    Unavailable(String),
}

/// What the user did in the panel.
#[derive(Debug, Clone, PartialEq)]
pub enum ControlAction {
    Set {
        name: String,
        value: f64,
    },
    /// Ask the daemon for its controls again.
    Refresh,
}

const ERROR_COLOR: Color32 = Color32::from_rgb(220, 60, 60);

pub fn controls_ui(
    ui: &mut egui::Ui,
    availability: &ControlsAvailability<'_>,
) -> Option<ControlAction> {
    ui.heading("Controls");
    let controls = match availability {
        ControlsAvailability::Unavailable(reason) => {
            disabled_ui(ui, reason);
            return None;
        }
        ControlsAvailability::Daemon(controls) => controls,
    };
    match controls.list() {
        ControlList::Loading => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Asking the daemon for its controls...");
            });
            None
        }
        ControlList::Failed(error) => {
            disabled_ui(ui, &format!("Cannot control the daemon: {error}"));
            ui.button("Retry")
                .clicked()
                .then_some(ControlAction::Refresh)
        }
        ControlList::Loaded(list) if list.is_empty() => {
            disabled_ui(ui, "The daemon's source has no controls.");
            None
        }
        ControlList::Loaded(list) => {
            let mut action = None;
            for control in list {
                ui.separator();
                let changed = match control.kind {
                    ControlKind::Range { min, max, step } => {
                        let mut value = control.value;
                        let mut slider =
                            egui::Slider::new(&mut value, min..=max).text(&control.label);
                        if step > 0.0 {
                            slider = slider.step_by(step);
                        }
                        if let Some(unit) = &control.unit {
                            slider = slider.suffix(format!(" {unit}"));
                        }
                        ui.add(slider).changed().then_some(value)
                    }
                    ControlKind::Toggle => {
                        let mut on = control.value != 0.0;
                        ui.checkbox(&mut on, &control.label)
                            .changed()
                            .then_some(if on { 1.0 } else { 0.0 })
                    }
                };
                if let Some(value) = changed {
                    action = Some(ControlAction::Set {
                        name: control.name.clone(),
                        value,
                    });
                }
                ui.horizontal(|ui| {
                    let mut default = control.clone();
                    default.value = control.default;
                    let reset = ui
                        .add_enabled(
                            control.value != control.default,
                            egui::Button::new("Default").small(),
                        )
                        .on_hover_text(format!("Back to {}", format_value(&default)));
                    if reset.clicked() {
                        action = Some(ControlAction::Set {
                            name: control.name.clone(),
                            value: control.default,
                        });
                    }
                    match controls.feedback(&control.name) {
                        Some(ControlFeedback::Applied(text)) => {
                            ui.weak(format!("daemon: {text}"));
                        }
                        Some(ControlFeedback::Refused(error)) => {
                            ui.label(RichText::new(error).color(ERROR_COLOR));
                        }
                        None => {}
                    }
                });
            }
            ui.separator();
            if ui
                .button("Reload")
                .on_hover_text("Read the values from the daemon again")
                .clicked()
            {
                action = Some(ControlAction::Refresh);
            }
            action
        }
    }
}

/// The explanation, in a disabled part of the panel.
fn disabled_ui(ui: &mut egui::Ui, reason: &str) {
    ui.add_enabled_ui(false, |ui| {
        ui.label(reason);
    });
}
