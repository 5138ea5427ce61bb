//! Recordings in MCAP with the ROS 2 message layout (what `aaa-camera-daemon record` writes,
//! and what other tools write with `sensor_msgs/msg/Image` channels), replayed as a
//! [`Source`] with their original timing (or `rate` times faster), looping on request.
//!
//! - `mcap_stream.rs`: the file's messages in order, streamed.
//! - `source.rs`: [`McapSource`]: which channels are colour and depth, frames put together
//!   from their messages (through `ros_messages::frame_messages`), pacing.
//!
//! `.bag` and `.db3` recordings are RealSense ones, played by librealsense
//! ([`crate::realsense`]); [`is_mcap_file`] tells them apart by content.

mod mcap_stream;
mod source;

use std::path::PathBuf;

pub use mcap_stream::{is_mcap_file, MCAP_MAGIC};
pub use source::McapSource;

use crate::{Source, SourceError};

/// Which recording to play, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingConfig {
    pub path: PathBuf,
    /// Start again at the end.
    pub loop_playback: bool,
    /// Play this many times faster than recorded (1 = the original timing).
    pub rate: f64,
    /// The colour images' topic, when the file has several image topics.
    pub color_topic: Option<String>,
    /// The depth images' topic, when the file has several.
    pub depth_topic: Option<String>,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        RecordingConfig {
            path: PathBuf::new(),
            loop_playback: false,
            rate: 1.0,
            color_topic: None,
            depth_topic: None,
        }
    }
}

/// Why an MCAP recording cannot be played.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordingError {
    #[error("cannot read it: {reason}")]
    Unreadable { reason: String },
    #[error("it is not an MCAP file (no MCAP magic at its start)")]
    NotMcap,
    #[error("it ends early (truncated: a recorder killed before it finished the file?) before any frame")]
    Truncated,
    #[error("it is corrupt: {reason}")]
    Corrupt { reason: String },
    #[error("it has no colour images to play: {found}")]
    NoColor { found: String },
    #[error("topic {topic}: {reason}")]
    Message { topic: String, reason: String },
}

/// Opens an MCAP recording as a [`Source`]; reads up to its first frame, so a file that
/// cannot be played fails here ([`SourceError::BadRecording`]).
pub fn open_recording(config: &RecordingConfig) -> Result<Box<dyn Source>, SourceError> {
    Ok(Box::new(McapSource::open(config.clone())?))
}
