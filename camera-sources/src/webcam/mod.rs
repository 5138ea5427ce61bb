//! USB and built-in webcams through nokhwa: colour only, decoded to RGB8.
//!
//! The code that talks to nokhwa is compiled only with the cargo feature `webcam` (it needs
//! libclang at build time: `scripts/setup-build-deps.sh`). [`open_webcam`] exists in every
//! build; without the feature it returns [`SourceError::NotBuilt`].
//!
//! Nothing here is specific to the daemon: the app opens a `WebcamSource` directly when no
//! daemon runs.

use super::{Source, SourceError};
#[cfg(not(feature = "webcam"))]
use shmproto::SourceKind;

#[cfg(feature = "webcam")]
pub use device::WebcamSource;

/// How to open a webcam.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebcamConfig {
    /// Device index: `/dev/video<index>` on Linux.
    pub index: u32,
    /// Requested size and rate; the camera's closest mode is used (nearest size first, then
    /// nearest rate), and [`Source::geometry`] tells which.
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

impl Default for WebcamConfig {
    /// The first webcam at 640x480, 30 fps.
    fn default() -> Self {
        WebcamConfig {
            index: 0,
            width: 640,
            height: 480,
            fps: 30,
        }
    }
}

/// True when this binary was built with webcam support.
pub const WEBCAM_BUILT: bool = cfg!(feature = "webcam");

/// Opens a webcam as a [`Source`].
///
/// Without the cargo feature `webcam` this returns [`SourceError::NotBuilt`].
pub fn open_webcam(config: &WebcamConfig) -> Result<Box<dyn Source>, SourceError> {
    #[cfg(feature = "webcam")]
    {
        Ok(Box::new(WebcamSource::open(config)?))
    }
    #[cfg(not(feature = "webcam"))]
    {
        let _ = config;
        Err(SourceError::NotBuilt {
            kind: SourceKind::Webcam,
            feature: "webcam",
        })
    }
}

/// nokhwa's camera controls as [`ControlInfo`]s: a pure mapping, tested without a camera.
#[cfg(feature = "webcam")]
pub(crate) mod controls {
    use nokhwa::utils::{
        CameraControl, ControlValueDescription, ControlValueSetter, KnownCameraControl,
        KnownCameraControlFlag,
    };
    use shmproto::control::{ControlInfo, ControlKind};

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
    pub(crate) enum ValueType {
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
    pub(crate) struct WebcamControl {
        pub id: KnownCameraControl,
        pub info: ControlInfo,
        pub value_type: ValueType,
    }

    impl WebcamControl {
        /// The nokhwa value for `value` (already checked against the range): integers
        /// rounded to the nearest step, toggles as booleans.
        pub(crate) fn setter(&self, value: f64) -> ControlValueSetter {
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
    pub(crate) fn map_control(control: &CameraControl) -> Option<WebcamControl> {
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
    pub(crate) fn map_controls(controls: &[CameraControl]) -> Vec<WebcamControl> {
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
}

#[cfg(feature = "webcam")]
mod device {
    use nokhwa::pixel_format::RgbFormat;
    use nokhwa::utils::{
        CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
    };
    use nokhwa::{Camera, FormatDecoder};
    use shmproto::control::{CommandError, ControlInfo, ErrorCode};
    use shmproto::{Geometry, SourceKind};

    use super::controls::{map_controls, WebcamControl};
    use super::WebcamConfig;
    use crate::{unknown_control, CapturedFrame, Source, SourceError, SourceInfo};

    /// A webcam delivering RGB8 frames (no depth).
    pub struct WebcamSource {
        camera: Camera,
        geometry: Geometry,
        info: SourceInfo,
        frame_number: u64,
    }

    impl std::fmt::Debug for WebcamSource {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("WebcamSource")
                .field("geometry", &self.geometry)
                .field("info", &self.info)
                .field("frame_number", &self.frame_number)
                .finish_non_exhaustive()
        }
    }

    fn open_error(reason: impl Into<String>) -> SourceError {
        SourceError::Open {
            kind: SourceKind::Webcam,
            reason: reason.into(),
        }
    }

    /// The `/dev/video*` nodes that exist, for error messages.
    #[cfg(target_os = "linux")]
    fn video_devices() -> Vec<String> {
        let Ok(entries) = std::fs::read_dir("/dev") else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("video"))
            .map(|name| format!("/dev/{name}"))
            .collect();
        names.sort();
        names
    }

    /// Preference among equally close modes: cheap to decode first.
    fn format_rank(format: FrameFormat) -> u8 {
        match format {
            FrameFormat::RAWRGB => 0,
            FrameFormat::YUYV => 1,
            FrameFormat::RAWBGR => 2,
            FrameFormat::NV12 => 3,
            FrameFormat::MJPEG => 4,
            FrameFormat::GRAY => 5,
        }
    }

    /// The mode closest to the request among those nokhwa can decode to RGB: nearest size
    /// (squared distance in pixels), then nearest frame rate, then the cheapest to decode.
    pub(super) fn closest_format(
        available: &[CameraFormat],
        width: u32,
        height: u32,
        fps: u32,
    ) -> Option<CameraFormat> {
        available
            .iter()
            .filter(|mode| RgbFormat::FORMATS.contains(&mode.format()))
            .min_by_key(|mode| {
                let dx = i64::from(mode.width()) - i64::from(width);
                let dy = i64::from(mode.height()) - i64::from(height);
                let dfps = (i64::from(mode.frame_rate()) - i64::from(fps)).abs();
                (dx * dx + dy * dy, dfps, format_rank(mode.format()))
            })
            .copied()
    }

    impl WebcamSource {
        /// Opens webcam `config.index` in the mode closest to the requested one and starts
        /// streaming.
        pub fn open(config: &WebcamConfig) -> Result<Self, SourceError> {
            #[cfg(target_os = "linux")]
            {
                let node = format!("/dev/video{}", config.index);
                if !std::path::Path::new(&node).exists() {
                    let present = video_devices();
                    return Err(open_error(if present.is_empty() {
                        format!("no webcam found: {node} does not exist (no /dev/video* devices)")
                    } else {
                        format!(
                            "no webcam found: {node} does not exist (present: {})",
                            present.join(", ")
                        )
                    }));
                }
            }
            let index = CameraIndex::Index(config.index);
            let any_mode = RequestedFormat::new::<RgbFormat>(RequestedFormatType::None);
            let mut camera = Camera::new(index, any_mode)
                .map_err(|error| open_error(format!("no webcam found: {error}")))?;
            let modes = camera
                .compatible_camera_formats()
                .map_err(|error| open_error(format!("cannot list the webcam's modes: {error}")))?;
            let Some(mode) = closest_format(&modes, config.width, config.height, config.fps) else {
                return Err(open_error(format!(
                    "the webcam offers no mode that can be decoded to RGB (modes: {modes:?})"
                )));
            };
            camera
                .set_camera_requset(RequestedFormat::with_formats(
                    RequestedFormatType::Exact(mode),
                    RgbFormat::FORMATS,
                ))
                .map_err(|error| open_error(format!("cannot set mode {mode}: {error}")))?;
            camera
                .open_stream()
                .map_err(|error| open_error(format!("cannot start streaming: {error}")))?;

            let format = camera.camera_format();
            let geometry = Geometry::rgb_only(format.width(), format.height());
            geometry
                .validate()
                .map_err(|error| open_error(format!("unusable mode {format}: {error}")))?;
            let name = camera.info().human_name();
            let description = format!("{name} (/dev/video{}, {format})", config.index);
            tracing::info!("webcam opened: {description}");
            Ok(WebcamSource {
                camera,
                geometry,
                info: SourceInfo {
                    kind: SourceKind::Webcam,
                    description,
                    intrinsics: None,
                    depth_scale_m: None,
                    depth_aligned_to_color: false,
                },
                frame_number: 0,
            })
        }
    }

    impl Source for WebcamSource {
        fn geometry(&self) -> Geometry {
            self.geometry
        }

        fn info(&self) -> SourceInfo {
            self.info.clone()
        }

        fn next_frame(&mut self, frame: &mut CapturedFrame) -> Result<(), SourceError> {
            let capture_error = |reason: String| SourceError::Capture {
                kind: SourceKind::Webcam,
                reason,
            };
            let buffer = self
                .camera
                .frame()
                .map_err(|error| capture_error(format!("cannot read a frame: {error}")))?;
            let capture_wall_ns = shmproto::wall_now_ns();
            let capture_mono_ns = shmproto::monotonic_now_ns();
            let resolution = buffer.resolution();
            if resolution.width() != self.geometry.width
                || resolution.height() != self.geometry.height
            {
                return Err(capture_error(format!(
                    "frame is {}x{}, expected {}x{}",
                    resolution.width(),
                    resolution.height(),
                    self.geometry.width,
                    self.geometry.height
                )));
            }
            frame.rgb.resize(self.geometry.color_len(), 0);
            buffer
                .decode_image_to_buffer::<RgbFormat>(&mut frame.rgb)
                .map_err(|error| capture_error(format!("cannot decode a frame: {error}")))?;
            frame.depth.clear();
            frame.frame_number = self.frame_number;
            frame.capture_wall_ns = capture_wall_ns;
            frame.capture_mono_ns = capture_mono_ns;
            self.frame_number += 1;
            tracing::trace!(frame_number = frame.frame_number, "webcam frame");
            Ok(())
        }

        fn controls(&self) -> Vec<ControlInfo> {
            self.webcam_controls()
                .into_iter()
                .map(|control| control.info)
                .collect()
        }

        fn set_control(&mut self, name: &str, value: f64) -> Result<ControlInfo, CommandError> {
            let Some(control) = self
                .webcam_controls()
                .into_iter()
                .find(|control| control.info.name == name)
            else {
                return Err(unknown_control(name));
            };
            control.info.check(value)?;
            self.camera
                .set_camera_control(control.id, control.setter(value))
                .map_err(|error| {
                    CommandError::new(
                        ErrorCode::DeviceError,
                        format!("the webcam refused {name} = {value}: {error}"),
                    )
                })?;
            self.webcam_controls()
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
    }

    impl WebcamSource {
        /// The camera's controls as nokhwa reports them now (none if it cannot).
        fn webcam_controls(&self) -> Vec<WebcamControl> {
            match self.camera.camera_controls() {
                Ok(controls) => map_controls(&controls),
                Err(error) => {
                    tracing::warn!("cannot read the webcam's controls: {error}");
                    Vec::new()
                }
            }
        }
    }

    impl Drop for WebcamSource {
        fn drop(&mut self) {
            if let Err(error) = self.camera.stop_stream() {
                tracing::debug!("stopping the webcam stream: {error}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(not(feature = "webcam"))]
    fn without_the_feature_opening_says_how_to_build_it() {
        let Err(error) = open_webcam(&WebcamConfig::default()) else {
            panic!("opened a webcam without webcam support");
        };
        assert!(matches!(
            error,
            SourceError::NotBuilt {
                feature: "webcam",
                ..
            }
        ));
    }

    #[cfg(feature = "webcam")]
    mod with_nokhwa {
        use super::*;
        use nokhwa::utils::{CameraFormat, FrameFormat};

        #[test]
        fn a_missing_device_is_a_clear_open_error() {
            // Index 63 is far above what any test machine has.
            let config = WebcamConfig {
                index: 63,
                ..WebcamConfig::default()
            };
            let Err(error) = open_webcam(&config) else {
                panic!("opened /dev/video63");
            };
            let message = error.to_string();
            assert!(matches!(error, SourceError::Open { .. }), "{message}");
            assert!(message.contains("no webcam found"), "{message}");
            assert!(message.contains("/dev/video63"), "{message}");
        }

        #[test]
        fn the_first_webcam_fails_clearly_when_there_is_none() {
            if std::path::Path::new("/dev/video0").exists() {
                return; // A machine with a webcam: nothing to check here.
            }
            let Err(error) = open_webcam(&WebcamConfig::default()) else {
                panic!("opened a webcam that does not exist");
            };
            assert_eq!(
                error.to_string(),
                "cannot open the webcam source: no webcam found: /dev/video0 does not exist \
                 (no /dev/video* devices)"
            );
        }

        mod control_mapping {
            use super::super::super::controls::{map_control, map_controls, ValueType};
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

        #[test]
        fn the_closest_mode_wins_by_size_then_rate_then_cheapest_format() {
            let modes = [
                CameraFormat::new_from(1280, 720, FrameFormat::MJPEG, 30),
                CameraFormat::new_from(640, 480, FrameFormat::MJPEG, 30),
                CameraFormat::new_from(640, 480, FrameFormat::YUYV, 30),
                CameraFormat::new_from(640, 480, FrameFormat::YUYV, 15),
                CameraFormat::new_from(320, 240, FrameFormat::YUYV, 30),
            ];
            let pick = |w, h, fps| device::closest_format(&modes, w, h, fps);
            assert_eq!(pick(640, 480, 30), Some(modes[2]));
            assert_eq!(pick(640, 480, 14), Some(modes[3]));
            assert_eq!(pick(1920, 1080, 60), Some(modes[0]));
            assert_eq!(pick(300, 200, 30), Some(modes[4]));
            assert_eq!(device::closest_format(&[], 640, 480, 30), None);
            let gray_only = [CameraFormat::new_from(640, 480, FrameFormat::GRAY, 30)];
            assert_eq!(device::closest_format(&gray_only, 640, 480, 30), None);
        }
    }
}
