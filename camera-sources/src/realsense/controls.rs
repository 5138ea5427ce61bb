//! The colour and depth sensors' librealsense options as controls: which options, named how,
//! mapped to [`ControlInfo`], and read and set through the sensors.

use std::collections::HashSet;

use realsense_rust::device::Device;
use realsense_rust::kind::{Rs2Extension, Rs2Option, Rs2OptionRange};
use realsense_rust::sensor::Sensor;
use shmproto::control::{CommandError, ControlInfo, ControlKind, ErrorCode};

use crate::unknown_control;

/// The sensor an option belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SensorRole {
    Color,
    Depth,
}

/// One librealsense option offered as a control when a sensor supports it.
#[derive(Debug)]
struct OptionControl {
    option: Rs2Option,
    /// The control's name when one sensor has the option; prefixed with `color_` or
    /// `depth_` when both have it.
    name: &'static str,
    label: &'static str,
    /// Units per sensor, where librealsense documents them: depth exposure in
    /// microseconds; the colour sensor's exposure is a UVC value whose unit depends on the
    /// model, so it has none.
    color_unit: Option<&'static str>,
    depth_unit: Option<&'static str>,
}

const OPTION_CONTROLS: &[OptionControl] = &[
    OptionControl {
        option: Rs2Option::Exposure,
        name: "exposure",
        label: "Exposure",
        color_unit: None,
        depth_unit: Some("us"),
    },
    OptionControl {
        option: Rs2Option::EnableAutoExposure,
        name: "auto_exposure",
        label: "Auto exposure",
        color_unit: None,
        depth_unit: None,
    },
    OptionControl {
        option: Rs2Option::Gain,
        name: "gain",
        label: "Gain",
        color_unit: None,
        depth_unit: None,
    },
    OptionControl {
        option: Rs2Option::WhiteBalance,
        name: "white_balance",
        label: "White balance",
        color_unit: Some("K"),
        depth_unit: Some("K"),
    },
    OptionControl {
        option: Rs2Option::EnableAutoWhiteBalance,
        name: "auto_white_balance",
        label: "Auto white balance",
        color_unit: None,
        depth_unit: None,
    },
    OptionControl {
        option: Rs2Option::LaserPower,
        name: "laser_power",
        label: "Laser power",
        color_unit: Some("mW"),
        depth_unit: Some("mW"),
    },
    OptionControl {
        option: Rs2Option::EmitterEnabled,
        name: "emitter_enabled",
        label: "Emitter",
        color_unit: None,
        depth_unit: None,
    },
];

/// The control for `spec` on a sensor of `role`, from librealsense's range and current
/// value. A 0-to-1 option in steps of 1 is a toggle; anything else a range (the D400
/// emitter, 0 to 2 on some models, stays a range).
fn option_control(
    spec: &OptionControl,
    role: SensorRole,
    per_sensor: bool,
    range: &Rs2OptionRange,
    value: f32,
) -> ControlInfo {
    let (prefix, label_prefix, unit) = match role {
        SensorRole::Color => ("color_", "Colour", spec.color_unit),
        SensorRole::Depth => ("depth_", "Depth", spec.depth_unit),
    };
    let (name, label) = if per_sensor {
        (
            format!("{prefix}{}", spec.name),
            format!("{label_prefix} {}", spec.label.to_lowercase()),
        )
    } else {
        (spec.name.to_owned(), spec.label.to_owned())
    };
    let toggle = range.min == 0.0 && range.max == 1.0 && range.step == 1.0;
    let kind = if toggle {
        ControlKind::Toggle
    } else {
        ControlKind::Range {
            min: f64::from(range.min),
            max: f64::from(range.max),
            step: f64::from(range.step.max(0.0)),
        }
    };
    ControlInfo {
        name,
        label,
        kind,
        default: f64::from(range.default),
        value: f64::from(value),
        unit: unit.map(str::to_owned),
    }
}

/// `value` (already within the range) moved to the nearest step: librealsense refuses
/// values between steps.
fn snap_to_step(control: &ControlInfo, value: f64) -> f64 {
    match control.kind {
        ControlKind::Range { min, max, step } if step > 0.0 => {
            (min + ((value - min) / step).round() * step).clamp(min, max)
        }
        _ => value,
    }
}

/// The device's colour and depth sensors, whose options are the source's controls.
///
/// Read and set from the caller's thread through sensor handles of their own (`Sensor` is
/// `Send`, and librealsense's options are safe to use while another thread streams).
pub(super) struct SensorControls {
    sensors: Vec<(SensorRole, Sensor)>,
}

impl SensorControls {
    /// The colour and depth sensors of `device`; other sensors (motion, ...) have no controls.
    pub(super) fn of_device(device: &Device) -> Self {
        let sensors = device
            .sensors()
            .into_iter()
            .filter_map(|sensor| {
                let role = match sensor.extension() {
                    Rs2Extension::ColorSensor => SensorRole::Color,
                    Rs2Extension::DepthSensor
                    | Rs2Extension::DepthStereoSensor
                    | Rs2Extension::L500DepthSensor => SensorRole::Depth,
                    _ => return None,
                };
                Some((role, sensor))
            })
            .collect();
        SensorControls { sensors }
    }

    /// Every control, with its range and current value.
    pub(super) fn list(&self) -> Vec<ControlInfo> {
        self.option_controls()
            .into_iter()
            .map(|(control, _, _)| control)
            .collect()
    }

    /// Sets control `name` to `value` (moved to the nearest step); returns it as it is
    /// afterwards.
    pub(super) fn set(&mut self, name: &str, value: f64) -> Result<ControlInfo, CommandError> {
        let Some((control, sensor_index, option)) = self
            .option_controls()
            .into_iter()
            .find(|(control, _, _)| control.name == name)
        else {
            return Err(unknown_control(name));
        };
        control.check(value)?;
        let value = snap_to_step(&control, value);
        let (_, sensor) = &mut self.sensors[sensor_index];
        sensor.set_option(option, value as f32).map_err(|error| {
            CommandError::new(
                ErrorCode::DeviceError,
                format!("the RealSense refused {name} = {value}: {error}"),
            )
        })?;
        self.option_controls()
            .into_iter()
            .find(|(control, _, _)| control.name == name)
            .map(|(control, _, _)| control)
            .ok_or_else(|| {
                CommandError::new(
                    ErrorCode::DeviceError,
                    format!("{name} cannot be read back after setting it"),
                )
            })
    }

    /// The options of [`OPTION_CONTROLS`] that a sensor supports, can set and can read,
    /// each with the index of its sensor in `self.sensors` and its librealsense option.
    ///
    /// An option that both the colour and the depth sensor support is named after the
    /// sensor (`color_exposure`, `depth_exposure`), else it has the plain name
    /// (`exposure`). The names depend only on what the sensors support, not on whether the
    /// option is read-only right now, so they stay the same across reopens of a device.
    /// Read-only options (all options of a recording) are not listed: `ControlInfo` has
    /// no way to say "read-only".
    fn option_controls(&self) -> Vec<(ControlInfo, usize, Rs2Option)> {
        let mut found = Vec::new();
        for spec in OPTION_CONTROLS {
            let supporting: Vec<usize> = self
                .sensors
                .iter()
                .enumerate()
                .filter(|(_, (_, sensor))| sensor.supports_option(spec.option))
                .map(|(index, _)| index)
                .collect();
            let roles: HashSet<SensorRole> = supporting
                .iter()
                .map(|&index| self.sensors[index].0)
                .collect();
            let per_sensor = roles.len() > 1;
            for index in supporting {
                let (role, sensor) = &self.sensors[index];
                if sensor.is_option_read_only(spec.option) {
                    continue;
                }
                let (Some(range), Some(value)) = (
                    sensor.get_option_range(spec.option),
                    sensor.get_option(spec.option),
                ) else {
                    continue;
                };
                let control = option_control(spec, *role, per_sensor, &range, value);
                // Two sensors of one role (not seen on any RealSense): the first wins.
                if found
                    .iter()
                    .any(|(known, _, _): &(ControlInfo, usize, Rs2Option)| {
                        known.name == control.name
                    })
                {
                    continue;
                }
                found.push((control, index, spec.option));
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::{option_control, snap_to_step, OptionControl, SensorRole, OPTION_CONTROLS};
    use realsense_rust::kind::{Rs2Option, Rs2OptionRange};
    use shmproto::control::{ControlKind, ErrorCode};

    fn spec(option: Rs2Option) -> &'static OptionControl {
        OPTION_CONTROLS
            .iter()
            .find(|spec| spec.option == option)
            .expect("no such option control")
    }

    #[test]
    fn a_range_keeps_librealsense_s_limits_step_default_and_value() {
        // The D435 depth sensor's exposure.
        let range = Rs2OptionRange {
            min: 1.0,
            max: 165_000.0,
            step: 1.0,
            default: 33_000.0,
        };
        let control = option_control(
            spec(Rs2Option::Exposure),
            SensorRole::Depth,
            true,
            &range,
            8500.0,
        );
        assert_eq!(control.name, "depth_exposure");
        assert_eq!(control.label, "Depth exposure");
        assert_eq!(
            control.kind,
            ControlKind::Range {
                min: 1.0,
                max: 165_000.0,
                step: 1.0
            }
        );
        assert_eq!((control.default, control.value), (33_000.0, 8500.0));
        assert_eq!(control.unit.as_deref(), Some("us"));
        assert_eq!(
            control.check(200_000.0).unwrap_err().code,
            ErrorCode::OutOfRange
        );
        // The colour sensor alone: the plain name, no unit.
        let color = option_control(
            spec(Rs2Option::Exposure),
            SensorRole::Color,
            false,
            &Rs2OptionRange {
                min: 1.0,
                max: 10_000.0,
                step: 1.0,
                default: 156.0,
            },
            156.0,
        );
        assert_eq!((color.name.as_str(), color.unit), ("exposure", None));
    }

    #[test]
    fn zero_to_one_in_steps_of_one_is_a_toggle_and_wider_is_a_range() {
        let toggle_range = Rs2OptionRange {
            min: 0.0,
            max: 1.0,
            step: 1.0,
            default: 1.0,
        };
        let auto = option_control(
            spec(Rs2Option::EnableAutoExposure),
            SensorRole::Color,
            true,
            &toggle_range,
            0.0,
        );
        assert_eq!(auto.name, "color_auto_exposure");
        assert_eq!(auto.kind, ControlKind::Toggle);
        assert!(auto.check(1.0).is_ok());
        assert!(auto.check(0.5).is_err());
        let emitter = option_control(
            spec(Rs2Option::EmitterEnabled),
            SensorRole::Depth,
            false,
            &Rs2OptionRange {
                max: 2.0,
                ..toggle_range
            },
            1.0,
        );
        assert_eq!(emitter.name, "emitter_enabled");
        assert!(matches!(emitter.kind, ControlKind::Range { max, .. } if max == 2.0));
    }

    #[test]
    fn values_move_to_the_nearest_step() {
        let laser = option_control(
            spec(Rs2Option::LaserPower),
            SensorRole::Depth,
            false,
            &Rs2OptionRange {
                min: 0.0,
                max: 360.0,
                step: 30.0,
                default: 150.0,
            },
            150.0,
        );
        assert_eq!(laser.unit.as_deref(), Some("mW"));
        assert_eq!(snap_to_step(&laser, 100.0), 90.0);
        assert_eq!(snap_to_step(&laser, 359.0), 360.0);
        let continuous = option_control(
            spec(Rs2Option::Gain),
            SensorRole::Color,
            false,
            &Rs2OptionRange {
                min: 0.0,
                max: 128.0,
                step: 0.0,
                default: 64.0,
            },
            64.0,
        );
        assert_eq!(snap_to_step(&continuous, 12.3), 12.3);
    }
}
