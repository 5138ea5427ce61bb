//! The `sensor_msgs/CompressedImage` payload of ROS 2's `zstd_image_transport` (format
//! `zstd`): the image's fields, then its data as one zstd frame:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | height, u32 LE |
//! | 4 | 4 | width, u32 LE |
//! | 8 | 1 | is_bigendian |
//! | 9 | 4 | step (bytes per row), u32 LE |
//! | 13 | 4 | length of the encoding name, u32 LE |
//! | 17 | n | the encoding name (`16UC1`, `rgb8`, ...) |
//! | 17 + n | .. | a zstd frame (with its content size) of `height * step` bytes |

use crate::compressed_depth::{check_size, MAX_PIXELS};
use crate::error::DepthCodecError;

/// The `format` of a `CompressedImage` in this layout.
pub const ZSTD_FORMAT: &str = "zstd";

/// The fixed part of the header, before the encoding name.
const FIXED_HEADER_LEN: usize = 17;

/// The longest encoding name accepted.
const MAX_ENCODING_LEN: usize = 64;

/// A decoded image in this layout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZstdImage {
    pub width: u32,
    pub height: u32,
    pub encoding: String,
    pub is_bigendian: bool,
    pub step: u32,
    pub data: Vec<u8>,
}

/// Appends the `CompressedImage` data of a little-endian `16UC1` image to `out`, compressed at
/// zstd `level`.
pub fn encode_16uc1(
    width: u32,
    height: u32,
    depth_le: &[u8],
    level: i32,
    out: &mut Vec<u8>,
) -> Result<(), DepthCodecError> {
    check_size(width, height, depth_le.len() / 2)?;
    if !depth_le.len().is_multiple_of(2) {
        return Err(DepthCodecError::Truncated);
    }
    let encoding = "16UC1";
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(&width.to_le_bytes());
    out.push(0);
    out.extend_from_slice(&(width * 2).to_le_bytes());
    out.extend_from_slice(&(encoding.len() as u32).to_le_bytes());
    out.extend_from_slice(encoding.as_bytes());
    let compressed = zstd::bulk::compress(depth_le, level)
        .map_err(|error| DepthCodecError::Zstd(error.to_string()))?;
    out.extend_from_slice(&compressed);
    Ok(())
}

/// Decodes `CompressedImage` data in this layout, checking that the frame holds exactly
/// `height * step` bytes.
pub fn decode(data: &[u8]) -> Result<ZstdImage, DepthCodecError> {
    let Some(fixed) = data.get(..FIXED_HEADER_LEN) else {
        return Err(DepthCodecError::Truncated);
    };
    let height = u32_at(fixed, 0);
    let width = u32_at(fixed, 4);
    let is_bigendian = fixed[8] != 0;
    let step = u32_at(fixed, 9);
    let encoding_len = u32_at(fixed, 13) as usize;
    if encoding_len > MAX_ENCODING_LEN {
        return Err(DepthCodecError::UnsupportedFormat(format!(
            "an encoding name of {encoding_len} bytes"
        )));
    }
    let Some(encoding) = data.get(FIXED_HEADER_LEN..FIXED_HEADER_LEN + encoding_len) else {
        return Err(DepthCodecError::Truncated);
    };
    let encoding = String::from_utf8_lossy(encoding).into_owned();
    let size_bytes = u64::from(height) * u64::from(step);
    // At most 8 bytes per pixel (the widest ROS encodings) of the largest image accepted.
    if size_bytes > MAX_PIXELS * 8 {
        return Err(DepthCodecError::TooLarge {
            width,
            height,
            max: MAX_PIXELS,
        });
    }
    let compressed = &data[FIXED_HEADER_LEN + encoding_len..];
    let image_data = zstd::bulk::decompress(compressed, size_bytes as usize)
        .map_err(|error| DepthCodecError::Zstd(error.to_string()))?;
    if image_data.len() as u64 != size_bytes {
        return Err(DepthCodecError::Truncated);
    }
    Ok(ZstdImage {
        width,
        height,
        encoding,
        is_bigendian,
        step,
        data: image_data,
    })
}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_le_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_header() {
        let depth: Vec<u8> = (0..6u16 * 4)
            .flat_map(|i| (i * 300).to_le_bytes())
            .collect();
        let mut data = Vec::new();
        encode_16uc1(6, 4, &depth, 1, &mut data).unwrap();
        assert_eq!(&data[..4], &4u32.to_le_bytes());
        assert_eq!(&data[4..8], &6u32.to_le_bytes());
        assert_eq!(data[8], 0);
        assert_eq!(&data[9..13], &12u32.to_le_bytes());
        assert_eq!(&data[13..17], &5u32.to_le_bytes());
        assert_eq!(&data[17..22], b"16UC1");
        let image = decode(&data).unwrap();
        assert_eq!((image.width, image.height, image.step), (6, 4, 12));
        assert_eq!(image.encoding, "16UC1");
        assert_eq!(image.data, depth);
    }

    #[test]
    fn hostile_input_is_an_error() {
        assert_eq!(decode(&[0; 16]), Err(DepthCodecError::Truncated));
        let mut data = Vec::new();
        encode_16uc1(2, 2, &[1; 8], 1, &mut data).unwrap();
        // The header claims more rows than the frame holds.
        let mut taller = data.clone();
        taller[..4].copy_from_slice(&3u32.to_le_bytes());
        assert!(decode(&taller).is_err());
        // A huge claimed size is refused before allocating.
        let mut huge = data.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        huge[9..13].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode(&huge),
            Err(DepthCodecError::TooLarge { .. })
        ));
        // A damaged frame.
        let mut damaged = data.clone();
        let last = damaged.len() - 3;
        damaged.truncate(last);
        assert!(decode(&damaged).is_err());
        // An absurd encoding length.
        let mut long_name = data;
        long_name[13..17].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&long_name).is_err());
    }
}
