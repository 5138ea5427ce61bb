//! `std_msgs/msg/String`.

use crate::cdr::{CdrError, CdrReader, CdrWriter};

pub const SCHEMA_NAME: &str = "std_msgs/msg/String";
pub const SCHEMA_TEXT: &str = "string data\n";

/// A text; the project sends its JSON documents (frame metadata, detections) in it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StringMessage {
    pub data: String,
}

impl StringMessage {
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = CdrWriter::with_capacity(self.data.len() + 8);
        writer.write_string(&self.data);
        writer.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, CdrError> {
        Ok(StringMessage {
            data: CdrReader::new(bytes)?.read_string("data")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_round_trips_and_is_byte_exact() {
        let message = StringMessage { data: "{}".into() };
        let bytes = message.encode();
        assert_eq!(bytes, [0, 1, 0, 0, 3, 0, 0, 0, b'{', b'}', 0]);
        assert_eq!(StringMessage::decode(&bytes).unwrap(), message);
    }
}
