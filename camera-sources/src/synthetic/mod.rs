//! The synthetic source (`--source synthetic`): a small animated 3D scene, ray cast through
//! ideal pinhole intrinsics, with colour and metric depth that agree.
//!
//! - **Scene** (`scene.rs`): a checkered floor under a sky gradient, a bouncing red ball at 2 m,
//!   a spinning orange cube at 3 m, a green ball rolling on a circle at 4-5 m and a blue ball
//!   floating against the sky at 6 m; lambert shading. Nothing is measured beyond 10 m: such
//!   pixels (sky, far floor) have depth 0 and the sky colour of their row.
//! - **Geometry**: RGB8 colour and Z16 depth in millimetres ([`DEPTH_SCALE_M`]), depth aligned
//!   to colour, intrinsics [`shmproto::Intrinsics::pinhole_from_fov`] with
//!   [`HORIZONTAL_FOV_DEG`]. Deprojecting pixel (u, v) (librealsense's pixel coordinates) with its depth gives the
//!   surface point the pixel's ray hit, to within the millimetre quantisation.
//! - **Time**: frame N shows the scene at time `N / fps` seconds (`N / 30` when unpaced) times
//!   the speed, so a frame number always gives the same image. Frames are numbered from 1.
//! - **Ground truth** (`ground_truth.rs`): every frame's [`FrameStamp::ground_truth`] (and
//!   [`CapturedFrame::ground_truth`], and so the published metadata's `ground_truth`) lists the
//!   objects whose centre is in view at that frame's instant: name ("red sphere", "orange
//!   cube", "green sphere", "blue sphere"), volumetric centre in the camera frame and
//!   axis-aligned size in the camera frame, metres. [`SyntheticSource::render_background`]
//!   draws the scene without its objects, for tests that need an empty floor.
//! - **Pacing** (`pacing.rs`): `next_frame` sleeps to a fixed schedule on the monotonic clock;
//!   when it falls behind it skips ahead instead of bursting.
//! - **Stamp** (`stamp.rs`, re-exported here): the frame number is written at the start of the
//!   first row and the end of the last row of both planes, for tear detection with
//!   [`verify_frame`]. Those pixels (160 colour and 5 depth pixels per row) are stamp data, not
//!   scene: skip the first and last rows when deprojecting.
//! - **Cost** (`render.rs`): the sky and floor are ray cast once and cached; each frame
//!   restores from the cache what was drawn into its buffers last time (the whole frame for
//!   buffers it does not know, see [`CapturedFrame::contents_id`]) and ray casts only the pixels
//!   the moving objects' bounding spheres cover
//!   (`cargo bench -p camera-sources --bench synthetic`).
//!
//! ```
//! use camera_sources::synthetic::{verify_frame, SyntheticConfig, SyntheticSource};
//! use camera_sources::{CapturedFrame, Source};
//!
//! let mut source = SyntheticSource::new(SyntheticConfig {
//!     fps: 0.0, // unpaced, for the example
//!     ..SyntheticConfig::default()
//! })?;
//! let mut frame = CapturedFrame::default();
//! source.next_frame(&mut frame)?;
//! assert_eq!(frame.frame_number, 1);
//! verify_frame(&frame.rgb, &frame.depth, &source.geometry(), frame.frame_number)?;
//! source.set_brightness(0.5)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod ground_truth;
mod pacing;
mod render;
mod scene;
mod stamp;

pub use stamp::{
    read_stamp_depth, read_stamp_rgb, stamp_checksum, verify_frame, write_stamps, StampError,
    StampPlane, StampRow, MIN_CONTRAST, STAMP_MIN_WIDTH_PX,
};

use shmproto::control::{CommandError, ControlInfo, ControlKind, ErrorCode};
use shmproto::{Geometry, Intrinsics, SourceKind};

use super::{
    CapturedFrame, FramePlanes, FrameStamp, FrameTarget, GroundTruth, Source, SourceError,
    SourceInfo,
};
use pacing::Pacer;
use render::Renderer;

/// Horizontal field of view of the synthetic camera (about a RealSense D435's colour camera).
pub const HORIZONTAL_FOV_DEG: f32 = 69.0;

/// Metres per depth unit: depth is in millimetres.
pub const DEPTH_SCALE_M: f32 = 0.001;

/// Smallest accepted frame rate other than 0 (unpaced): one frame every ten seconds.
pub const MIN_FPS: f32 = 0.1;

/// Largest accepted frame rate.
pub const MAX_FPS: f32 = 1000.0;

/// Largest accepted brightness factor.
pub const MAX_BRIGHTNESS: f32 = 4.0;

/// Largest accepted speed factor.
pub const MAX_SPEED: f32 = 10.0;

/// Frame interval of the scene clock when unpaced.
const UNPACED_SCENE_FPS: f64 = 30.0;

/// How to set up a [`SyntheticSource`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticConfig {
    pub width: u32,
    pub height: u32,
    /// Frames per second, [`MIN_FPS`] to [`MAX_FPS`]; 0 delivers frames as fast as they are
    /// asked for.
    pub fps: f32,
    /// Multiplies every colour (0 black, 1 as designed, up to [`MAX_BRIGHTNESS`]).
    pub brightness: f32,
    /// Multiplies scene time (0 freezes the scene, up to [`MAX_SPEED`]).
    pub speed: f32,
}

impl Default for SyntheticConfig {
    /// 640x480 at 30 fps, brightness and speed 1.
    fn default() -> Self {
        SyntheticConfig {
            width: 640,
            height: 480,
            fps: 30.0,
            brightness: 1.0,
            speed: 1.0,
        }
    }
}

/// Why a control value was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ControlError {
    #[error("brightness must be a number from 0 to {MAX_BRIGHTNESS}, got {0}")]
    Brightness(f32),
    #[error("speed must be a number from 0 to {MAX_SPEED}, got {0}")]
    Speed(f32),
}

fn check_brightness(brightness: f32) -> Result<(), ControlError> {
    if (0.0..=MAX_BRIGHTNESS).contains(&brightness) {
        Ok(())
    } else {
        Err(ControlError::Brightness(brightness))
    }
}

fn check_speed(speed: f32) -> Result<(), ControlError> {
    if (0.0..=MAX_SPEED).contains(&speed) {
        Ok(())
    } else {
        Err(ControlError::Speed(speed))
    }
}

/// Maps frame numbers to scene time, continuously across speed changes.
#[derive(Debug, Clone)]
struct SceneClock {
    frame_interval_s: f64,
    speed: f64,
    /// The clock runs at `speed` from `(base_frame, base_time_s)` on.
    base_frame: u64,
    base_time_s: f64,
}

impl SceneClock {
    fn time_s(&self, frame_number: u64) -> f64 {
        let frames = frame_number as f64 - self.base_frame as f64;
        self.base_time_s + frames * self.frame_interval_s * self.speed
    }

    /// Changes the speed from `frame_number` on, without a jump in scene time there.
    fn set_speed(&mut self, speed: f64, frame_number: u64) {
        self.base_time_s = self.time_s(frame_number);
        self.base_frame = frame_number;
        self.speed = speed;
    }
}

/// The synthetic RGB-D camera. See the module documentation.
#[derive(Debug)]
pub struct SyntheticSource {
    geometry: Geometry,
    intrinsics: Intrinsics,
    fps: f32,
    brightness: f32,
    clock: SceneClock,
    pacer: Pacer,
    renderer: Renderer,
    next_frame_number: u64,
}

impl SyntheticSource {
    /// Checks the configuration and sets the scene up; no frame is rendered yet (the first
    /// frame also ray casts the static layer, a few milliseconds).
    ///
    /// Fails with [`SourceError::Open`] for an invalid geometry, a frame smaller than
    /// [`STAMP_MIN_WIDTH_PX`] x 2, or a frame rate, brightness or speed out of range.
    pub fn new(config: SyntheticConfig) -> Result<Self, SourceError> {
        let open_error = |reason: String| SourceError::Open {
            kind: SourceKind::Synthetic,
            reason,
        };
        let geometry = Geometry::rgbd(config.width, config.height);
        geometry
            .validate()
            .map_err(|error| open_error(error.to_string()))?;
        if config.width < STAMP_MIN_WIDTH_PX || config.height < 2 {
            return Err(open_error(format!(
                "{}x{} is too small: synthetic frames must be at least {STAMP_MIN_WIDTH_PX}x2 \
                 pixels to carry the frame-number stamp",
                config.width, config.height
            )));
        }
        if !(config.fps == 0.0 || (MIN_FPS..=MAX_FPS).contains(&config.fps)) {
            return Err(open_error(format!(
                "the frame rate must be 0 (unpaced) or from {MIN_FPS} to {MAX_FPS} fps, got {}",
                config.fps
            )));
        }
        check_brightness(config.brightness).map_err(|error| open_error(error.to_string()))?;
        check_speed(config.speed).map_err(|error| open_error(error.to_string()))?;

        let intrinsics =
            Intrinsics::pinhole_from_fov(config.width, config.height, HORIZONTAL_FOV_DEG);
        let scene_fps = if config.fps > 0.0 {
            f64::from(config.fps)
        } else {
            UNPACED_SCENE_FPS
        };
        Ok(SyntheticSource {
            geometry,
            intrinsics,
            fps: config.fps,
            brightness: config.brightness,
            clock: SceneClock {
                frame_interval_s: 1.0 / scene_fps,
                speed: f64::from(config.speed),
                base_frame: 0,
                base_time_s: 0.0,
            },
            pacer: Pacer::new(config.fps),
            renderer: Renderer::new(&geometry, intrinsics),
            next_frame_number: 1,
        })
    }

    /// The configured frame rate (0 = unpaced).
    pub fn fps(&self) -> f32 {
        self.fps
    }

    pub fn brightness(&self) -> f32 {
        self.brightness
    }

    /// Sets the colour multiplier from the next frame on (0 to [`MAX_BRIGHTNESS`]). The next
    /// frame after a change costs one full ray cast of the floor.
    pub fn set_brightness(&mut self, brightness: f32) -> Result<(), ControlError> {
        check_brightness(brightness)?;
        self.brightness = brightness;
        Ok(())
    }

    pub fn speed(&self) -> f32 {
        self.clock.speed as f32
    }

    /// Sets the scene time multiplier from the next frame on (0 freezes, up to
    /// [`MAX_SPEED`]); the scene continues from where it is, without a jump.
    pub fn set_speed(&mut self, speed: f32) -> Result<(), ControlError> {
        check_speed(speed)?;
        self.clock
            .set_speed(f64::from(speed), self.next_frame_number);
        Ok(())
    }

    /// Renders the scene without its moving objects into `frame`: the floor and the sky alone,
    /// as every frame shows them where no object is (for tests of what is detected on an empty
    /// floor). The frame is stamped as frame 0, has no timestamps and an empty ground truth;
    /// the source's frame counter does not move.
    pub fn render_background(&mut self, frame: &mut CapturedFrame) -> Result<(), SourceError> {
        let capture_error = |reason: String| SourceError::Capture {
            kind: SourceKind::Synthetic,
            reason,
        };
        frame.rgb.resize(self.geometry.color_len(), 0);
        frame.depth.resize(self.geometry.depth_len(), 0);
        frame.frame_number = 0;
        frame.capture_wall_ns = 0;
        frame.capture_mono_ns = 0;
        frame.ground_truth = GroundTruth::default();
        self.renderer
            .render_static(
                self.brightness,
                &mut frame.rgb,
                &mut frame.depth,
                &mut frame.contents_id,
            )
            .map_err(capture_error)?;
        write_stamps(0, &mut frame.rgb, &mut frame.depth, &self.geometry)
            .map_err(|error| capture_error(error.to_string()))
    }

    /// Renders and stamps frame `frame_number` into `frame` without pacing or timestamps.
    fn render_frame(
        &mut self,
        frame_number: u64,
        frame: &mut CapturedFrame,
    ) -> Result<(), SourceError> {
        // `resize` only reallocates when the buffer's capacity is too small.
        frame.rgb.resize(self.geometry.color_len(), 0);
        frame.depth.resize(self.geometry.depth_len(), 0);
        frame.frame_number = frame_number;
        self.render_planes(frame_number, frame.planes())
    }

    /// Renders and stamps frame `frame_number` into planes of this source's geometry.
    fn render_planes(
        &mut self,
        frame_number: u64,
        planes: FramePlanes<'_>,
    ) -> Result<(), SourceError> {
        let capture_error = |reason: String| SourceError::Capture {
            kind: SourceKind::Synthetic,
            reason,
        };
        self.renderer
            .render(
                self.clock.time_s(frame_number),
                self.brightness,
                planes.rgb,
                planes.depth,
                planes.contents_id,
            )
            .map_err(capture_error)?;
        write_stamps(frame_number, planes.rgb, planes.depth, &self.geometry)
            .map_err(|error| capture_error(error.to_string()))
    }

    /// The objects in view in frame `frame_number` (see `ground_truth.rs`).
    fn ground_truth(&self, frame_number: u64) -> GroundTruth {
        ground_truth::ground_truth(
            self.renderer.scene(),
            &self.intrinsics,
            self.clock.time_s(frame_number),
        )
    }

    /// Waits until the next frame is due and numbers and timestamps it.
    fn next_stamp(&mut self) -> FrameStamp {
        self.pacer.wait();
        // Captured when due: the scene time of this frame is the scheduled instant.
        let frame_number = self.next_frame_number;
        let stamp = FrameStamp {
            frame_number,
            capture_wall_ns: shmproto::wall_now_ns(),
            capture_mono_ns: shmproto::monotonic_now_ns(),
            ground_truth: self.ground_truth(frame_number),
        };
        self.next_frame_number += 1;
        stamp
    }
}

impl Source for SyntheticSource {
    fn geometry(&self) -> Geometry {
        self.geometry
    }

    fn info(&self) -> SourceInfo {
        SourceInfo {
            kind: SourceKind::Synthetic,
            description: format!(
                "synthetic scene {}x{} (floor, three balls, a cube)",
                self.geometry.width, self.geometry.height
            ),
            intrinsics: Some(self.intrinsics),
            depth_scale_m: Some(DEPTH_SCALE_M),
            depth_aligned_to_color: true,
        }
    }

    fn next_frame(&mut self, frame: &mut CapturedFrame) -> Result<(), SourceError> {
        let stamp = self.next_stamp();
        frame.capture_wall_ns = stamp.capture_wall_ns;
        frame.capture_mono_ns = stamp.capture_mono_ns;
        frame.ground_truth = stamp.ground_truth;
        self.render_frame(stamp.frame_number, frame)
    }

    /// Renders straight into the target's planes (in the daemon, shared memory).
    fn deliver_next_frame(
        &mut self,
        _scratch: &mut CapturedFrame,
        target: &mut dyn FrameTarget,
    ) -> Result<(), SourceError> {
        let stamp = self.next_stamp();
        // Rendering fails only for planes of another geometry, which a target never passes
        // (it drops such a frame instead), so the frame it publishes is always complete.
        let mut rendered = Ok(());
        target.write(stamp, self.geometry, &mut |planes| {
            rendered = self.render_planes(stamp.frame_number, planes);
        });
        rendered
    }

    fn controls(&self) -> Vec<ControlInfo> {
        let range = |name: &str, label: &str, max: f32, step: f64, value: f32| ControlInfo {
            name: name.to_owned(),
            label: label.to_owned(),
            kind: ControlKind::Range {
                min: 0.0,
                max: f64::from(max),
                step,
            },
            default: 1.0,
            value: f64::from(value),
            unit: None,
        };
        vec![
            range(
                "brightness",
                "Brightness",
                MAX_BRIGHTNESS,
                0.05,
                self.brightness,
            ),
            range("speed", "Scene speed", MAX_SPEED, 0.1, self.speed()),
        ]
    }

    fn set_control(&mut self, name: &str, value: f64) -> Result<ControlInfo, CommandError> {
        let Some(control) = self.controls().into_iter().find(|c| c.name == name) else {
            return Err(super::unknown_control(name));
        };
        control.check(value)?;
        let refused =
            |error: ControlError| CommandError::new(ErrorCode::OutOfRange, error.to_string());
        match name {
            "brightness" => self.set_brightness(value as f32).map_err(refused)?,
            _ => self.set_speed(value as f32).map_err(refused)?,
        }
        self.controls()
            .into_iter()
            .find(|c| c.name == name)
            .ok_or_else(|| super::unknown_control(name))
    }
}

#[cfg(test)]
mod tests;
