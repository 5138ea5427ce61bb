//! What to open ([`RealsenseInput`], [`RealsenseConfig`]) and what is connected
//! ([`RealsenseDeviceInfo`]); compiled in every build, with or without librealsense.

use std::path::PathBuf;
use std::time::Duration;

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
    /// with [`SourceError::EndOfStream`](crate::SourceError::EndOfStream). Ignored for cameras.
    pub loop_playback: bool,
    /// How long to wait for a frame before reporting a stall
    /// ([`SourceError::Capture`](crate::SourceError::Capture)); for a recording that does not
    /// loop, a wait this long means the recording has ended.
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

/// A connected RealSense, as [`list_realsense_devices`](super::list_realsense_devices) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealsenseDeviceInfo {
    /// Position in librealsense's device list ([`RealsenseInput::Index`]).
    pub index: usize,
    pub name: String,
    pub serial: String,
    pub firmware_version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_first_camera_at_640x480_30fps() {
        let config = RealsenseConfig::default();
        assert_eq!(config.input, RealsenseInput::FirstDevice);
        assert_eq!((config.width, config.height, config.fps), (640, 480, 30));
        assert!(!config.loop_playback);
    }
}
