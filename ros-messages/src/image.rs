//! `sensor_msgs/msg/Image`.

use std::borrow::Cow;

use crate::cdr::{CdrError, CdrReader, CdrWriter};
use crate::header::Header;

pub const SCHEMA_NAME: &str = "sensor_msgs/msg/Image";
pub const SCHEMA_TEXT: &str = "std_msgs/Header header
uint32 height
uint32 width
string encoding
uint8 is_bigendian
uint32 step
uint8[] data
================================================================================
MSG: std_msgs/Header
builtin_interfaces/Time stamp
string frame_id
================================================================================
MSG: builtin_interfaces/Time
int32 sec
uint32 nanosec
";

/// An uncompressed image; `data` borrows the pixels when decoded (and may when built).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image<'a> {
    pub header: Header,
    pub height: u32,
    pub width: u32,
    /// `rgb8`, `bgr8`, `16UC1`, `32FC1`, ... (`sensor_msgs/image_encodings`).
    pub encoding: String,
    pub is_bigendian: bool,
    /// Bytes per row.
    pub step: u32,
    pub data: Cow<'a, [u8]>,
}

impl<'a> Image<'a> {
    /// Writes the message (encapsulation header included) into `out`, replacing what it
    /// held and reusing its allocation.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let mut buffer = std::mem::take(out);
        buffer.reserve(self.data.len() + 96);
        let mut writer = CdrWriter::reusing(buffer);
        self.header.write(&mut writer);
        writer.write_u32(self.height);
        writer.write_u32(self.width);
        writer.write_string(&self.encoding);
        writer.write_bool(self.is_bigendian);
        writer.write_u32(self.step);
        writer.write_bytes(&self.data);
        *out = writer.into_bytes();
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Reads a message; the pixels stay in `bytes`.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, CdrError> {
        let mut reader = CdrReader::new(bytes)?;
        Ok(Image {
            header: Header::read(&mut reader)?,
            height: reader.read_u32("height")?,
            width: reader.read_u32("width")?,
            encoding: reader.read_string("encoding")?,
            is_bigendian: reader.read_bool("is_bigendian")?,
            step: reader.read_u32("step")?,
            data: Cow::Borrowed(reader.read_bytes("data")?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Time;

    fn small_image() -> Image<'static> {
        Image {
            header: Header {
                stamp: Time { sec: 1, nanosec: 2 },
                frame_id: "f".into(),
            },
            height: 1,
            width: 2,
            encoding: "rgb8".into(),
            is_bigendian: false,
            step: 6,
            data: Cow::Owned(vec![10, 11, 12, 13, 14, 15]),
        }
    }

    #[test]
    fn small_image_is_byte_exact() {
        #[rustfmt::skip]
        let expected: &[u8] = &[
            0x00, 0x01, 0x00, 0x00,             // encapsulation: CDR little-endian
            1, 0, 0, 0,                         // stamp.sec
            2, 0, 0, 0,                         // stamp.nanosec
            2, 0, 0, 0, b'f', 0,                // frame_id "f" + NUL
            0, 0,                               // pad to 4
            1, 0, 0, 0,                         // height
            2, 0, 0, 0,                         // width
            5, 0, 0, 0, b'r', b'g', b'b', b'8', 0, // encoding "rgb8" + NUL
            0,                                  // is_bigendian
            0, 0,                               // pad to 4
            6, 0, 0, 0,                         // step
            6, 0, 0, 0, 10, 11, 12, 13, 14, 15, // data
        ];
        assert_eq!(small_image().encode(), expected);
    }

    #[test]
    fn image_round_trips_borrowing_the_pixels() {
        let image = small_image();
        let bytes = image.encode();
        let decoded = Image::decode(&bytes).unwrap();
        assert!(matches!(decoded.data, Cow::Borrowed(_)));
        assert_eq!(decoded, image);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = small_image().encode();
        for len in 0..bytes.len() {
            assert!(Image::decode(&bytes[..len]).is_err(), "{len} bytes");
        }
    }
}
