//! Camera sources behind one trait: the daemon publishes whatever a [`Source`] delivers.

use shmproto::control::{CommandError, ControlInfo, ErrorCode};
use shmproto::{FrameMetadata, Geometry, Intrinsics, SourceKind};

pub mod access;
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
    /// The metadata published with the frame `stamp`, measured at `fps`.
    pub fn frame_metadata(&self, stamp: FrameStamp, fps: f32) -> FrameMetadata {
        FrameMetadata {
            frame_number: stamp.frame_number,
            capture_wall_ns: stamp.capture_wall_ns,
            capture_mono_ns: stamp.capture_mono_ns,
            fps,
            source_kind: self.kind,
            source_description: self.description.clone(),
            intrinsics: self.intrinsics,
            depth_scale_m: self.depth_scale_m,
            depth_aligned_to_color: self.depth_aligned_to_color,
            ground_truth: Vec::new(),
        }
    }
}

/// Which frame, and when it was captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameStamp {
    /// The source's frame counter.
    pub frame_number: u64,
    /// Capture time, nanoseconds since the Unix epoch.
    pub capture_wall_ns: u64,
    /// Capture time on `CLOCK_MONOTONIC` ([`shmproto::monotonic_now_ns`]).
    pub capture_mono_ns: u64,
}

/// The planes a source writes one frame into, each to be overwritten completely.
#[derive(Debug)]
pub struct FramePlanes<'a> {
    /// Tightly packed RGB8, `geometry.color_len()` bytes.
    pub rgb: &'a mut [u8],
    /// Tightly packed little-endian Z16, `geometry.depth_len()` bytes; empty without depth.
    pub depth: &'a mut [u8],
    /// What the planes hold, as in [`CapturedFrame::contents_id`]; update it.
    pub contents_id: &'a mut u64,
}

/// Where a source delivers its frames: in the daemon, the next shared-memory slot.
pub trait FrameTarget {
    /// Takes the frame `stamp` of `geometry`: calls `fill` once with planes of exactly that
    /// geometry, unless the frame is not wanted (publishing paused, or the target publishes
    /// another geometry: the target reports that itself). `fill` should be quick.
    fn write(
        &mut self,
        stamp: FrameStamp,
        geometry: Geometry,
        fill: &mut dyn FnMut(FramePlanes<'_>),
    );
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

impl CapturedFrame {
    pub fn stamp(&self) -> FrameStamp {
        FrameStamp {
            frame_number: self.frame_number,
            capture_wall_ns: self.capture_wall_ns,
            capture_mono_ns: self.capture_mono_ns,
        }
    }

    /// The frame's planes and contents id, to fill.
    pub fn planes(&mut self) -> FramePlanes<'_> {
        FramePlanes {
            rgb: &mut self.rgb,
            depth: &mut self.depth,
            contents_id: &mut self.contents_id,
        }
    }
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

    /// Waits for the next frame and hands it to `target`. By default reads it into `scratch`
    /// with [`Source::next_frame`] and copies it; a source that can draw straight into the
    /// target's planes (the synthetic scene) overrides this and saves the copy.
    fn deliver_next_frame(
        &mut self,
        scratch: &mut CapturedFrame,
        target: &mut dyn FrameTarget,
    ) -> Result<(), SourceError> {
        self.next_frame(scratch)?;
        let geometry = self.geometry();
        if scratch.rgb.len() != geometry.color_len() || scratch.depth.len() != geometry.depth_len()
        {
            return Err(SourceError::Capture {
                kind: self.info().kind,
                reason: format!(
                    "delivered planes of {} and {} bytes, not {}x{}",
                    scratch.rgb.len(),
                    scratch.depth.len(),
                    geometry.width,
                    geometry.height
                ),
            });
        }
        target.write(scratch.stamp(), geometry, &mut |planes| {
            planes.rgb.copy_from_slice(&scratch.rgb);
            planes.depth.copy_from_slice(&scratch.depth);
            *planes.contents_id = 0;
        });
        Ok(())
    }

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
