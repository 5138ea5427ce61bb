//! The project's frames as ROS 2 messages and back: one home for both directions.
//!
//! A frame (RGB8 colour, Z16 depth aligned to colour, [`FrameMetadata`]) becomes:
//! - [`COLOR_TOPIC`]: an `rgb8` [`Image`];
//! - [`DEPTH_TOPIC`]: `16UC1` millimetres when the depth scale is exactly 1 mm (the raw Z16
//!   bytes, a RealSense D400's default), else `32FC1` metres (REP 118). A Z16 value of 0 means
//!   "no reading"; in `32FC1` it becomes NaN, REP 118's "no return" (a 0 m distance would be
//!   a reading), and NaN, infinities and values ≤ 0 read back as 0;
//! - [`CAMERA_INFO_TOPIC`]: a [`CameraInfo`] from the intrinsics;
//! - [`METADATA_TOPIC`]: the metadata JSON exactly as published, so that a replay restores
//!   the depth scale (hence the units) bit for bit.
//!
//! Depth is aligned to colour, so colour, depth and camera info share
//! [`COLOR_OPTICAL_FRAME_ID`] (as realsense-ros names the aligned depth's frame).

use std::borrow::Cow;

use shmproto::{DistortionModel, FrameMetadata, Intrinsics};

use crate::camera_info::{CameraInfo, RegionOfInterest};
use crate::header::Header;
use crate::image::Image;
use crate::string_message::StringMessage;
use crate::time::Time;

pub const COLOR_TOPIC: &str = "/camera/color/image_raw";
pub const DEPTH_TOPIC: &str = "/camera/depth/image_rect_raw";
pub const CAMERA_INFO_TOPIC: &str = "/camera/color/camera_info";
/// The frame's metadata JSON (`std_msgs/msg/String`).
pub const METADATA_TOPIC: &str = "/aaa/metadata";
/// The daemon's detection results, the `DetectionResult` JSON (`std_msgs/msg/String`).
pub const DETECTIONS_TOPIC: &str = "/aaa/detections";

/// The colour camera's optical frame (z forward, x right, y down), ROS camera conventions.
pub const COLOR_OPTICAL_FRAME_ID: &str = "camera_color_optical_frame";

/// Image encodings (`sensor_msgs/image_encodings`) this crate writes or reads.
pub mod encodings {
    pub const RGB8: &str = "rgb8";
    pub const BGR8: &str = "bgr8";
    pub const DEPTH_16UC1: &str = "16UC1";
    /// What some drivers call 16-bit depth; read as `16UC1`.
    pub const MONO16: &str = "mono16";
    pub const DEPTH_32FC1: &str = "32FC1";
}

/// Metres per unit of `16UC1` depth: millimetres.
pub const MILLIMETRE_M: f32 = 0.001;

/// Why messages cannot be turned back into a frame.
#[derive(Debug, thiserror::Error)]
pub enum FrameMessageError {
    #[error("colour image encoding {encoding:?} is not supported: use rgb8 or bgr8")]
    ColorEncoding { encoding: String },
    #[error("depth image encoding {encoding:?} is not supported: use 16UC1 (millimetres) or 32FC1 (metres)")]
    DepthEncoding { encoding: String },
    #[error("{what} image {width}x{height} with step {step} does not fit its {len} data bytes")]
    Size {
        what: &'static str,
        width: u32,
        height: u32,
        step: u32,
        len: usize,
    },
    #[error("depth image {depth_width}x{depth_height} is not the size of the colour image {color_width}x{color_height}")]
    DepthSize {
        color_width: u32,
        color_height: u32,
        depth_width: u32,
        depth_height: u32,
    },
    #[error("frame metadata JSON is invalid: {0}")]
    Metadata(#[from] serde_json::Error),
}

/// A header stamped with a capture time (nanoseconds since the Unix epoch) in the colour
/// optical frame.
pub fn header(capture_wall_ns: u64) -> Header {
    Header {
        stamp: Time::from_unix_ns(capture_wall_ns),
        frame_id: COLOR_OPTICAL_FRAME_ID.to_owned(),
    }
}

/// The colour plane (tightly packed RGB8 rows) as an `rgb8` image borrowing `rgb`.
pub fn color_image(capture_wall_ns: u64, width: u32, height: u32, rgb: &[u8]) -> Image<'_> {
    Image {
        header: header(capture_wall_ns),
        height,
        width,
        encoding: encodings::RGB8.to_owned(),
        is_bigendian: false,
        step: width.saturating_mul(3),
        data: Cow::Borrowed(rgb),
    }
}

/// The depth plane (tightly packed little-endian Z16 rows of `depth_scale_m` metres per unit)
/// as `16UC1` borrowing `depth_z16` when the scale is exactly 1 mm, else as `32FC1` metres
/// (0 → NaN); see the module's documentation.
pub fn depth_image(
    capture_wall_ns: u64,
    width: u32,
    height: u32,
    depth_z16: &[u8],
    depth_scale_m: f32,
) -> Image<'_> {
    let (encoding, step, data) = if depth_scale_m == MILLIMETRE_M {
        (
            encodings::DEPTH_16UC1,
            width.saturating_mul(2),
            Cow::Borrowed(depth_z16),
        )
    } else {
        let metres: Vec<u8> = depth_z16
            .chunks_exact(2)
            .flat_map(|unit| {
                let units = u16::from_le_bytes([unit[0], unit[1]]);
                let depth_m = if units == 0 {
                    f32::NAN
                } else {
                    f32::from(units) * depth_scale_m
                };
                depth_m.to_le_bytes()
            })
            .collect();
        (
            encodings::DEPTH_32FC1,
            width.saturating_mul(4),
            Cow::Owned(metres),
        )
    };
    Image {
        header: header(capture_wall_ns),
        height,
        width,
        encoding: encoding.to_owned(),
        is_bigendian: false,
        step,
        data,
    }
}

/// The ROS name of a librealsense distortion model: Brown-Conrady kinds (and no distortion,
/// with zero coefficients) are `plumb_bob` with [k1, k2, p1, p2, k3], as realsense-ros
/// publishes them; a model this project does not know has no ROS name (empty).
fn ros_distortion_model(model: DistortionModel) -> &'static str {
    match model {
        DistortionModel::None
        | DistortionModel::BrownConrady
        | DistortionModel::ModifiedBrownConrady
        | DistortionModel::InverseBrownConrady => "plumb_bob",
        DistortionModel::Other => "",
    }
}

/// The colour camera's calibration from the metadata's intrinsics, `None` without them.
pub fn camera_info(metadata: &FrameMetadata) -> Option<CameraInfo> {
    let intrinsics = metadata.intrinsics?;
    let (fx, fy) = (f64::from(intrinsics.fx), f64::from(intrinsics.fy));
    let (cx, cy) = (f64::from(intrinsics.ppx), f64::from(intrinsics.ppy));
    Some(CameraInfo {
        header: header(metadata.capture_wall_ns),
        height: intrinsics.height,
        width: intrinsics.width,
        distortion_model: ros_distortion_model(intrinsics.model).to_owned(),
        d: intrinsics.coeffs.iter().map(|&c| f64::from(c)).collect(),
        k: [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0],
        r: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        p: [fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0],
        binning_x: 0,
        binning_y: 0,
        roi: RegionOfInterest::default(),
    })
}

/// The frame's metadata JSON exactly as published (bytes that are not UTF-8, which a
/// well-behaved writer never publishes, are replaced).
pub fn metadata_message(metadata_json: &[u8]) -> StringMessage {
    StringMessage {
        data: String::from_utf8_lossy(metadata_json).into_owned(),
    }
}

/// The metadata a [`METADATA_TOPIC`] message carries.
pub fn metadata_from_message(message: &StringMessage) -> Result<FrameMetadata, FrameMessageError> {
    Ok(serde_json::from_str(&message.data)?)
}

/// Intrinsics from a camera's calibration (for recordings without [`METADATA_TOPIC`]):
/// `plumb_bob` with five coefficients reads as Brown-Conrady (no distortion when they are all
/// 0), anything else as [`DistortionModel::Other`] with the first five coefficients.
pub fn intrinsics_from_camera_info(info: &CameraInfo) -> Intrinsics {
    let mut coeffs = [0.0f32; 5];
    for (coeff, &value) in coeffs.iter_mut().zip(&info.d) {
        *coeff = value as f32;
    }
    let model = match info.distortion_model.as_str() {
        "plumb_bob" if info.d.len() == 5 && coeffs.iter().all(|&c| c == 0.0) => {
            DistortionModel::None
        }
        "plumb_bob" if info.d.len() == 5 => DistortionModel::BrownConrady,
        "" | "plumb_bob" if info.d.is_empty() => DistortionModel::None,
        _ => DistortionModel::Other,
    };
    Intrinsics {
        width: info.width,
        height: info.height,
        fx: info.k[0] as f32,
        fy: info.k[4] as f32,
        ppx: info.k[2] as f32,
        ppy: info.k[5] as f32,
        model,
        coeffs,
    }
}

/// The rows of an image of `bytes_per_pixel`, checked against its data; yields each row's
/// pixels without the padding a `step` wider than the row may add.
fn checked_rows<'i>(
    image: &'i Image<'_>,
    what: &'static str,
    bytes_per_pixel: usize,
) -> Result<impl Iterator<Item = &'i [u8]>, FrameMessageError> {
    let size_error = || FrameMessageError::Size {
        what,
        width: image.width,
        height: image.height,
        step: image.step,
        len: image.data.len(),
    };
    let row_len = (image.width as usize)
        .checked_mul(bytes_per_pixel)
        .ok_or_else(size_error)?;
    let step = image.step as usize;
    let needed = step
        .checked_mul(image.height as usize)
        .ok_or_else(size_error)?;
    if image.width == 0 || image.height == 0 || step < row_len || image.data.len() < needed {
        return Err(size_error());
    }
    Ok(image.data[..needed]
        .chunks_exact(step)
        .map(move |row| &row[..row_len]))
}

/// A colour image (`rgb8` or `bgr8`) as tightly packed RGB8 rows in `rgb`, replacing what it
/// held.
pub fn rgb8_from_image(image: &Image<'_>, rgb: &mut Vec<u8>) -> Result<(), FrameMessageError> {
    let swap = match image.encoding.as_str() {
        encodings::RGB8 => false,
        encodings::BGR8 => true,
        other => {
            return Err(FrameMessageError::ColorEncoding {
                encoding: other.to_owned(),
            })
        }
    };
    rgb.clear();
    for row in checked_rows(image, "colour", 3)? {
        if swap {
            rgb.extend(row.chunks_exact(3).flat_map(|bgr| [bgr[2], bgr[1], bgr[0]]));
        } else {
            rgb.extend_from_slice(row);
        }
    }
    Ok(())
}

/// A depth image as tightly packed little-endian Z16 rows in `depth_z16`, replacing what it
/// held; returns the depth scale of those units (metres per unit). `16UC1` (or `mono16`)
/// is millimetres, copied as is; `32FC1` metres are divided by `depth_scale_m` (the recorded
/// metadata's, so units round-trip exactly; 1 mm when `None`), rounded and clamped to
/// `u16`, with NaN, infinities and values ≤ 0 as 0 (no reading).
pub fn z16_from_image(
    image: &Image<'_>,
    depth_scale_m: Option<f32>,
    depth_z16: &mut Vec<u8>,
) -> Result<f32, FrameMessageError> {
    depth_z16.clear();
    match image.encoding.as_str() {
        encodings::DEPTH_16UC1 | encodings::MONO16 => {
            for row in checked_rows(image, "depth", 2)? {
                if image.is_bigendian {
                    depth_z16.extend(row.chunks_exact(2).flat_map(|unit| [unit[1], unit[0]]));
                } else {
                    depth_z16.extend_from_slice(row);
                }
            }
            Ok(MILLIMETRE_M)
        }
        encodings::DEPTH_32FC1 => {
            let scale_m = depth_scale_m
                .filter(|scale| scale.is_finite() && *scale > 0.0)
                .unwrap_or(MILLIMETRE_M);
            for row in checked_rows(image, "depth", 4)? {
                depth_z16.extend(row.chunks_exact(4).flat_map(|value| {
                    let bytes = [value[0], value[1], value[2], value[3]];
                    let depth_m = if image.is_bigendian {
                        f32::from_be_bytes(bytes)
                    } else {
                        f32::from_le_bytes(bytes)
                    };
                    let units = if depth_m.is_finite() && depth_m > 0.0 {
                        // `as` saturates: farther than the units reach reads as their maximum.
                        (depth_m / scale_m).round() as u16
                    } else {
                        0
                    };
                    units.to_le_bytes()
                }));
            }
            Ok(scale_m)
        }
        other => Err(FrameMessageError::DepthEncoding {
            encoding: other.to_owned(),
        }),
    }
}

/// Checks that a depth image is the colour image's size (depth is aligned to colour).
pub fn check_depth_matches_color(
    color: &Image<'_>,
    depth: &Image<'_>,
) -> Result<(), FrameMessageError> {
    if (color.width, color.height) == (depth.width, depth.height) {
        Ok(())
    } else {
        Err(FrameMessageError::DepthSize {
            color_width: color.width,
            color_height: color.height,
            depth_width: depth.width,
            depth_height: depth.height,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shmproto::SourceKind;

    fn metadata(depth_scale_m: f32) -> FrameMetadata {
        FrameMetadata {
            frame_number: 3,
            capture_wall_ns: 1_700_000_000_250_000_000,
            capture_mono_ns: 9,
            fps: 30.0,
            source_kind: SourceKind::Synthetic,
            source_description: "scene".into(),
            intrinsics: Some(Intrinsics {
                model: DistortionModel::InverseBrownConrady,
                coeffs: [0.1, -0.2, 0.001, 0.002, 0.05],
                ..Intrinsics::pinhole_from_fov(4, 2, 69.0)
            }),
            depth_scale_m: Some(depth_scale_m),
            depth_aligned_to_color: true,
            ground_truth: Vec::new(),
        }
    }

    #[test]
    fn colour_round_trips_and_bgr_is_swapped() {
        let rgb: Vec<u8> = (0..24).collect();
        let image = color_image(5, 4, 2, &rgb);
        assert_eq!(image.step, 12);
        let bytes = image.encode();
        let mut out = Vec::new();
        rgb8_from_image(&Image::decode(&bytes).unwrap(), &mut out).unwrap();
        assert_eq!(out, rgb);

        let bgr = Image {
            encoding: encodings::BGR8.into(),
            ..image.clone()
        };
        rgb8_from_image(&bgr, &mut out).unwrap();
        assert_eq!(&out[..3], &[2, 1, 0]);
    }

    #[test]
    fn padded_rows_are_unpadded() {
        // 1x2 rgb8 with a step of 4: one byte of padding per row.
        let image = Image {
            step: 4,
            data: Cow::Owned(vec![1, 2, 3, 99, 4, 5, 6, 99]),
            ..color_image(0, 1, 2, &[])
        };
        let mut out = Vec::new();
        rgb8_from_image(&image, &mut out).unwrap();
        assert_eq!(out, [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn millimetre_depth_is_16uc1_raw() {
        let depth: Vec<u8> = [0u16, 1, 1000, 65535]
            .iter()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let image = depth_image(0, 2, 2, &depth, 0.001);
        assert_eq!(image.encoding, "16UC1");
        assert!(matches!(image.data, Cow::Borrowed(_)));
        let mut out = Vec::new();
        assert_eq!(z16_from_image(&image, None, &mut out).unwrap(), 0.001);
        assert_eq!(out, depth);
    }

    #[test]
    fn other_scales_are_32fc1_metres_and_round_trip_exactly() {
        let scale_m = 0.000_125_f32; // 1/8 mm, a D405's
        let units: Vec<u16> = (0..=u16::MAX).collect();
        let depth: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
        let image = depth_image(0, 256, 256, &depth, scale_m);
        assert_eq!(image.encoding, "32FC1");
        assert_eq!(image.step, 1024);
        let first = f32::from_le_bytes(image.data[..4].try_into().unwrap());
        assert!(first.is_nan(), "0 units is no reading: NaN");
        let mut out = Vec::new();
        let bytes = image.encode();
        let scale = z16_from_image(&Image::decode(&bytes).unwrap(), Some(scale_m), &mut out);
        assert_eq!(scale.unwrap(), scale_m);
        assert_eq!(out, depth);
    }

    #[test]
    fn camera_info_carries_the_intrinsics_and_reads_back() {
        let metadata = metadata(0.001);
        let info = camera_info(&metadata).unwrap();
        let intrinsics = metadata.intrinsics.unwrap();
        assert_eq!(info.distortion_model, "plumb_bob");
        assert_eq!(info.d.len(), 5);
        assert_eq!(info.k[0], f64::from(intrinsics.fx));
        assert_eq!(info.k[5], f64::from(intrinsics.ppy));
        assert_eq!(info.header.frame_id, COLOR_OPTICAL_FRAME_ID);
        assert_eq!(info.header.stamp.to_unix_ns(), metadata.capture_wall_ns);
        let back = intrinsics_from_camera_info(&CameraInfo::decode(&info.encode()).unwrap());
        assert_eq!(back.model, DistortionModel::BrownConrady);
        assert_eq!(
            (back.fx, back.ppx, back.coeffs),
            (intrinsics.fx, intrinsics.ppx, intrinsics.coeffs)
        );
        let mut no_intrinsics = metadata;
        no_intrinsics.intrinsics = None;
        assert!(camera_info(&no_intrinsics).is_none());
    }

    #[test]
    fn metadata_json_travels_exactly() {
        let metadata = metadata(0.000_1);
        let json = serde_json::to_vec(&metadata).unwrap();
        let message = metadata_message(&json);
        assert_eq!(message.data.as_bytes(), &json[..]);
        let decoded = StringMessage::decode(&message.encode()).unwrap();
        assert_eq!(metadata_from_message(&decoded).unwrap(), metadata);
        let garbage = StringMessage { data: "{".into() };
        assert!(matches!(
            metadata_from_message(&garbage),
            Err(FrameMessageError::Metadata(_))
        ));
    }

    #[test]
    fn unsupported_encodings_and_sizes_are_errors() {
        let mut out = Vec::new();
        let mono8 = Image {
            encoding: "mono8".into(),
            ..color_image(0, 1, 1, &[0, 0, 0])
        };
        assert!(matches!(
            rgb8_from_image(&mono8, &mut out),
            Err(FrameMessageError::ColorEncoding { .. })
        ));
        assert!(matches!(
            z16_from_image(&mono8, None, &mut out),
            Err(FrameMessageError::DepthEncoding { .. })
        ));
        let short = color_image(0, 4, 4, &[0; 47]);
        assert!(matches!(
            rgb8_from_image(&short, &mut out),
            Err(FrameMessageError::Size { .. })
        ));
        let huge = Image {
            width: u32::MAX,
            height: u32::MAX,
            step: u32::MAX,
            ..color_image(0, 1, 1, &[0, 0, 0])
        };
        assert!(rgb8_from_image(&huge, &mut out).is_err());
        let color = color_image(0, 4, 2, &[0; 24]);
        let depth = depth_image(0, 2, 2, &[0; 8], 0.001);
        assert!(matches!(
            check_depth_matches_color(&color, &depth),
            Err(FrameMessageError::DepthSize { .. })
        ));
    }
}
