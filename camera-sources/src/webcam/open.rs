//! Opening a [`WebcamSource`], step by step: check that the device exists, choose the mode
//! closest to the request, start streaming, read what started.

use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{CameraIndex, RequestedFormat, RequestedFormatType};
use nokhwa::{Camera, FormatDecoder};
use shmproto::{Geometry, SourceKind};

use super::modes::closest_format;
use super::{WebcamConfig, WebcamSource};
use crate::{SourceError, SourceInfo};

impl WebcamSource {
    /// Opens webcam `config.index` in the mode closest to the requested one and starts
    /// streaming.
    pub fn open(config: &WebcamConfig) -> Result<Self, SourceError> {
        #[cfg(target_os = "linux")]
        check_device_node(config.index)?;
        let camera = start_closest_mode(config)?;

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

fn open_error(reason: impl Into<String>) -> SourceError {
    SourceError::Open {
        kind: SourceKind::Webcam,
        reason: reason.into(),
    }
}

/// An error naming the `/dev/video*` nodes that exist when `/dev/video<index>` does not.
#[cfg(target_os = "linux")]
fn check_device_node(index: u32) -> Result<(), SourceError> {
    let node = format!("/dev/video{index}");
    if std::path::Path::new(&node).exists() {
        return Ok(());
    }
    let present = video_devices();
    Err(open_error(if present.is_empty() {
        format!("no webcam found: {node} does not exist (no /dev/video* devices)")
    } else {
        format!(
            "no webcam found: {node} does not exist (present: {})",
            present.join(", ")
        )
    }))
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

/// Webcam `config.index`, streaming in the mode closest to the requested one.
fn start_closest_mode(config: &WebcamConfig) -> Result<Camera, SourceError> {
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
    Ok(camera)
}

#[cfg(test)]
mod tests {
    use crate::webcam::{open_webcam, WebcamConfig};
    use crate::SourceError;

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
}
