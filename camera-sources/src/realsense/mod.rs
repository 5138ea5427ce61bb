//! Intel RealSense cameras and RealSense recordings (`.bag`, `.db3`) through librealsense2.
//!
//! One code path for both: a librealsense pipeline with a colour stream and a Z16 depth stream,
//! its frames passed through librealsense's align block so that depth pixel (u, v) measures the
//! ray of colour pixel (u, v). Intrinsics are the colour stream's, the depth scale is the depth
//! sensor's `depth_units` option (recordings carry it too).
//!
//! The code that talks to librealsense is compiled only with the cargo feature `realsense`.
//! [`open_realsense`] exists in every build, so the daemon's command line compiles the same way:
//! without the feature it returns [`SourceError::NotBuilt`].
//!
//! Building with the feature needs librealsense2 where pkg-config finds it: Intel's packages,
//! Homebrew, or `scripts/setup-realsense.sh`, which takes it from the `pyrealsense2` wheel.

use std::path::PathBuf;
use std::time::Duration;

use super::{Source, SourceError};
#[cfg(not(feature = "realsense"))]
use shmproto::SourceKind;

#[cfg(feature = "realsense")]
pub use device::RealsenseSource;

/// Which RealSense to open.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RealsenseInput {
    /// The first device librealsense lists.
    #[default]
    FirstDevice,
    /// The device with this serial number (as printed on the camera and by `rs-enumerate-devices`).
    Serial(String),
    /// The device at this position in librealsense's device list, from 0.
    Index(usize),
    /// A recording made by librealsense (RealSense Viewer, `rs-record`, pyrealsense2's recorder):
    /// `.bag` (ROS1) or `.db3` (ROS2), whichever the linked librealsense reads.
    Recording(PathBuf),
}

/// How to open a RealSense camera or recording.
#[derive(Debug, Clone, PartialEq)]
pub struct RealsenseConfig {
    pub input: RealsenseInput,
    /// Requested colour (and aligned depth) size of a camera. A recording plays at the size it
    /// was recorded at.
    pub width: u32,
    pub height: u32,
    /// Requested frame rate of a camera; a recording plays at its recorded rate.
    pub fps: u32,
    /// Start a recording again from its first frame when it ends, instead of ending the stream
    /// with [`SourceError::EndOfStream`]. Ignored for cameras.
    pub loop_playback: bool,
    /// How long to wait for a frame before reporting a stall ([`SourceError::Capture`]); for a
    /// recording that does not loop, a wait this long means the recording has ended.
    pub frame_timeout: Duration,
}

impl Default for RealsenseConfig {
    /// The first camera at 640x480, 30 fps.
    fn default() -> Self {
        RealsenseConfig {
            input: RealsenseInput::FirstDevice,
            width: 640,
            height: 480,
            fps: 30,
            loop_playback: false,
            frame_timeout: Duration::from_secs(5),
        }
    }
}

/// A connected RealSense, as [`list_realsense_devices`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealsenseDeviceInfo {
    /// Position in librealsense's device list ([`RealsenseInput::Index`]).
    pub index: usize,
    pub name: String,
    pub serial: String,
    pub firmware_version: String,
}

/// True when this binary was built with RealSense support.
pub const REALSENSE_BUILT: bool = cfg!(feature = "realsense");

/// Opens a RealSense camera or recording as a [`Source`].
///
/// Without the cargo feature `realsense` this returns [`SourceError::NotBuilt`].
pub fn open_realsense(config: &RealsenseConfig) -> Result<Box<dyn Source>, SourceError> {
    #[cfg(feature = "realsense")]
    {
        Ok(Box::new(RealsenseSource::open(config)?))
    }
    #[cfg(not(feature = "realsense"))]
    {
        let _ = config;
        Err(not_built())
    }
}

/// The RealSense devices connected now (empty when there are none).
///
/// Without the cargo feature `realsense` this returns [`SourceError::NotBuilt`].
pub fn list_realsense_devices() -> Result<Vec<RealsenseDeviceInfo>, SourceError> {
    #[cfg(feature = "realsense")]
    {
        device::list_devices()
    }
    #[cfg(not(feature = "realsense"))]
    {
        Err(not_built())
    }
}

#[cfg(not(feature = "realsense"))]
fn not_built() -> SourceError {
    SourceError::NotBuilt {
        kind: SourceKind::Realsense,
        feature: "realsense",
    }
}

/// librealsense options as controls: which, named how, mapped to [`ControlInfo`].
#[cfg(feature = "realsense")]
mod controls {
    use realsense_rust::kind::{Rs2Option, Rs2OptionRange};
    use shmproto::control::{ControlInfo, ControlKind};

    /// The sensor an option belongs to.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub(super) enum SensorRole {
        Color,
        Depth,
    }

    /// One librealsense option offered as a control when a sensor supports it.
    #[derive(Debug)]
    pub(super) struct OptionControl {
        pub option: Rs2Option,
        /// The control's name when one sensor has the option; prefixed with `color_` or
        /// `depth_` when both have it.
        pub name: &'static str,
        pub label: &'static str,
        /// Units per sensor, where librealsense documents them: depth exposure in
        /// microseconds; the colour sensor's exposure is a UVC value whose unit depends on the
        /// model, so it has none.
        pub color_unit: Option<&'static str>,
        pub depth_unit: Option<&'static str>,
    }

    pub(super) const OPTION_CONTROLS: &[OptionControl] = &[
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
    pub(super) fn option_control(
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
    pub(super) fn snap_to_step(control: &ControlInfo, value: f64) -> f64 {
        match control.kind {
            ControlKind::Range { min, max, step } if step > 0.0 => {
                (min + ((value - min) / step).round() * step).clamp(min, max)
            }
            _ => value,
        }
    }
}

#[cfg(feature = "realsense")]
mod device {
    use std::collections::HashSet;
    use std::ffi::CString;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc::{self, Receiver, RecvError, SyncSender};
    use std::sync::Arc;
    use std::thread::JoinHandle;
    use std::time::Duration;

    use realsense_rust::config::Config;
    use realsense_rust::context::Context;
    use realsense_rust::device::Device;
    use realsense_rust::frame::{ColorFrame, CompositeFrame, DepthFrame, FrameEx, ImageFrame};
    use realsense_rust::kind::{
        Rs2CameraInfo, Rs2DistortionModel, Rs2Extension, Rs2Format, Rs2Option, Rs2StreamKind,
        Rs2TimestampDomain,
    };
    use realsense_rust::pipeline::{ActivePipeline, FrameWaitError, InactivePipeline};
    use realsense_rust::processing_blocks::align::Align;
    use realsense_rust::sensor::Sensor;
    use shmproto::control::{CommandError, ControlInfo, ErrorCode};
    use shmproto::{DistortionModel, Geometry, Intrinsics, SourceKind};

    use super::controls::{self, SensorRole, OPTION_CONTROLS};
    use super::{RealsenseConfig, RealsenseDeviceInfo, RealsenseInput};
    use crate::{unknown_control, CapturedFrame, Source, SourceError, SourceInfo};

    /// Metres per depth unit of every RealSense D400 camera at its factory setting; used only
    /// when neither the depth sensor nor the recording tells.
    const FALLBACK_DEPTH_SCALE_M: f32 = 0.001;

    /// A RealSense camera or recording, delivering RGB8 colour and Z16 depth aligned to colour.
    ///
    /// librealsense's pipeline and align block run on a worker thread of their own (the align
    /// block is not `Send`); frames reach [`Source::next_frame`] through a channel of one, and
    /// their buffers travel back to the worker to be reused.
    ///
    /// Controls are librealsense options of the colour and depth sensors, read and set from the
    /// caller's thread through sensor handles of their own (`Sensor` is `Send`, and
    /// librealsense's options are safe to use while another thread streams).
    pub struct RealsenseSource {
        geometry: Geometry,
        info: SourceInfo,
        /// The device's colour and depth sensors, for their options.
        sensors: Vec<(SensorRole, Sensor)>,
        frames: Option<Receiver<Result<CapturedFrame, SourceError>>>,
        spare_buffers: SyncSender<CapturedFrame>,
        stop: Arc<AtomicBool>,
        worker: Option<JoinHandle<()>>,
        ended: bool,
    }

    impl std::fmt::Debug for RealsenseSource {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("RealsenseSource")
                .field("geometry", &self.geometry)
                .field("info", &self.info)
                .field("ended", &self.ended)
                .finish_non_exhaustive()
        }
    }

    fn open_error(reason: impl Into<String>) -> SourceError {
        SourceError::Open {
            kind: SourceKind::Realsense,
            reason: reason.into(),
        }
    }

    fn capture_error(reason: impl Into<String>) -> SourceError {
        SourceError::Capture {
            kind: SourceKind::Realsense,
            reason: reason.into(),
        }
    }

    fn device_info_string(device: &Device, what: Rs2CameraInfo) -> String {
        device
            .info(what)
            .map(|value| value.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn describe_devices(devices: &[Device]) -> String {
        let names: Vec<String> = devices
            .iter()
            .enumerate()
            .map(|(index, device)| {
                format!(
                    "#{index} {} serial {}",
                    device_info_string(device, Rs2CameraInfo::Name),
                    device_info_string(device, Rs2CameraInfo::SerialNumber)
                )
            })
            .collect();
        match names.len() {
            0 => "0 devices connected".to_owned(),
            1 => format!("1 device connected: {}", names.join(", ")),
            n => format!("{n} devices connected: {}", names.join(", ")),
        }
    }

    pub(super) fn list_devices() -> Result<Vec<RealsenseDeviceInfo>, SourceError> {
        let context = Context::new().map_err(|error| {
            open_error(format!("cannot create a librealsense context: {error}"))
        })?;
        Ok(context
            .query_devices(HashSet::new())
            .iter()
            .enumerate()
            .map(|(index, device)| RealsenseDeviceInfo {
                index,
                name: device_info_string(device, Rs2CameraInfo::Name),
                serial: device_info_string(device, Rs2CameraInfo::SerialNumber),
                firmware_version: device_info_string(device, Rs2CameraInfo::FirmwareVersion),
            })
            .collect())
    }

    /// Chooses the device (or file) and the streams.
    fn configure(
        context: &Context,
        config: &RealsenseConfig,
        pipeline_config: &mut Config,
    ) -> Result<(), SourceError> {
        let (width, height, fps, color_format) = match &config.input {
            RealsenseInput::Recording(path) => {
                if !path.is_file() {
                    return Err(open_error(format!(
                        "recording {} does not exist or is not a file",
                        path.display()
                    )));
                }
                pipeline_config
                    .enable_device_from_file(path, config.loop_playback)
                    .map_err(|error| {
                        open_error(format!("cannot play recording {}: {error}", path.display()))
                    })?;
                // A recording holds the frames as they were recorded: take its size, rate and
                // colour format (converted to RGB8 when copied).
                (0, 0, 0, Rs2Format::Any)
            }
            input => {
                let devices = context.query_devices(HashSet::new());
                let chosen = match input {
                    RealsenseInput::Serial(serial) => devices.iter().find(|device| {
                        device_info_string(device, Rs2CameraInfo::SerialNumber) == *serial
                    }),
                    RealsenseInput::Index(index) => devices.get(*index),
                    _ => devices.first(),
                };
                let Some(device) = chosen else {
                    let wanted = match input {
                        RealsenseInput::Serial(serial) => format!(" with serial {serial}"),
                        RealsenseInput::Index(index) => format!(" at index {index}"),
                        _ => String::new(),
                    };
                    return Err(open_error(format!(
                        "no RealSense device found{wanted} ({})",
                        describe_devices(&devices)
                    )));
                };
                let serial = device_info_string(device, Rs2CameraInfo::SerialNumber);
                let serial_c = CString::new(serial.clone())
                    .map_err(|_| open_error(format!("device serial {serial:?} contains NUL")))?;
                pipeline_config
                    .enable_device_from_serial(&serial_c)
                    .map_err(|error| {
                        open_error(format!("cannot select device {serial}: {error}"))
                    })?;
                (
                    config.width as usize,
                    config.height as usize,
                    config.fps as usize,
                    Rs2Format::Rgb8,
                )
            }
        };
        pipeline_config
            .enable_stream(
                Rs2StreamKind::Depth,
                None,
                width,
                height,
                Rs2Format::Z16,
                fps,
            )
            .and_then(|c| {
                c.enable_stream(Rs2StreamKind::Color, None, width, height, color_format, fps)
            })
            .map_err(|error| open_error(format!("cannot request the streams: {error}")))?;
        Ok(())
    }

    fn distortion_model(model: Rs2DistortionModel) -> DistortionModel {
        match model {
            Rs2DistortionModel::None => DistortionModel::None,
            Rs2DistortionModel::BrownConrady => DistortionModel::BrownConrady,
            Rs2DistortionModel::BrownConradyModified => DistortionModel::ModifiedBrownConrady,
            Rs2DistortionModel::BrownConradyInverse => DistortionModel::InverseBrownConrady,
            Rs2DistortionModel::FThetaFisheye | Rs2DistortionModel::KannalaBrandt => {
                DistortionModel::Other
            }
        }
    }

    /// The depth sensor's `depth_units` option; 0.001 with a warning if no sensor has it.
    fn depth_scale_m(device: &Device) -> f32 {
        let sensors = device.sensors();
        let from_sensor = sensors
            .iter()
            .filter(|sensor| sensor.extension() == Rs2Extension::DepthSensor)
            .chain(sensors.iter())
            .find_map(|sensor| sensor.get_option(Rs2Option::DepthUnits))
            .filter(|scale| scale.is_finite() && *scale > 0.0);
        match from_sensor {
            Some(scale) => scale,
            None => {
                tracing::warn!(
                    "the RealSense depth sensor reports no depth units; assuming {FALLBACK_DEPTH_SCALE_M} m"
                );
                FALLBACK_DEPTH_SCALE_M
            }
        }
    }

    impl RealsenseSource {
        /// Opens the camera or recording `config` names and starts streaming.
        pub fn open(config: &RealsenseConfig) -> Result<Self, SourceError> {
            let context = Context::new().map_err(|error| {
                open_error(format!("cannot create a librealsense context: {error}"))
            })?;
            let mut pipeline_config = Config::new();
            configure(&context, config, &mut pipeline_config)?;
            let pipeline = InactivePipeline::try_from(&context)
                .map_err(|error| open_error(format!("cannot create a pipeline: {error}")))?;
            let pipeline = pipeline.start(Some(pipeline_config)).map_err(|error| {
                open_error(format!(
                    "cannot start {}: {error} (requested {})",
                    match &config.input {
                        RealsenseInput::Recording(path) => format!("recording {}", path.display()),
                        _ => "the RealSense pipeline".to_owned(),
                    },
                    match &config.input {
                        RealsenseInput::Recording(_) => "Z16 depth and a colour stream".to_owned(),
                        _ => format!(
                            "{}x{} RGB8 colour and Z16 depth at {} fps",
                            config.width, config.height, config.fps
                        ),
                    }
                ))
            })?;

            let profile = pipeline.profile();
            let Some(color_profile) = profile
                .streams()
                .iter()
                .find(|stream| stream.kind() == Rs2StreamKind::Color)
            else {
                return Err(open_error("the pipeline started without a colour stream"));
            };
            let color_format = color_profile.format();
            if !matches!(
                color_format,
                Rs2Format::Rgb8 | Rs2Format::Bgr8 | Rs2Format::Rgba8 | Rs2Format::Bgra8
            ) {
                return Err(open_error(format!(
                    "colour stream format {color_format:?} is not supported (RGB8, BGR8, RGBA8, BGRA8 are)"
                )));
            }
            let color_intrinsics = color_profile.intrinsics().map_err(|error| {
                open_error(format!(
                    "cannot read the colour stream's intrinsics: {error}"
                ))
            })?;
            let distortion = color_intrinsics.distortion();
            let intrinsics = Intrinsics {
                width: color_intrinsics.width() as u32,
                height: color_intrinsics.height() as u32,
                fx: color_intrinsics.fx(),
                fy: color_intrinsics.fy(),
                ppx: color_intrinsics.ppx(),
                ppy: color_intrinsics.ppy(),
                model: distortion_model(distortion.model),
                coeffs: distortion.coeffs,
            };
            let geometry = Geometry::rgbd(intrinsics.width, intrinsics.height);
            geometry
                .validate()
                .map_err(|error| open_error(format!("the colour stream is unusable: {error}")))?;

            let device = profile.device();
            let depth_scale_m = depth_scale_m(device);
            let sensors: Vec<(SensorRole, Sensor)> = device
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
            let device_name = device_info_string(device, Rs2CameraInfo::Name);
            let serial = device_info_string(device, Rs2CameraInfo::SerialNumber);
            let description = match &config.input {
                RealsenseInput::Recording(path) => {
                    format!("recording {} ({device_name} #{serial})", path.display())
                }
                _ => format!("{device_name} #{serial}"),
            };
            let playback = matches!(config.input, RealsenseInput::Recording(_));
            tracing::info!(
                "RealSense opened: {description}, {}x{} colour {color_format:?}, depth scale {depth_scale_m} m",
                geometry.width,
                geometry.height
            );

            let info = SourceInfo {
                kind: SourceKind::Realsense,
                description,
                intrinsics: Some(intrinsics),
                depth_scale_m: Some(depth_scale_m),
                depth_aligned_to_color: true,
            };

            let (frame_sender, frames) = mpsc::sync_channel(1);
            // Room for every buffer in flight (the caller's, one in the channel, the worker's).
            let (spare_buffers, spare_receiver) = mpsc::sync_channel(3);
            let stop = Arc::new(AtomicBool::new(false));
            let worker = Worker {
                _context: context,
                pipeline,
                geometry,
                playback: playback && !config.loop_playback,
                live_clock: !playback,
                frame_timeout: config.frame_timeout,
                frames: frame_sender,
                spare_buffers: spare_receiver,
                stop: Arc::clone(&stop),
                frame_number_offset: 0,
                last_raw_frame_number: None,
            };
            let worker = std::thread::Builder::new()
                .name("realsense".to_owned())
                .spawn(move || worker.run())
                .map_err(|error| open_error(format!("cannot start the capture thread: {error}")))?;

            Ok(RealsenseSource {
                geometry,
                info,
                sensors,
                frames: Some(frames),
                spare_buffers,
                stop,
                worker: Some(worker),
                ended: false,
            })
        }
    }

    impl Source for RealsenseSource {
        fn geometry(&self) -> Geometry {
            self.geometry
        }

        fn info(&self) -> SourceInfo {
            self.info.clone()
        }

        fn next_frame(&mut self, frame: &mut CapturedFrame) -> Result<(), SourceError> {
            if self.ended {
                return Err(SourceError::EndOfStream);
            }
            let Some(frames) = &self.frames else {
                return Err(capture_error("the source is closed"));
            };
            match frames.recv() {
                Ok(Ok(mut captured)) => {
                    std::mem::swap(frame, &mut captured);
                    // The caller's previous buffers go back to the worker. If its queue is full
                    // or it has stopped, they are simply dropped.
                    let _ = self.spare_buffers.try_send(captured);
                    Ok(())
                }
                Ok(Err(SourceError::EndOfStream)) => {
                    self.ended = true;
                    Err(SourceError::EndOfStream)
                }
                Ok(Err(error)) => Err(error),
                Err(RecvError) => Err(capture_error(
                    "the RealSense capture thread stopped after an earlier error",
                )),
            }
        }

        fn controls(&self) -> Vec<ControlInfo> {
            self.option_controls()
                .into_iter()
                .map(|(control, _, _)| control)
                .collect()
        }

        fn set_control(&mut self, name: &str, value: f64) -> Result<ControlInfo, CommandError> {
            let Some((control, sensor_index, option)) = self
                .option_controls()
                .into_iter()
                .find(|(control, _, _)| control.name == name)
            else {
                return Err(unknown_control(name));
            };
            control.check(value)?;
            let value = controls::snap_to_step(&control, value);
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
    }

    impl RealsenseSource {
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
                    let control = controls::option_control(spec, *role, per_sensor, &range, value);
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

    impl Drop for RealsenseSource {
        fn drop(&mut self) {
            // Relaxed is enough: the flag carries no data, and the worker also notices the
            // closed channel; it only shortens the wait.
            self.stop.store(true, Ordering::Relaxed);
            // Closing the frame channel wakes a worker blocked on sending.
            self.frames = None;
            if let Some(worker) = self.worker.take() {
                // The worker returns within one frame timeout; joining releases the device
                // before anyone opens it again.
                if worker.join().is_err() {
                    tracing::error!("the RealSense capture thread panicked");
                }
            }
        }
    }

    /// Everything that lives on the capture thread.
    struct Worker {
        /// Kept alive as long as the pipeline that was made from it.
        _context: Context,
        pipeline: ActivePipeline,
        geometry: Geometry,
        /// A recording that does not loop: a frame timeout means the end.
        playback: bool,
        /// Frame timestamps are on the host's clock only for live cameras.
        live_clock: bool,
        frame_timeout: Duration,
        frames: SyncSender<Result<CapturedFrame, SourceError>>,
        spare_buffers: Receiver<CapturedFrame>,
        stop: Arc<AtomicBool>,
        /// Added to librealsense's frame numbers so that ours never go back (a looping
        /// recording restarts its numbers).
        frame_number_offset: u64,
        last_raw_frame_number: Option<u64>,
    }

    impl Worker {
        fn run(mut self) {
            let mut align = match Align::new(Rs2StreamKind::Color, 1) {
                Ok(align) => align,
                Err(error) => {
                    let _ = self.frames.send(Err(capture_error(format!(
                        "cannot create the align block: {error}"
                    ))));
                    return;
                }
            };
            while !self.stop.load(Ordering::Relaxed) {
                let message = match self.pipeline.wait(Some(self.frame_timeout)) {
                    Ok(frames) => self.aligned_frame(&mut align, frames),
                    Err(FrameWaitError::DidTimeoutBeforeFrameArrival) if self.playback => {
                        tracing::debug!("the recording ended");
                        let _ = self.frames.send(Err(SourceError::EndOfStream));
                        return;
                    }
                    Err(FrameWaitError::DidTimeoutBeforeFrameArrival) => {
                        Err(capture_error(format!(
                            "no frames from the RealSense for {:.1} s",
                            self.frame_timeout.as_secs_f32()
                        )))
                    }
                    Err(error) => Err(capture_error(format!("waiting for frames failed: {error}"))),
                };
                if self.frames.send(message).is_err() {
                    return; // The source was dropped.
                }
            }
        }

        fn aligned_frame(
            &mut self,
            align: &mut Align,
            frames: CompositeFrame,
        ) -> Result<CapturedFrame, SourceError> {
            let arrival_wall_ns = shmproto::wall_now_ns();
            let arrival_mono_ns = shmproto::monotonic_now_ns();
            align
                .queue(frames)
                .map_err(|error| capture_error(format!("align failed: {error}")))?;
            let aligned = align
                .wait(self.frame_timeout)
                .map_err(|error| capture_error(format!("align failed: {error}")))?;
            let Some(color) = aligned.frames_of_type::<ColorFrame>().into_iter().next() else {
                return Err(capture_error("a frameset without a colour frame"));
            };
            let Some(depth) = aligned.frames_of_type::<DepthFrame>().into_iter().next() else {
                return Err(capture_error("a frameset without a depth frame"));
            };

            // Reuse buffers the caller handed back; new ones only at the start.
            let mut captured = self.spare_buffers.try_recv().unwrap_or_default();
            copy_color(&color, self.geometry, &mut captured.rgb)?;
            copy_depth(&depth, self.geometry, &mut captured.depth)?;

            let raw_frame_number = color.frame_number();
            if let Some(last) = self.last_raw_frame_number {
                if raw_frame_number <= last {
                    self.frame_number_offset += last - raw_frame_number + 1;
                }
            }
            self.last_raw_frame_number = Some(raw_frame_number);
            captured.frame_number = raw_frame_number + self.frame_number_offset;

            // A live camera's system/global-time stamps say when the frame was exposed; use
            // them when they are plausible (in the last second), else the arrival time.
            captured.capture_wall_ns = arrival_wall_ns;
            captured.capture_mono_ns = arrival_mono_ns;
            if self.live_clock
                && matches!(
                    color.timestamp_domain(),
                    Rs2TimestampDomain::SystemTime | Rs2TimestampDomain::GlobalTime
                )
            {
                let stamp_wall_ns = (color.timestamp() * 1e6) as u64;
                let age_ns = arrival_wall_ns.saturating_sub(stamp_wall_ns);
                if stamp_wall_ns <= arrival_wall_ns && age_ns < 1_000_000_000 {
                    captured.capture_wall_ns = stamp_wall_ns;
                    captured.capture_mono_ns = arrival_mono_ns.saturating_sub(age_ns);
                }
            }
            tracing::trace!(frame_number = captured.frame_number, "RealSense frame");
            Ok(captured)
        }
    }

    /// The rows of a video frame's pixel buffer, each `width * bytes_per_pixel` bytes long
    /// (without the stride's padding); checks the frame against the expected geometry.
    fn frame_rows<'a, K>(
        what: &str,
        frame: &'a ImageFrame<K>,
        geometry: Geometry,
        bytes_per_pixel: usize,
    ) -> Result<impl Iterator<Item = &'a [u8]>, SourceError> {
        let (width, height, stride) = (frame.width(), frame.height(), frame.stride());
        if width != geometry.width as usize || height != geometry.height as usize {
            return Err(capture_error(format!(
                "{what} frame is {width}x{height}, expected {}x{}",
                geometry.width, geometry.height
            )));
        }
        let row_len = width * bytes_per_pixel;
        let data_len = frame.get_data_size();
        if frame.bits_per_pixel() != bytes_per_pixel * 8
            || stride < row_len
            || data_len < stride * (height - 1) + row_len
        {
            return Err(capture_error(format!(
                "{what} frame has an unexpected layout: {} bits per pixel, stride {stride}, \
                 {data_len} bytes for {width}x{height}",
                frame.bits_per_pixel()
            )));
        }
        // SAFETY: librealsense allocates a video frame's pixels as one buffer of
        // `rs2_get_frame_data_size` bytes (`get_data_size`) starting at `rs2_get_frame_data`
        // (`get_data`), and neither frees nor writes it while the frame is referenced. The slice
        // borrows `frame`, so it cannot outlive the frame; `u8` has no alignment or validity
        // requirement. (realsense-rust offers only per-pixel access otherwise, which costs
        // 35-75 ms per 640x480 plane in a debug build and drops frames of a real-time
        // playback.)
        let data = unsafe {
            std::slice::from_raw_parts(std::ptr::from_ref(frame.get_data()).cast::<u8>(), data_len)
        };
        Ok(data
            .chunks(stride)
            .take(height)
            .map(move |row| &row[..row_len]))
    }

    /// Copies a colour frame as tightly packed RGB8, whatever its byte order.
    fn copy_color(
        color: &ColorFrame,
        geometry: Geometry,
        rgb: &mut Vec<u8>,
    ) -> Result<(), SourceError> {
        let format = color.stream_profile().format();
        let (bytes_per_pixel, red, blue) = match format {
            Rs2Format::Rgb8 => (3, 0, 2),
            Rs2Format::Bgr8 => (3, 2, 0),
            Rs2Format::Rgba8 => (4, 0, 2),
            Rs2Format::Bgra8 => (4, 2, 0),
            other => return Err(capture_error(format!("unexpected colour format {other:?}"))),
        };
        rgb.clear();
        rgb.reserve(geometry.color_len());
        for row in frame_rows("colour", color, geometry, bytes_per_pixel)? {
            if format == Rs2Format::Rgb8 {
                rgb.extend_from_slice(row);
            } else {
                for pixel in row.chunks_exact(bytes_per_pixel) {
                    rgb.extend_from_slice(&[pixel[red], pixel[1], pixel[blue]]);
                }
            }
        }
        Ok(())
    }

    /// Copies an aligned depth frame as tightly packed little-endian Z16.
    fn copy_depth(
        depth: &DepthFrame,
        geometry: Geometry,
        out: &mut Vec<u8>,
    ) -> Result<(), SourceError> {
        let format = depth.stream_profile().format();
        if format != Rs2Format::Z16 {
            return Err(capture_error(format!("unexpected depth format {format:?}")));
        }
        out.clear();
        out.reserve(geometry.depth_len());
        for row in frame_rows("aligned depth", depth, geometry, 2)? {
            // librealsense stores Z16 in the host's byte order.
            if cfg!(target_endian = "little") {
                out.extend_from_slice(row);
            } else {
                for units in row.chunks_exact(2) {
                    out.extend_from_slice(&u16::from_ne_bytes([units[0], units[1]]).to_le_bytes());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(not(feature = "realsense"))]
    fn without_the_feature_opening_says_how_to_build_it() {
        let Err(error) = open_realsense(&RealsenseConfig::default()) else {
            panic!("opened a RealSense without RealSense support");
        };
        assert!(matches!(
            error,
            SourceError::NotBuilt {
                feature: "realsense",
                ..
            }
        ));
        assert!(matches!(
            list_realsense_devices(),
            Err(SourceError::NotBuilt { .. })
        ));
    }

    #[cfg(feature = "realsense")]
    mod option_controls {
        use super::super::controls::{option_control, snap_to_step, SensorRole, OPTION_CONTROLS};
        use realsense_rust::kind::{Rs2Option, Rs2OptionRange};
        use shmproto::control::{ControlKind, ErrorCode};

        fn spec(option: Rs2Option) -> &'static super::super::controls::OptionControl {
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

    #[test]
    fn the_default_is_the_first_camera_at_640x480_30fps() {
        let config = RealsenseConfig::default();
        assert_eq!(config.input, RealsenseInput::FirstDevice);
        assert_eq!((config.width, config.height, config.fps), (640, 480, 30));
        assert!(!config.loop_playback);
    }
}
