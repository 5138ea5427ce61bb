//! Which source the daemon runs, as chosen on the command line.

use shmproto::{Geometry, SourceKind};

use super::realsense::{open_realsense, RealsenseConfig};
use super::synthetic::{SyntheticConfig, SyntheticSource};
use super::webcam::{open_webcam, WebcamConfig};
use super::{Source, SourceError};

/// A configured source, ready to be opened (and reopened after failures).
#[derive(Debug, Clone, PartialEq)]
pub enum SourceChoice {
    Synthetic(SyntheticConfig),
    Realsense(RealsenseConfig),
    Webcam(WebcamConfig),
}

impl SourceChoice {
    pub fn kind(&self) -> SourceKind {
        match self {
            SourceChoice::Synthetic(_) => SourceKind::Synthetic,
            SourceChoice::Realsense(_) => SourceKind::Realsense,
            SourceChoice::Webcam(_) => SourceKind::Webcam,
        }
    }

    /// The geometry asked for; the opened source may settle on another (a webcam's nearest
    /// mode, a recording's own size).
    pub fn requested_geometry(&self) -> Geometry {
        match self {
            SourceChoice::Synthetic(config) => Geometry::rgbd(config.width, config.height),
            SourceChoice::Realsense(config) => Geometry::rgbd(config.width, config.height),
            SourceChoice::Webcam(config) => Geometry::rgb_only(config.width, config.height),
        }
    }

    /// Frames per second asked for (0 = as fast as possible).
    pub fn requested_fps(&self) -> f64 {
        match self {
            SourceChoice::Synthetic(config) => f64::from(config.fps),
            SourceChoice::Realsense(config) => f64::from(config.fps),
            SourceChoice::Webcam(config) => f64::from(config.fps),
        }
    }

    pub fn open(&self) -> Result<Box<dyn Source>, SourceError> {
        match self {
            SourceChoice::Synthetic(config) => Ok(Box::new(SyntheticSource::new(*config)?)),
            SourceChoice::Realsense(config) => open_realsense(config),
            SourceChoice::Webcam(config) => open_webcam(config),
        }
    }
}
