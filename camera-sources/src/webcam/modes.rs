//! Which of a webcam's modes to use: the one closest to the request that nokhwa can decode to
//! RGB.

use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{CameraFormat, FrameFormat};
use nokhwa::FormatDecoder;

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

#[cfg(test)]
mod tests {
    use super::closest_format;
    use nokhwa::utils::{CameraFormat, FrameFormat};

    #[test]
    fn the_closest_mode_wins_by_size_then_rate_then_cheapest_format() {
        let modes = [
            CameraFormat::new_from(1280, 720, FrameFormat::MJPEG, 30),
            CameraFormat::new_from(640, 480, FrameFormat::MJPEG, 30),
            CameraFormat::new_from(640, 480, FrameFormat::YUYV, 30),
            CameraFormat::new_from(640, 480, FrameFormat::YUYV, 15),
            CameraFormat::new_from(320, 240, FrameFormat::YUYV, 30),
        ];
        let pick = |w, h, fps| closest_format(&modes, w, h, fps);
        assert_eq!(pick(640, 480, 30), Some(modes[2]));
        assert_eq!(pick(640, 480, 14), Some(modes[3]));
        assert_eq!(pick(1920, 1080, 60), Some(modes[0]));
        assert_eq!(pick(300, 200, 30), Some(modes[4]));
        assert_eq!(closest_format(&[], 640, 480, 30), None);
        let gray_only = [CameraFormat::new_from(640, 480, FrameFormat::GRAY, 30)];
        assert_eq!(closest_format(&gray_only, 640, 480, 30), None);
    }
}
