//! nokhwa's camera controls as [`ControlInfo`]s (a pure mapping, tested without a camera), and
//! reading and setting them on a camera.

use nokhwa::utils::{
    CameraControl, ControlValueDescription, ControlValueSetter, KnownCameraControl,
    KnownCameraControlFlag,
};
use nokhwa::Camera;
use shmproto::control::{CommandError, ControlInfo, ControlKind, ErrorCode};

use crate::unknown_control;

/// V4L2 control ids (linux/v4l2-controls.h) that nokhwa reports as
/// [`KnownCameraControl::Other`]; UVC webcams expose exposure, focus, zoom, pan and tilt
/// as these "absolute" controls rather than the ones nokhwa knows by name.
const V4L2_CID_AUTO_WHITE_BALANCE: u128 = 0x0098_090c;
const V4L2_CID_AUTOGAIN: u128 = 0x0098_0912;
const V4L2_CID_POWER_LINE_FREQUENCY: u128 = 0x0098_0918;
const V4L2_CID_EXPOSURE_AUTO: u128 = 0x009a_0901;
const V4L2_CID_EXPOSURE_ABSOLUTE: u128 = 0x009a_0902;
const V4L2_CID_EXPOSURE_AUTO_PRIORITY: u128 = 0x009a_0903;
const V4L2_CID_PAN_ABSOLUTE: u128 = 0x009a_0908;
const V4L2_CID_TILT_ABSOLUTE: u128 = 0x009a_0909;
const V4L2_CID_FOCUS_ABSOLUTE: u128 = 0x009a_090a;
const V4L2_CID_FOCUS_AUTO: u128 = 0x009a_090c;
const V4L2_CID_ZOOM_ABSOLUTE: u128 = 0x009a_090d;

/// How a value reaches nokhwa.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum ValueType {
    /// Whole numbers from `min` in steps of `step` (0 or 1: any whole number).
    Integer {
        min: i64,
        step: i64,
    },
    Float,
    Boolean,
}

/// One webcam control: what clients see, and how to set it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct WebcamControl {
    pub id: KnownCameraControl,
    pub info: ControlInfo,
    pub value_type: ValueType,
}

impl WebcamControl {
    /// The nokhwa value for `value` (already checked against the range): integers
    /// rounded to the nearest step, toggles as booleans.
    pub(super) fn setter(&self, value: f64) -> ControlValueSetter {
        match self.value_type {
            ValueType::Integer { min, step } => {
                let step = step.max(1) as f64;
                let steps = ((value - min as f64) / step).round();
                let mut whole = min as f64 + steps * step;
                if let ControlKind::Range { max, .. } = self.info.kind {
                    if whole > max {
                        whole -= step;
                    }
                }
                ControlValueSetter::Integer(whole as i64)
            }
            ValueType::Float => ControlValueSetter::Float(value),
            ValueType::Boolean => ControlValueSetter::Boolean(value != 0.0),
        }
    }
}

/// Our name, label and unit for a control nokhwa knows, or a V4L2 control we know.
fn known_name(
    id: KnownCameraControl,
) -> Option<(&'static str, &'static str, Option<&'static str>)> {
    Some(match id {
        KnownCameraControl::Brightness => ("brightness", "Brightness", None),
        KnownCameraControl::Contrast => ("contrast", "Contrast", None),
        KnownCameraControl::Hue => ("hue", "Hue", None),
        KnownCameraControl::Saturation => ("saturation", "Saturation", None),
        KnownCameraControl::Sharpness => ("sharpness", "Sharpness", None),
        KnownCameraControl::Gamma => ("gamma", "Gamma", None),
        KnownCameraControl::WhiteBalance => ("white_balance", "White balance", Some("K")),
        KnownCameraControl::BacklightComp => {
            ("backlight_compensation", "Backlight compensation", None)
        }
        KnownCameraControl::Gain => ("gain", "Gain", None),
        KnownCameraControl::Pan => ("pan_relative", "Pan (relative)", None),
        KnownCameraControl::Tilt => ("tilt_relative", "Tilt (relative)", None),
        KnownCameraControl::Zoom => ("zoom_relative", "Zoom (relative)", None),
        KnownCameraControl::Exposure => ("exposure", "Exposure", None),
        KnownCameraControl::Iris => ("iris_relative", "Iris (relative)", None),
        KnownCameraControl::Focus => ("focus_relative", "Focus (relative)", None),
        KnownCameraControl::Other(id) => match id {
            V4L2_CID_AUTO_WHITE_BALANCE => ("auto_white_balance", "Auto white balance", None),
            V4L2_CID_AUTOGAIN => ("auto_gain", "Auto gain", None),
            V4L2_CID_POWER_LINE_FREQUENCY => (
                "power_line_frequency",
                "Power line frequency (0 off, 1 50 Hz, 2 60 Hz)",
                None,
            ),
            V4L2_CID_EXPOSURE_AUTO => (
                "auto_exposure",
                "Auto exposure (1 manual, 3 aperture priority)",
                None,
            ),
            V4L2_CID_EXPOSURE_ABSOLUTE => ("exposure", "Exposure", Some("100 us")),
            V4L2_CID_EXPOSURE_AUTO_PRIORITY => (
                "exposure_auto_priority",
                "Exposure may lower the frame rate",
                None,
            ),
            V4L2_CID_PAN_ABSOLUTE => ("pan", "Pan", Some("arcsec")),
            V4L2_CID_TILT_ABSOLUTE => ("tilt", "Tilt", Some("arcsec")),
            V4L2_CID_FOCUS_ABSOLUTE => ("focus", "Focus", None),
            V4L2_CID_FOCUS_AUTO => ("auto_focus", "Auto focus", None),
            V4L2_CID_ZOOM_ABSOLUTE => ("zoom", "Zoom", None),
            _ => return None,
        },
    })
}

/// `White Balance Temperature, Auto` -> `white_balance_temperature_auto`.
fn snake_case(label: &str) -> String {
    let mut name = String::with_capacity(label.len());
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.is_empty() && !name.ends_with('_') {
            name.push('_');
        }
    }
    while name.ends_with('_') {
        name.pop();
    }
    name
}

/// The control for one of nokhwa's descriptions, or `None` when it cannot be offered:
/// read-only, write-only (no value to show) or disabled controls, and values that are not
/// a number with a range or a boolean (strings, menus of other backends, points, ...).
/// V4L2 menus arrive from nokhwa as integer ranges and are offered as such. A control
/// that is only inactive (exposure while auto exposure is on) is listed; setting it may
/// then fail with the driver's error.
pub(super) fn map_control(control: &CameraControl) -> Option<WebcamControl> {
    let flags = control.flag();
    if flags.contains(&KnownCameraControlFlag::ReadOnly)
        || flags.contains(&KnownCameraControlFlag::WriteOnly)
        // nokhwa flags inactive controls as disabled too, and says which by `active`.
        || (flags.contains(&KnownCameraControlFlag::Disabled) && control.active())
    {
        return None;
    }
    let (kind, default, value, value_type) = match *control.description() {
        ControlValueDescription::IntegerRange {
            min,
            max,
            value,
            step,
            default,
        } => (
            ControlKind::Range {
                min: min as f64,
                max: max as f64,
                step: step.max(1) as f64,
            },
            default as f64,
            value as f64,
            ValueType::Integer { min, step },
        ),
        ControlValueDescription::FloatRange {
            min,
            max,
            value,
            step,
            default,
        } => (
            ControlKind::Range {
                min,
                max,
                step: step.max(0.0),
            },
            default,
            value,
            ValueType::Float,
        ),
        ControlValueDescription::Boolean { value, default } => (
            ControlKind::Toggle,
            f64::from(u8::from(default)),
            f64::from(u8::from(value)),
            ValueType::Boolean,
        ),
        _ => return None,
    };
    if let ControlKind::Range { min, max, .. } = kind {
        if !(min.is_finite() && max.is_finite() && min <= max) {
            return None;
        }
    }
    let (name, label, unit) = match known_name(control.control()) {
        Some((name, label, unit)) => (name.to_owned(), label.to_owned(), unit),
        None => (snake_case(control.name()), control.name().to_owned(), None),
    };
    if name.is_empty() {
        return None;
    }
    Some(WebcamControl {
        id: control.control(),
        info: ControlInfo {
            name,
            label,
            kind,
            default,
            value,
            unit: unit.map(str::to_owned),
        },
        value_type,
    })
}

/// Every control that can be offered, in nokhwa's order; of two with the same name (a
/// camera with both V4L2 exposure controls) the first.
pub(super) fn map_controls(controls: &[CameraControl]) -> Vec<WebcamControl> {
    let mut mapped: Vec<WebcamControl> = Vec::new();
    for control in controls.iter().filter_map(map_control) {
        if !mapped
            .iter()
            .any(|known| known.info.name == control.info.name)
        {
            mapped.push(control);
        }
    }
    mapped
}

/// The camera's controls as nokhwa reports them now (none if it cannot).
pub(super) fn camera_controls(camera: &Camera) -> Vec<WebcamControl> {
    match camera.camera_controls() {
        Ok(controls) => map_controls(&controls),
        Err(error) => {
            tracing::warn!("cannot read the webcam's controls: {error}");
            Vec::new()
        }
    }
}

/// Sets control `name` of `camera` to `value`; returns it as it is afterwards.
pub(super) fn set_camera_control(
    camera: &mut Camera,
    name: &str,
    value: f64,
) -> Result<ControlInfo, CommandError> {
    let Some(control) = camera_controls(camera)
        .into_iter()
        .find(|control| control.info.name == name)
    else {
        return Err(unknown_control(name));
    };
    control.info.check(value)?;
    camera
        .set_camera_control(control.id, control.setter(value))
        .map_err(|error| {
            CommandError::new(
                ErrorCode::DeviceError,
                format!("the webcam refused {name} = {value}: {error}"),
            )
        })?;
    camera_controls(camera)
        .into_iter()
        .find(|control| control.info.name == name)
        .map(|control| control.info)
        .ok_or_else(|| {
            CommandError::new(
                ErrorCode::DeviceError,
                format!("{name} cannot be read back after setting it"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::{map_control, map_controls, ValueType};
    use nokhwa::utils::{
        CameraControl, ControlValueDescription, ControlValueSetter, KnownCameraControl,
        KnownCameraControlFlag,
    };
    use shmproto::control::{ControlKind, ErrorCode};

    fn integer(
        id: KnownCameraControl,
        name: &str,
        (min, max, step): (i64, i64, i64),
        value: i64,
        default: i64,
    ) -> CameraControl {
        CameraControl::new(
            id,
            name.to_owned(),
            ControlValueDescription::IntegerRange {
                min,
                max,
                value,
                step,
                default,
            },
            Vec::new(),
            true,
        )
    }

    fn boolean(id: KnownCameraControl, name: &str, value: bool) -> CameraControl {
        CameraControl::new(
            id,
            name.to_owned(),
            ControlValueDescription::Boolean {
                value,
                default: true,
            },
            Vec::new(),
            true,
        )
    }

    #[test]
    fn integer_ranges_become_ranges_with_their_step() {
        let brightness = integer(
            KnownCameraControl::Brightness,
            "Brightness",
            (-64, 64, 1),
            10,
            0,
        );
        let control = map_control(&brightness).expect("brightness not mapped");
        assert_eq!(control.id, KnownCameraControl::Brightness);
        assert_eq!(control.info.name, "brightness");
        assert_eq!(
            control.info.kind,
            ControlKind::Range {
                min: -64.0,
                max: 64.0,
                step: 1.0
            }
        );
        assert_eq!((control.info.default, control.info.value), (0.0, 10.0));
        assert_eq!(control.value_type, ValueType::Integer { min: -64, step: 1 });
        assert_eq!(control.setter(12.0), ControlValueSetter::Integer(12));
        assert_eq!(
            control.info.check(65.0).unwrap_err().code,
            ErrorCode::OutOfRange
        );

        // A UVC white balance in steps of 10 K: values move to the nearest step.
        let white_balance = integer(
            KnownCameraControl::WhiteBalance,
            "White Balance Temperature",
            (2800, 6500, 10),
            4600,
            4600,
        );
        let control = map_control(&white_balance).unwrap();
        assert_eq!(control.info.name, "white_balance");
        assert_eq!(control.info.unit.as_deref(), Some("K"));
        assert_eq!(control.setter(4604.0), ControlValueSetter::Integer(4600));
        assert_eq!(control.setter(4606.0), ControlValueSetter::Integer(4610));
    }

    #[test]
    fn booleans_become_toggles() {
        let auto_white_balance = boolean(
            KnownCameraControl::Other(0x0098_090c),
            "White Balance Temperature, Auto",
            false,
        );
        let control = map_control(&auto_white_balance).unwrap();
        assert_eq!(control.info.name, "auto_white_balance");
        assert_eq!(control.info.kind, ControlKind::Toggle);
        assert_eq!((control.info.default, control.info.value), (1.0, 0.0));
        assert_eq!(control.setter(1.0), ControlValueSetter::Boolean(true));
        assert!(control.info.check(0.5).is_err());
    }

    #[test]
    fn uvc_exposure_and_unknown_v4l2_controls_get_names() {
        let exposure = integer(
            KnownCameraControl::Other(0x009a_0902),
            "Exposure Time, Absolute",
            (3, 2047, 1),
            250,
            250,
        );
        let control = map_control(&exposure).unwrap();
        assert_eq!(control.info.name, "exposure");
        assert_eq!(control.info.unit.as_deref(), Some("100 us"));
        let unknown = integer(
            KnownCameraControl::Other(0x0098_0999),
            "LED1 Mode (vendor)",
            (0, 3, 1),
            0,
            0,
        );
        let control = map_control(&unknown).unwrap();
        assert_eq!(control.info.name, "led1_mode_vendor");
        assert_eq!(control.info.label, "LED1 Mode (vendor)");
    }

    #[test]
    fn read_only_disabled_and_unsupported_controls_are_left_out() {
        let flagged = |flag, active| {
            CameraControl::new(
                KnownCameraControl::Gain,
                "Gain".to_owned(),
                ControlValueDescription::IntegerRange {
                    min: 0,
                    max: 255,
                    value: 0,
                    step: 1,
                    default: 0,
                },
                vec![flag],
                active,
            )
        };
        assert!(map_control(&flagged(KnownCameraControlFlag::ReadOnly, true)).is_none());
        assert!(map_control(&flagged(KnownCameraControlFlag::Disabled, true)).is_none());
        // Inactive (exposure while auto exposure is on) is listed.
        assert!(map_control(&flagged(KnownCameraControlFlag::Disabled, false)).is_some());
        let text = CameraControl::new(
            KnownCameraControl::Other(1),
            "Name".to_owned(),
            ControlValueDescription::String {
                value: "x".to_owned(),
                default: None,
            },
            Vec::new(),
            true,
        );
        assert!(map_control(&text).is_none());

        // Duplicate names: the first wins, the order is kept.
        let controls = [
            integer(KnownCameraControl::Exposure, "Exposure", (0, 10, 1), 5, 5),
            boolean(KnownCameraControl::Other(0x009a_090c), "Focus, Auto", true),
            integer(
                KnownCameraControl::Other(0x009a_0902),
                "Exposure Time, Absolute",
                (3, 2047, 1),
                250,
                250,
            ),
            text,
        ];
        let mapped = map_controls(&controls);
        let names: Vec<&str> = mapped.iter().map(|c| c.info.name.as_str()).collect();
        assert_eq!(names, ["exposure", "auto_focus"]);
        assert_eq!(mapped[0].id, KnownCameraControl::Exposure);
    }
}
