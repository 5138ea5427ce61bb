//! `builtin_interfaces/msg/Time`.

use crate::cdr::{CdrError, CdrReader, CdrWriter};

pub const SCHEMA_NAME: &str = "builtin_interfaces/msg/Time";
pub const SCHEMA_TEXT: &str = "int32 sec\nuint32 nanosec\n";

/// A time as ROS 2 stamps it: seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Time {
    pub sec: i32,
    pub nanosec: u32,
}

impl Time {
    /// Nanoseconds since the Unix epoch as a stamp (seconds past `i32::MAX`, in 2038,
    /// saturate).
    pub fn from_unix_ns(unix_ns: u64) -> Self {
        Time {
            sec: i32::try_from(unix_ns / 1_000_000_000).unwrap_or(i32::MAX),
            nanosec: (unix_ns % 1_000_000_000) as u32,
        }
    }

    /// The stamp in nanoseconds since the Unix epoch; stamps before it read as 0.
    pub fn to_unix_ns(self) -> u64 {
        u64::try_from(self.sec).unwrap_or(0) * 1_000_000_000 + u64::from(self.nanosec)
    }

    pub(crate) fn write(&self, writer: &mut CdrWriter) {
        writer.write_i32(self.sec);
        writer.write_u32(self.nanosec);
    }

    pub(crate) fn read(reader: &mut CdrReader<'_>) -> Result<Self, CdrError> {
        Ok(Time {
            sec: reader.read_i32("stamp.sec")?,
            nanosec: reader.read_u32("stamp.nanosec")?,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut writer = CdrWriter::new();
        self.write(&mut writer);
        writer.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, CdrError> {
        Time::read(&mut CdrReader::new(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_ns_round_trips() {
        let unix_ns = 1_765_000_000_123_456_789;
        let time = Time::from_unix_ns(unix_ns);
        assert_eq!((time.sec, time.nanosec), (1_765_000_000, 123_456_789));
        assert_eq!(time.to_unix_ns(), unix_ns);
        assert_eq!(Time::decode(&time.encode()).unwrap(), time);
    }
}
