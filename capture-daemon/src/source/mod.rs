//! Camera sources behind one trait: the daemon publishes whatever a [`Source`] delivers.

use shmproto::control::{CommandError, ControlInfo, ErrorCode};
use shmproto::{FrameMetadata, Geometry, Intrinsics, SourceKind};

pub mod choice;
pub mod realsense;
pub mod synthetic;
pub mod webcam;

/// What a source tells clients about itself; copied into every frame's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    pub kind: SourceKind,
    /// Human-readable description: device name and serial, recording path, scene name.
    pub description: String,
    /// Intrinsics of the colour plane (which depth is aligned to, when aligned).
    pub intrinsics: Option<Intrinsics>,
    /// Metres per depth unit; `None` for colour-only sources.
    pub depth_scale_m: Option<f32>,
    pub depth_aligned_to_color: bool,
}

impl SourceInfo {
    /// The metadata published with `frame`, measured at `fps`.
    pub fn frame_metadata(&self, frame: &CapturedFrame, fps: f32) -> FrameMetadata {
        FrameMetadata {
            frame_number: frame.frame_number,
            capture_wall_ns: frame.capture_wall_ns,
            capture_mono_ns: frame.capture_mono_ns,
            fps,
            source_kind: self.kind,
            source_description: self.description.clone(),
            intrinsics: self.intrinsics,
            depth_scale_m: self.depth_scale_m,
            depth_aligned_to_color: self.depth_aligned_to_color,
        }
    }
}

/// One captured frame in buffers the source fills and the caller reuses from frame to frame.
#[derive(Debug, Clone, Default)]
pub struct CapturedFrame {
    /// The source's frame counter.
    pub frame_number: u64,
    /// Capture time, nanoseconds since the Unix epoch.
    pub capture_wall_ns: u64,
    /// Capture time on `CLOCK_MONOTONIC` ([`shmproto::monotonic_now_ns`]).
    pub capture_mono_ns: u64,
    /// Tightly packed RGB8, `geometry.color_len()` bytes.
    pub rgb: Vec<u8>,
    /// Tightly packed little-endian Z16, `geometry.depth_len()` bytes; empty without depth.
    pub depth: Vec<u8>,
    /// What the planes hold, as named by the source that filled them: when the buffers come
    /// back for reuse, a source that remembers what it drew under this id may redraw only
    /// what changed (the synthetic scene does). 0 = unknown. Code that changes the planes
    /// other than through the source must set it back to 0.
    pub contents_id: u64,
}

/// Why a source could not deliver.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The device or recording could not be opened (absent, busy, permission, bad file).
    #[error("cannot open the {kind} source: {reason}")]
    Open { kind: SourceKind, reason: String },
    /// The source was open but a frame could not be read (unplugged, USB error, read error).
    #[error("the {kind} source failed: {reason}")]
    Capture { kind: SourceKind, reason: String },
    /// A recording reached its end (and does not loop).
    #[error("the recording ended")]
    EndOfStream,
    /// The source was requested but this binary was built without its cargo feature.
    #[error(
        "the {kind} source is not built into this binary: rebuild with `--features {feature}`"
    )]
    NotBuilt {
        kind: SourceKind,
        feature: &'static str,
    },
}

/// A camera, recording or generator that produces frames of a fixed geometry.
pub trait Source: Send {
    /// Geometry of every frame this source delivers.
    fn geometry(&self) -> Geometry;

    /// Description, intrinsics and depth scale.
    fn info(&self) -> SourceInfo;

    /// Blocks until the next frame is available and writes it into `frame`, resizing its
    /// buffers only when they are too small. Sources pace themselves (a camera by its clock, the
    /// synthetic scene by its configured fps).
    fn next_frame(&mut self, frame: &mut CapturedFrame) -> Result<(), SourceError>;

    /// The source's controls (exposure, gain, ...) with ranges and current values.
    fn controls(&self) -> Vec<ControlInfo> {
        Vec::new()
    }

    /// Sets one control; returns it as it is afterwards.
    fn set_control(&mut self, name: &str, value: f64) -> Result<ControlInfo, CommandError> {
        let _ = value;
        Err(unknown_control(name))
    }
}

/// The error for a control name a source does not have.
pub fn unknown_control(name: &str) -> CommandError {
    CommandError::new(
        ErrorCode::UnknownControl,
        format!("this source has no control named {name:?}"),
    )
}
