//! The `sensor_msgs/CompressedImage` payload of ROS's `compressed_depth_image_transport` for
//! 16-bit depth in RVL, format string `16UC1; compressedDepth rvl`:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | `ConfigHeader.format`: i32 LE, 0 (`INV_DEPTH`) |
//! | 4 | 8 | `ConfigHeader.depthParam`: two f32 LE, 0 for 16-bit depth (quantisation of 32-bit depth only) |
//! | 12 | 4 | width in pixels, u32 LE |
//! | 16 | 4 | height in pixels, u32 LE |
//! | 20 | .. | the RVL words ([`crate::rvl`]) |
//!
//! The units are the image's own (millimetres for `16UC1` by ROS's convention, REP 118); this
//! coding is lossless. Unlike ROS's publisher, nothing beyond a maximum depth is zeroed.

use crate::error::DepthCodecError;
use crate::rvl;

/// The `format` of a `CompressedImage` carrying 16-bit depth in RVL.
pub const RVL_16UC1_FORMAT: &str = "16UC1; compressedDepth rvl";

/// `sizeof(ConfigHeader)`: format (i32) and two quantisation parameters (f32).
pub const CONFIG_HEADER_LEN: usize = 12;

/// The `ConfigHeader.format` value ROS writes (`INV_DEPTH`), for 16-bit depth too.
const FORMAT_INV_DEPTH: i32 = 0;

/// The largest image decoded: 8192 x 8192 (128 MiB of depth). RVL codes an empty image in a
/// few bytes, so the compressed size cannot bound what a hostile header asks for.
pub const MAX_PIXELS: u64 = 8192 * 8192;

/// A decoded depth image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DepthImage {
    pub width: u32,
    pub height: u32,
    /// Row-major depth units, `width * height` of them.
    pub depth_units: Vec<u16>,
}

/// Whether a `CompressedImage` format names 16-bit depth in RVL (`16UC1` or `mono16`, then
/// `; compressedDepth rvl`).
pub fn is_rvl_16bit(format: &str) -> bool {
    let Some((encoding, compression)) = format.split_once(';') else {
        return false;
    };
    matches!(encoding.trim(), "16UC1" | "mono16") && compression.trim() == "compressedDepth rvl"
}

/// Appends the `CompressedImage` data for a `width` x `height` image of depth units to `out`.
pub fn encode_rvl(
    width: u32,
    height: u32,
    depth_units: &[u16],
    out: &mut Vec<u8>,
) -> Result<(), DepthCodecError> {
    check_size(width, height, depth_units.len())?;
    out.reserve(CONFIG_HEADER_LEN + 8 + rvl::max_encoded_len(depth_units.len()) / 4);
    out.extend_from_slice(&FORMAT_INV_DEPTH.to_le_bytes());
    out.extend_from_slice(&0f32.to_le_bytes());
    out.extend_from_slice(&0f32.to_le_bytes());
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    rvl::encode(depth_units, out);
    Ok(())
}

/// Decodes `CompressedImage` data written by [`encode_rvl`] (or ROS) into `image`, reusing its
/// buffer.
pub fn decode_rvl_into(data: &[u8], image: &mut DepthImage) -> Result<(), DepthCodecError> {
    let Some(dimensions) = data.get(CONFIG_HEADER_LEN..CONFIG_HEADER_LEN + 8) else {
        return Err(DepthCodecError::Truncated);
    };
    let width = u32_le(&dimensions[..4]);
    let height = u32_le(&dimensions[4..]);
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PIXELS {
        return Err(DepthCodecError::TooLarge {
            width,
            height,
            max: MAX_PIXELS,
        });
    }
    image.width = width;
    image.height = height;
    image.depth_units.clear();
    image.depth_units.resize(pixels as usize, 0);
    rvl::decode(&data[CONFIG_HEADER_LEN + 8..], &mut image.depth_units)
}

/// Decodes `CompressedImage` data written by [`encode_rvl`] (or ROS).
pub fn decode_rvl(data: &[u8]) -> Result<DepthImage, DepthCodecError> {
    let mut image = DepthImage::default();
    decode_rvl_into(data, &mut image)?;
    Ok(image)
}

/// Checks that `pixels` values make a `width` x `height` image no larger than [`MAX_PIXELS`].
pub(crate) fn check_size(width: u32, height: u32, pixels: usize) -> Result<(), DepthCodecError> {
    let expected = u64::from(width) * u64::from(height);
    if expected > MAX_PIXELS {
        return Err(DepthCodecError::TooLarge {
            width,
            height,
            max: MAX_PIXELS,
        });
    }
    if expected != pixels as u64 {
        return Err(DepthCodecError::SizeMismatch {
            width,
            height,
            expected,
            actual: pixels,
        });
    }
    Ok(())
}

fn u32_le(bytes: &[u8]) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(bytes);
    u32::from_le_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_the_ros_header() {
        let depth: Vec<u16> = (0..12)
            .map(|i| if i % 5 == 0 { 0 } else { 900 + i })
            .collect();
        let mut data = Vec::new();
        encode_rvl(4, 3, &depth, &mut data).unwrap();
        assert_eq!(&data[..12], &[0u8; 12], "INV_DEPTH and zero parameters");
        assert_eq!(&data[12..16], &4u32.to_le_bytes());
        assert_eq!(&data[16..20], &3u32.to_le_bytes());
        let image = decode_rvl(&data).unwrap();
        assert_eq!((image.width, image.height), (4, 3));
        assert_eq!(image.depth_units, depth);
    }

    #[test]
    fn the_buffer_is_reused_and_resized() {
        let mut image = DepthImage::default();
        for (width, height) in [(8, 8), (2, 3), (16, 1), (0, 5)] {
            let depth: Vec<u16> = (0..width * height).map(|i| i as u16 * 7).collect();
            let mut data = Vec::new();
            encode_rvl(width, height, &depth, &mut data).unwrap();
            decode_rvl_into(&data, &mut image).unwrap();
            assert_eq!(image.depth_units, depth);
        }
    }

    #[test]
    fn format_strings() {
        assert!(is_rvl_16bit(RVL_16UC1_FORMAT));
        assert!(is_rvl_16bit("mono16; compressedDepth rvl"));
        assert!(!is_rvl_16bit("16UC1; compressedDepth png"));
        assert!(!is_rvl_16bit("32FC1; compressedDepth rvl"));
        assert!(!is_rvl_16bit("16UC1"));
        assert!(!is_rvl_16bit("rgb8; jpeg compressed bgr8"));
    }

    #[test]
    fn wrong_sizes_and_hostile_headers_are_errors() {
        let mut data = Vec::new();
        assert!(matches!(
            encode_rvl(4, 3, &[1; 11], &mut data),
            Err(DepthCodecError::SizeMismatch {
                expected: 12,
                actual: 11,
                ..
            })
        ));
        assert!(matches!(
            encode_rvl(u32::MAX, u32::MAX, &[], &mut data),
            Err(DepthCodecError::TooLarge { .. })
        ));
        assert_eq!(decode_rvl(&[0; 19]), Err(DepthCodecError::Truncated));
        let mut huge = vec![0u8; 12];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        huge.extend_from_slice(&[0; 8]);
        assert!(matches!(
            decode_rvl(&huge),
            Err(DepthCodecError::TooLarge { .. })
        ));
        // Claims 100x100 but carries the words of 4 pixels.
        let mut short = Vec::new();
        encode_rvl(2, 2, &[1, 2, 3, 4], &mut short).unwrap();
        short[12..16].copy_from_slice(&100u32.to_le_bytes());
        short[16..20].copy_from_slice(&100u32.to_le_bytes());
        assert_eq!(decode_rvl(&short), Err(DepthCodecError::Truncated));
    }
}
