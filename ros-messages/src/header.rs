//! `std_msgs/msg/Header`.

use crate::cdr::{CdrError, CdrReader, CdrWriter};
use crate::time::Time;

pub const SCHEMA_NAME: &str = "std_msgs/msg/Header";
pub const SCHEMA_TEXT: &str = "builtin_interfaces/Time stamp\nstring frame_id\n";

/// What a message is about: when it was taken and in which coordinate frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    pub stamp: Time,
    pub frame_id: String,
}

impl Header {
    pub(crate) fn write(&self, writer: &mut CdrWriter) {
        self.stamp.write(writer);
        writer.write_string(&self.frame_id);
    }

    pub(crate) fn read(reader: &mut CdrReader<'_>) -> Result<Self, CdrError> {
        Ok(Header {
            stamp: Time::read(reader)?,
            frame_id: reader.read_string("header.frame_id")?,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut writer = CdrWriter::new();
        self.write(&mut writer);
        writer.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, CdrError> {
        Header::read(&mut CdrReader::new(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let header = Header {
            stamp: Time::from_unix_ns(5_000_000_007),
            frame_id: "camera_color_optical_frame".into(),
        };
        assert_eq!(Header::decode(&header.encode()).unwrap(), header);
    }
}
