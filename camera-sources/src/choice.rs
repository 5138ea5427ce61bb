//! Which source to run, as chosen on a command line, with its settings.

use shmproto::control::{CommandError, ErrorCode};
use shmproto::{Geometry, SourceKind};

use super::realsense::{open_realsense, RealsenseConfig};
use super::recording::{open_recording, McapSource, RecordingConfig};
use super::synthetic::{SyntheticConfig, SyntheticSource};
use super::webcam::{open_webcam, WebcamConfig};
use super::{Source, SourceError};

/// A configured source, ready to be opened (and reopened after failures).
#[derive(Debug, Clone, PartialEq)]
pub enum SourceChoice {
    Synthetic(SyntheticConfig),
    Realsense(RealsenseConfig),
    Webcam(WebcamConfig),
    /// An MCAP recording (RealSense `.bag`/`.db3` ones are [`SourceChoice::Realsense`]).
    Recording(RecordingConfig),
}

impl SourceChoice {
    pub fn kind(&self) -> SourceKind {
        match self {
            SourceChoice::Synthetic(_) => SourceKind::Synthetic,
            SourceChoice::Realsense(_) => SourceKind::Realsense,
            SourceChoice::Webcam(_) => SourceKind::Webcam,
            // The frames say what was recorded; the choice itself needs no device.
            SourceChoice::Recording(_) => SourceKind::Other,
        }
    }

    /// The geometry asked for; the opened source may settle on another (a webcam's nearest
    /// mode, a recording's own size).
    pub fn requested_geometry(&self) -> Geometry {
        match self {
            SourceChoice::Synthetic(config) => Geometry::rgbd(config.width, config.height),
            SourceChoice::Realsense(config) => Geometry::rgbd(config.width, config.height),
            SourceChoice::Webcam(config) => Geometry::rgb_only(config.width, config.height),
            // Its own size, learnt when opened.
            SourceChoice::Recording(_) => Geometry::default(),
        }
    }

    /// Frames per second asked for (0 = as fast as possible).
    pub fn requested_fps(&self) -> f64 {
        match self {
            SourceChoice::Synthetic(config) => f64::from(config.fps),
            SourceChoice::Realsense(config) => f64::from(config.fps),
            SourceChoice::Webcam(config) => f64::from(config.fps),
            // Paced by the recording's own times.
            SourceChoice::Recording(_) => 0.0,
        }
    }

    /// Checks what can be checked without the hardware (the synthetic scene's size, rate,
    /// brightness and speed; that a recording exists and plays up to its first frame), so a
    /// bad configuration fails at once instead of being retried.
    pub fn validate(&self) -> Result<(), SourceError> {
        match self {
            SourceChoice::Synthetic(config) => SyntheticSource::new(*config).map(drop),
            SourceChoice::Recording(config) => McapSource::open(config.clone()).map(drop),
            SourceChoice::Realsense(config) => match &config.input {
                super::realsense::RealsenseInput::Recording(path) => std::fs::File::open(path)
                    .map(drop)
                    .map_err(|error| SourceError::BadRecording {
                        path: path.clone(),
                        reason: error.to_string(),
                    }),
                _ => Ok(()),
            },
            SourceChoice::Webcam(_) => Ok(()),
        }
    }

    pub fn open(&self) -> Result<Box<dyn Source>, SourceError> {
        match self {
            SourceChoice::Synthetic(config) => Ok(Box::new(SyntheticSource::new(*config)?)),
            SourceChoice::Realsense(config) => open_realsense(config),
            SourceChoice::Webcam(config) => open_webcam(config),
            SourceChoice::Recording(config) => open_recording(config),
        }
    }
}

impl SourceChoice {
    /// Changes the size and rate sources are opened with from now on; refused (nothing
    /// changed) when the source cannot run that mode.
    pub fn set_mode(&mut self, width: u32, height: u32, fps: f32) -> Result<(), CommandError> {
        let geometry = Geometry::rgbd(width, height);
        geometry
            .validate()
            .map_err(|error| CommandError::new(ErrorCode::OutOfRange, error.to_string()))?;
        let whole_fps = || -> Result<u32, CommandError> {
            if (1.0..=1000.0).contains(&fps) && fps.fract() == 0.0 {
                Ok(fps as u32)
            } else {
                Err(CommandError::new(
                    ErrorCode::OutOfRange,
                    format!("fps must be a whole number from 1 to 1000 for cameras, got {fps}"),
                ))
            }
        };
        match self {
            SourceChoice::Synthetic(config) => {
                let requested = SyntheticConfig {
                    width,
                    height,
                    fps,
                    ..*config
                };
                SourceChoice::Synthetic(requested)
                    .validate()
                    .map_err(|error| CommandError::new(ErrorCode::OutOfRange, error.to_string()))?;
                *config = requested;
            }
            SourceChoice::Realsense(config) => {
                if matches!(config.input, super::realsense::RealsenseInput::Recording(_)) {
                    return Err(CommandError::new(
                        ErrorCode::Unsupported,
                        "a recording plays at the size and rate it was recorded at",
                    ));
                }
                config.fps = whole_fps()?;
                config.width = width;
                config.height = height;
            }
            SourceChoice::Webcam(config) => {
                config.fps = whole_fps()?;
                config.width = width;
                config.height = height;
            }
            SourceChoice::Recording(_) => {
                return Err(CommandError::new(
                    ErrorCode::Unsupported,
                    "a recording plays at the size and rate it was recorded at",
                ));
            }
        }
        Ok(())
    }

    /// The size and rate sources are opened with: width, height, fps.
    pub fn mode(&self) -> (u32, u32, f32) {
        match self {
            SourceChoice::Synthetic(config) => (config.width, config.height, config.fps),
            SourceChoice::Realsense(config) => (config.width, config.height, config.fps as f32),
            SourceChoice::Webcam(config) => (config.width, config.height, config.fps as f32),
            SourceChoice::Recording(_) => {
                let geometry = self.requested_geometry();
                (geometry.width, geometry.height, 0.0)
            }
        }
    }
}
