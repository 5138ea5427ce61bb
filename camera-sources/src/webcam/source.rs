//! [`WebcamSource`]: frames read and decoded on the caller's thread, controls through nokhwa,
//! behind the [`Source`] trait. Opening it is `open.rs`.

use nokhwa::pixel_format::RgbFormat;
use nokhwa::Camera;
use shmproto::control::{CommandError, ControlInfo};
use shmproto::{Geometry, SourceKind};

use super::controls::{camera_controls, set_camera_control};
use crate::{CapturedFrame, Source, SourceError, SourceInfo};

/// A webcam delivering RGB8 frames (no depth).
pub struct WebcamSource {
    pub(super) camera: Camera,
    pub(super) geometry: Geometry,
    pub(super) info: SourceInfo,
    /// The number of the next frame, from 0.
    pub(super) frame_number: u64,
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
        if resolution.width() != self.geometry.width || resolution.height() != self.geometry.height
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
        camera_controls(&self.camera)
            .into_iter()
            .map(|control| control.info)
            .collect()
    }

    fn set_control(&mut self, name: &str, value: f64) -> Result<ControlInfo, CommandError> {
        set_camera_control(&mut self.camera, name, value)
    }
}

impl Drop for WebcamSource {
    fn drop(&mut self) {
        if let Err(error) = self.camera.stop_stream() {
            tracing::debug!("stopping the webcam stream: {error}");
        }
    }
}
