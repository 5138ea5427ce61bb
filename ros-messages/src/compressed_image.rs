//! `sensor_msgs/msg/CompressedImage`.

use std::borrow::Cow;

use crate::cdr::{CdrError, CdrReader, CdrWriter};
use crate::header::Header;

pub const SCHEMA_NAME: &str = "sensor_msgs/msg/CompressedImage";
pub const SCHEMA_TEXT: &str = "std_msgs/Header header
string format
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

/// A compressed image (`jpeg`, `png`, ...); `data` borrows the bytes when decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressedImage<'a> {
    pub header: Header,
    pub format: String,
    pub data: Cow<'a, [u8]>,
}

impl<'a> CompressedImage<'a> {
    /// Writes the message (encapsulation header included) into `out`, replacing what it
    /// held and reusing its allocation.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let mut buffer = std::mem::take(out);
        buffer.reserve(self.data.len() + 64);
        let mut writer = CdrWriter::reusing(buffer);
        self.header.write(&mut writer);
        writer.write_string(&self.format);
        writer.write_bytes(&self.data);
        *out = writer.into_bytes();
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    pub fn decode(bytes: &'a [u8]) -> Result<Self, CdrError> {
        let mut reader = CdrReader::new(bytes)?;
        Ok(CompressedImage {
            header: Header::read(&mut reader)?,
            format: reader.read_string("format")?,
            data: Cow::Borrowed(reader.read_bytes("data")?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Time;

    #[test]
    fn compressed_image_round_trips() {
        let image = CompressedImage {
            header: Header {
                stamp: Time::from_unix_ns(42),
                frame_id: "camera_color_optical_frame".into(),
            },
            format: "png".into(),
            data: Cow::Owned(vec![0x89, b'P', b'N', b'G']),
        };
        let bytes = image.encode();
        assert_eq!(CompressedImage::decode(&bytes).unwrap(), image);
        assert!(CompressedImage::decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
