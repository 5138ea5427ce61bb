//! Camera sources behind one trait: the daemon publishes whatever a [`Source`] delivers.

use shmproto::control::{CommandError, ControlInfo, ErrorCode};
use shmproto::{FrameMetadata, Geometry, GroundTruthObject, Intrinsics, SourceKind};

pub mod access;
pub mod choice;
pub mod realsense;
pub mod recording;
pub mod replay_pacing;
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
            ground_truth: stamp.ground_truth.to_metadata(),
        }
    }
}

/// Which frame, when it was captured, and what it shows when the source knows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameStamp {
    /// The source's frame counter.
    pub frame_number: u64,
    /// Capture time, nanoseconds since the Unix epoch.
    pub capture_wall_ns: u64,
    /// Capture time on `CLOCK_MONOTONIC` ([`shmproto::monotonic_now_ns`]).
    pub capture_mono_ns: u64,
    /// Where the scene's objects are at the instant of this frame (the synthetic scene);
    /// empty for cameras.
    pub ground_truth: GroundTruth,
}

/// Most objects one frame's [`GroundTruth`] holds.
pub const GROUND_TRUTH_CAPACITY: usize = 8;

/// Where the objects of one frame's scene really are, when the source knows (the synthetic
/// scene; cameras leave it empty). A list of fixed capacity rather than a `Vec`, so that
/// [`FrameStamp`] stays `Copy` and stamping a frame allocates nothing;
/// [`SourceInfo::frame_metadata`] turns it into the metadata's `ground_truth`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GroundTruth {
    objects: [Option<KnownObject>; GROUND_TRUTH_CAPACITY],
}

/// One object whose geometry the source knows exactly (see [`GroundTruthObject`], which this
/// becomes in the metadata).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KnownObject {
    /// What it is, from its colour and shape ("red sphere", "orange cube").
    pub name: &'static str,
    /// Its volumetric centre in the camera frame (x right, y down, z forward), metres.
    pub center_m: [f32; 3],
    /// Its axis-aligned size in the camera frame (along x, y, z), metres.
    pub size_m: [f32; 3],
}

impl GroundTruth {
    /// Appends `object`; gives it back when [`GROUND_TRUTH_CAPACITY`] objects are held.
    pub fn push(&mut self, object: KnownObject) -> Result<(), KnownObject> {
        match self.objects.iter_mut().find(|slot| slot.is_none()) {
            Some(slot) => {
                *slot = Some(object);
                Ok(())
            }
            None => Err(object),
        }
    }

    /// The objects, in the order they were pushed.
    pub fn iter(&self) -> impl Iterator<Item = &KnownObject> {
        self.objects.iter().map_while(Option::as_ref)
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.objects[0].is_none()
    }

    /// The objects as the frame metadata carries them.
    pub fn to_metadata(&self) -> Vec<GroundTruthObject> {
        self.iter()
            .map(|object| GroundTruthObject {
                name: object.name.to_owned(),
                center_m: object.center_m,
                size_m: object.size_m,
            })
            .collect()
    }
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
    /// Where the scene's objects are in this frame, when the source knows (see
    /// [`FrameStamp::ground_truth`]).
    pub ground_truth: GroundTruth,
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
            ground_truth: self.ground_truth,
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
    /// A recording cannot be played (missing, unreadable, not a recording, nothing to play):
    /// retrying will not help.
    #[error("cannot play recording {}: {reason}", path.display())]
    BadRecording {
        path: std::path::PathBuf,
        reason: String,
    },
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

impl SourceError {
    /// Whether opening again can never help (not built in, a recording that cannot be
    /// played): the daemon stops instead of retrying.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            SourceError::NotBuilt { .. } | SourceError::BadRecording { .. }
        )
    }
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
