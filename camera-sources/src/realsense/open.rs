//! Opening a [`RealsenseSource`], step by step: choose the device or recording, request the
//! streams, start the pipeline, read what started, start the capture thread.

use std::ffi::CString;
use std::path::Path;

use realsense_rust::config::Config;
use realsense_rust::context::Context;
use realsense_rust::device::Device;
use realsense_rust::kind::{Rs2CameraInfo, Rs2Format, Rs2StreamKind};
use realsense_rust::pipeline::{ActivePipeline, InactivePipeline};
use shmproto::SourceKind;

use super::controls::SensorControls;
use super::devices::{chosen_device_serial, device_info_string, new_context};
use super::streams::{depth_scale_m, ColorStream};
use super::worker::CaptureThread;
use super::{open_error, RealsenseConfig, RealsenseInput, RealsenseSource};
use crate::{SourceError, SourceInfo};

impl RealsenseSource {
    /// Opens the camera or recording `config` names and starts streaming.
    pub fn open(config: &RealsenseConfig) -> Result<Self, SourceError> {
        let context = new_context()?;
        let pipeline = start_pipeline(&context, config)?;

        let profile = pipeline.profile();
        let color = ColorStream::of_profile(profile)?;
        let device = profile.device();
        let depth_scale_m = depth_scale_m(device);
        let controls = SensorControls::of_device(device);
        let description = describe_source(device, &config.input);
        tracing::info!(
            "RealSense opened: {description}, {}x{} colour {:?}, depth scale {depth_scale_m} m",
            color.geometry.width,
            color.geometry.height,
            color.format
        );
        let info = SourceInfo {
            kind: SourceKind::Realsense,
            description,
            intrinsics: Some(color.intrinsics),
            depth_scale_m: Some(depth_scale_m),
            depth_aligned_to_color: true,
        };

        let capture = CaptureThread::start(context, pipeline, color.geometry, config)?;
        Ok(RealsenseSource {
            capture,
            geometry: color.geometry,
            info,
            controls,
        })
    }
}

/// What to ask of the depth and colour streams; zeros and [`Rs2Format::Any`] take what a
/// recording holds.
#[derive(Debug, Clone, Copy)]
struct StreamRequest {
    width: usize,
    height: usize,
    fps: usize,
    color_format: Rs2Format,
}

/// A pipeline, started with the device or recording and the streams `config` asks for.
fn start_pipeline(
    context: &Context,
    config: &RealsenseConfig,
) -> Result<ActivePipeline, SourceError> {
    let mut pipeline_config = Config::new();
    let request = select_input(context, config, &mut pipeline_config)?;
    request_streams(&mut pipeline_config, request)?;
    let pipeline = InactivePipeline::try_from(context)
        .map_err(|error| open_error(format!("cannot create a pipeline: {error}")))?;
    pipeline.start(Some(pipeline_config)).map_err(|error| {
        let (what, requested) = match &config.input {
            RealsenseInput::Recording(path) => (
                format!("recording {}", path.display()),
                "Z16 depth and a colour stream".to_owned(),
            ),
            _ => (
                "the RealSense pipeline".to_owned(),
                format!(
                    "{}x{} RGB8 colour and Z16 depth at {} fps",
                    config.width, config.height, config.fps
                ),
            ),
        };
        open_error(format!(
            "cannot start {what}: {error} (requested {requested})"
        ))
    })
}

/// Points the pipeline at the recording or device `config` names; returns what to request of
/// its streams.
fn select_input(
    context: &Context,
    config: &RealsenseConfig,
    pipeline_config: &mut Config,
) -> Result<StreamRequest, SourceError> {
    match &config.input {
        RealsenseInput::Recording(path) => {
            select_recording(pipeline_config, path, config.loop_playback)?;
            // A recording holds the frames as they were recorded: take its size, rate and
            // colour format (converted to RGB8 when copied).
            Ok(StreamRequest {
                width: 0,
                height: 0,
                fps: 0,
                color_format: Rs2Format::Any,
            })
        }
        input => {
            let serial = chosen_device_serial(context, input)?;
            select_device(pipeline_config, &serial)?;
            Ok(StreamRequest {
                width: config.width as usize,
                height: config.height as usize,
                fps: config.fps as usize,
                color_format: Rs2Format::Rgb8,
            })
        }
    }
}

fn select_recording(
    pipeline_config: &mut Config,
    path: &Path,
    loop_playback: bool,
) -> Result<(), SourceError> {
    if !path.is_file() {
        return Err(open_error(format!(
            "recording {} does not exist or is not a file",
            path.display()
        )));
    }
    pipeline_config
        .enable_device_from_file(path, loop_playback)
        .map_err(|error| {
            open_error(format!("cannot play recording {}: {error}", path.display()))
        })?;
    Ok(())
}

fn select_device(pipeline_config: &mut Config, serial: &str) -> Result<(), SourceError> {
    let serial_c = CString::new(serial)
        .map_err(|_| open_error(format!("device serial {serial:?} contains NUL")))?;
    pipeline_config
        .enable_device_from_serial(&serial_c)
        .map_err(|error| open_error(format!("cannot select device {serial}: {error}")))?;
    Ok(())
}

/// Z16 depth and colour, of the same size and rate.
fn request_streams(
    pipeline_config: &mut Config,
    request: StreamRequest,
) -> Result<(), SourceError> {
    let StreamRequest {
        width,
        height,
        fps,
        color_format,
    } = request;
    pipeline_config
        .enable_stream(
            Rs2StreamKind::Depth,
            None,
            width,
            height,
            Rs2Format::Z16,
            fps,
        )
        .and_then(|c| c.enable_stream(Rs2StreamKind::Color, None, width, height, color_format, fps))
        .map_err(|error| open_error(format!("cannot request the streams: {error}")))?;
    Ok(())
}

/// `<name> #<serial>`, or `recording <path> (<name> #<serial>)`.
fn describe_source(device: &Device, input: &RealsenseInput) -> String {
    let device_name = device_info_string(device, Rs2CameraInfo::Name);
    let serial = device_info_string(device, Rs2CameraInfo::SerialNumber);
    match input {
        RealsenseInput::Recording(path) => {
            format!("recording {} ({device_name} #{serial})", path.display())
        }
        _ => format!("{device_name} #{serial}"),
    }
}
