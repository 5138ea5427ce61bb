//! USB and built-in webcams through nokhwa: colour only, decoded to RGB8.
//!
//! The code that talks to nokhwa is compiled only with the cargo feature `webcam` (it needs
//! libclang at build time: `scripts/setup-build-deps.sh`). [`open_webcam`] exists in every
//! build; without the feature it returns [`SourceError::NotBuilt`].
//!
//! Nothing here is specific to the daemon: the app opens a [`WebcamSource`] directly when no
//! daemon runs.

use super::{Source, SourceError};
#[cfg(not(feature = "webcam"))]
use shmproto::SourceKind;

#[cfg(feature = "webcam")]
pub use device::WebcamSource;

/// How to open a webcam.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebcamConfig {
    /// Device index: `/dev/video<index>` on Linux.
    pub index: u32,
    /// Requested size and rate; the camera's closest mode is used (nearest size first, then
    /// nearest rate), and [`Source::geometry`] tells which.
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

impl Default for WebcamConfig {
    /// The first webcam at 640x480, 30 fps.
    fn default() -> Self {
        WebcamConfig {
            index: 0,
            width: 640,
            height: 480,
            fps: 30,
        }
    }
}

/// True when this binary was built with webcam support.
pub const WEBCAM_BUILT: bool = cfg!(feature = "webcam");

/// Opens a webcam as a [`Source`].
///
/// Without the cargo feature `webcam` this returns [`SourceError::NotBuilt`].
pub fn open_webcam(config: &WebcamConfig) -> Result<Box<dyn Source>, SourceError> {
    #[cfg(feature = "webcam")]
    {
        Ok(Box::new(WebcamSource::open(config)?))
    }
    #[cfg(not(feature = "webcam"))]
    {
        let _ = config;
        Err(SourceError::NotBuilt {
            kind: SourceKind::Webcam,
            feature: "webcam",
        })
    }
}

#[cfg(feature = "webcam")]
mod device {
    use nokhwa::pixel_format::RgbFormat;
    use nokhwa::utils::{
        CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
    };
    use nokhwa::{Camera, FormatDecoder};
    use shmproto::{Geometry, SourceKind};

    use super::WebcamConfig;
    use crate::source::{CapturedFrame, Source, SourceError, SourceInfo};

    /// A webcam delivering RGB8 frames (no depth).
    pub struct WebcamSource {
        camera: Camera,
        geometry: Geometry,
        info: SourceInfo,
        frame_number: u64,
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

    fn open_error(reason: impl Into<String>) -> SourceError {
        SourceError::Open {
            kind: SourceKind::Webcam,
            reason: reason.into(),
        }
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

    /// Preference among equally close modes: cheap to decode first.
    fn format_rank(format: FrameFormat) -> u8 {
        match format {
            FrameFormat::RAWRGB => 0,
            FrameFormat::YUYV => 1,
            FrameFormat::RAWBGR => 2,
            FrameFormat::NV12 => 3,
            FrameFormat::MJPEG => 4,
            FrameFormat::GRAY => 5,
        }
    }

    /// The mode closest to the request among those nokhwa can decode to RGB: nearest size
    /// (squared distance in pixels), then nearest frame rate, then the cheapest to decode.
    pub(super) fn closest_format(
        available: &[CameraFormat],
        width: u32,
        height: u32,
        fps: u32,
    ) -> Option<CameraFormat> {
        available
            .iter()
            .filter(|mode| RgbFormat::FORMATS.contains(&mode.format()))
            .min_by_key(|mode| {
                let dx = i64::from(mode.width()) - i64::from(width);
                let dy = i64::from(mode.height()) - i64::from(height);
                let dfps = (i64::from(mode.frame_rate()) - i64::from(fps)).abs();
                (dx * dx + dy * dy, dfps, format_rank(mode.format()))
            })
            .copied()
    }

    impl WebcamSource {
        /// Opens webcam `config.index` in the mode closest to the requested one and starts
        /// streaming.
        pub fn open(config: &WebcamConfig) -> Result<Self, SourceError> {
            #[cfg(target_os = "linux")]
            {
                let node = format!("/dev/video{}", config.index);
                if !std::path::Path::new(&node).exists() {
                    let present = video_devices();
                    return Err(open_error(if present.is_empty() {
                        format!("no webcam found: {node} does not exist (no /dev/video* devices)")
                    } else {
                        format!(
                            "no webcam found: {node} does not exist (present: {})",
                            present.join(", ")
                        )
                    }));
                }
            }
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
            if resolution.width() != self.geometry.width
                || resolution.height() != self.geometry.height
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
    }

    impl Drop for WebcamSource {
        fn drop(&mut self) {
            if let Err(error) = self.camera.stop_stream() {
                tracing::debug!("stopping the webcam stream: {error}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(not(feature = "webcam"))]
    fn without_the_feature_opening_says_how_to_build_it() {
        let Err(error) = open_webcam(&WebcamConfig::default()) else {
            panic!("opened a webcam without webcam support");
        };
        assert!(matches!(
            error,
            SourceError::NotBuilt {
                feature: "webcam",
                ..
            }
        ));
    }

    #[cfg(feature = "webcam")]
    mod with_nokhwa {
        use super::*;
        use nokhwa::utils::{CameraFormat, FrameFormat};

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

        #[test]
        fn the_closest_mode_wins_by_size_then_rate_then_cheapest_format() {
            let modes = [
                CameraFormat::new_from(1280, 720, FrameFormat::MJPEG, 30),
                CameraFormat::new_from(640, 480, FrameFormat::MJPEG, 30),
                CameraFormat::new_from(640, 480, FrameFormat::YUYV, 30),
                CameraFormat::new_from(640, 480, FrameFormat::YUYV, 15),
                CameraFormat::new_from(320, 240, FrameFormat::YUYV, 30),
            ];
            let pick = |w, h, fps| device::closest_format(&modes, w, h, fps);
            assert_eq!(pick(640, 480, 30), Some(modes[2]));
            assert_eq!(pick(640, 480, 14), Some(modes[3]));
            assert_eq!(pick(1920, 1080, 60), Some(modes[0]));
            assert_eq!(pick(300, 200, 30), Some(modes[4]));
            assert_eq!(device::closest_format(&[], 640, 480, 30), None);
            let gray_only = [CameraFormat::new_from(640, 480, FrameFormat::GRAY, 30)];
            assert_eq!(device::closest_format(&gray_only, 640, 480, 30), None);
        }
    }
}
