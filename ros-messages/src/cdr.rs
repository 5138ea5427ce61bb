//! CDR as ROS 2 writes it: XCDR1 little-endian (the encapsulation header `00 01 00 00`), each
//! primitive aligned to its size relative to the byte after that header, strings as a `u32`
//! length counting a terminating NUL, sequences as a `u32` count then their elements.
//!
//! [`CdrReader`] reads untrusted bytes: every read is bounds-checked and every length is
//! checked against the bytes left before anything is allocated, so hostile input gives a
//! [`CdrError`], never a panic or a huge allocation.

/// The encapsulation header of little-endian plain CDR (XCDR1).
pub const ENCAPSULATION_CDR_LE: [u8; 4] = [0x00, 0x01, 0x00, 0x00];

/// Why bytes are not the CDR message expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CdrError {
    #[error("CDR message of {len} bytes is shorter than its 4-byte encapsulation header")]
    NoHeader { len: usize },
    #[error(
        "unsupported CDR encapsulation {header:02x?}: only little-endian plain CDR (00 01) is read"
    )]
    Encapsulation { header: [u8; 2] },
    #[error(
        "CDR message ends early: {field} needs {needed} bytes at offset {offset}, {left} left"
    )]
    Truncated {
        field: &'static str,
        offset: usize,
        needed: usize,
        left: usize,
    },
    #[error("CDR string {field} is not terminated by a NUL byte")]
    StringNotTerminated { field: &'static str },
    #[error("CDR string {field} is not UTF-8")]
    StringNotUtf8 { field: &'static str },
    #[error("CDR field {field} has {actual} elements, expected {expected}")]
    ArrayLength {
        field: &'static str,
        expected: usize,
        actual: usize,
    },
}

/// Builds one CDR message, encapsulation header first.
#[derive(Debug, Clone)]
pub struct CdrWriter {
    bytes: Vec<u8>,
}

impl Default for CdrWriter {
    fn default() -> Self {
        CdrWriter::new()
    }
}

impl CdrWriter {
    pub fn new() -> Self {
        CdrWriter::with_capacity(64)
    }

    /// A writer whose buffer holds `capacity` bytes of body without growing (an image's
    /// pixels, say).
    pub fn with_capacity(capacity: usize) -> Self {
        let mut bytes = Vec::with_capacity(capacity + ENCAPSULATION_CDR_LE.len());
        bytes.extend_from_slice(&ENCAPSULATION_CDR_LE);
        CdrWriter { bytes }
    }

    /// A writer over `buffer`'s allocation: its contents are dropped, the header written;
    /// for messages built per frame without allocating each time.
    pub fn reusing(mut buffer: Vec<u8>) -> Self {
        buffer.clear();
        buffer.extend_from_slice(&ENCAPSULATION_CDR_LE);
        CdrWriter { bytes: buffer }
    }

    /// Pads with zeros so that the body offset is a multiple of `alignment`.
    fn align(&mut self, alignment: usize) {
        let body_len = self.bytes.len() - ENCAPSULATION_CDR_LE.len();
        let padding = (alignment - body_len % alignment) % alignment;
        self.bytes.resize(self.bytes.len() + padding, 0);
    }

    pub fn write_u8(&mut self, value: u8) {
        self.bytes.push(value);
    }

    pub fn write_bool(&mut self, value: bool) {
        self.write_u8(u8::from(value));
    }

    pub fn write_u32(&mut self, value: u32) {
        self.align(4);
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    pub fn write_i32(&mut self, value: i32) {
        self.align(4);
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    pub fn write_f64(&mut self, value: f64) {
        self.align(8);
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    /// A length prefix; lengths past `u32::MAX` cannot be expressed in CDR and saturate
    /// (no message this crate builds comes near: frames are bounded by the protocol).
    fn write_len(&mut self, len: usize) {
        self.write_u32(u32::try_from(len).unwrap_or(u32::MAX));
    }

    /// A string: its length with the terminating NUL, its bytes, the NUL.
    pub fn write_string(&mut self, value: &str) {
        self.write_len(value.len() + 1);
        self.bytes.extend_from_slice(value.as_bytes());
        self.bytes.push(0);
    }

    /// A `uint8[]` sequence: its count, then the bytes.
    pub fn write_bytes(&mut self, value: &[u8]) {
        self.write_len(value.len());
        self.bytes.extend_from_slice(value);
    }

    /// A `float64[]` sequence: its count, then the values.
    pub fn write_f64_sequence(&mut self, values: &[f64]) {
        self.write_len(values.len());
        self.write_f64_array(values);
    }

    /// A fixed-size `float64[N]` array: the values, no count.
    pub fn write_f64_array(&mut self, values: &[f64]) {
        for &value in values {
            self.write_f64(value);
        }
    }

    /// The whole message, encapsulation header included.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Reads one CDR message from untrusted bytes.
#[derive(Debug, Clone)]
pub struct CdrReader<'a> {
    body: &'a [u8],
    offset: usize,
}

impl<'a> CdrReader<'a> {
    /// Checks the encapsulation header (little-endian plain CDR; the options bytes are
    /// ignored, as ROS 2 does).
    pub fn new(bytes: &'a [u8]) -> Result<Self, CdrError> {
        let (Some(header), Some(body)) = (bytes.get(..4), bytes.get(4..)) else {
            return Err(CdrError::NoHeader { len: bytes.len() });
        };
        if header[..2] != ENCAPSULATION_CDR_LE[..2] {
            return Err(CdrError::Encapsulation {
                header: [header[0], header[1]],
            });
        }
        Ok(CdrReader { body, offset: 0 })
    }

    /// Bytes of the body not read yet.
    pub fn remaining(&self) -> usize {
        self.body.len().saturating_sub(self.offset)
    }

    fn align(&mut self, alignment: usize) {
        let padding = (alignment - self.offset % alignment) % alignment;
        self.offset = self.offset.saturating_add(padding);
    }

    fn take(&mut self, field: &'static str, len: usize) -> Result<&'a [u8], CdrError> {
        let left = self.remaining();
        if len > left {
            return Err(CdrError::Truncated {
                field,
                offset: self.offset,
                needed: len,
                left,
            });
        }
        let bytes = &self.body[self.offset..self.offset + len];
        self.offset += len;
        Ok(bytes)
    }

    fn take_array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], CdrError> {
        let bytes = self.take(field, N)?;
        let mut array = [0u8; N];
        array.copy_from_slice(bytes);
        Ok(array)
    }

    pub fn read_u8(&mut self, field: &'static str) -> Result<u8, CdrError> {
        Ok(self.take_array::<1>(field)?[0])
    }

    pub fn read_bool(&mut self, field: &'static str) -> Result<bool, CdrError> {
        Ok(self.read_u8(field)? != 0)
    }

    pub fn read_u32(&mut self, field: &'static str) -> Result<u32, CdrError> {
        self.align(4);
        Ok(u32::from_le_bytes(self.take_array(field)?))
    }

    pub fn read_i32(&mut self, field: &'static str) -> Result<i32, CdrError> {
        self.align(4);
        Ok(i32::from_le_bytes(self.take_array(field)?))
    }

    pub fn read_f64(&mut self, field: &'static str) -> Result<f64, CdrError> {
        self.align(8);
        Ok(f64::from_le_bytes(self.take_array(field)?))
    }

    /// A sequence's element count, checked against the bytes left for elements of
    /// `element_len` bytes, so a hostile count never drives an allocation.
    fn read_count(&mut self, field: &'static str, element_len: usize) -> Result<usize, CdrError> {
        let count = self.read_u32(field)? as usize;
        let needed = count.saturating_mul(element_len);
        let left = self.remaining();
        if needed > left {
            return Err(CdrError::Truncated {
                field,
                offset: self.offset,
                needed,
                left,
            });
        }
        Ok(count)
    }

    /// A string, borrowed from the message.
    pub fn read_str(&mut self, field: &'static str) -> Result<&'a str, CdrError> {
        let len = self.read_count(field, 1)?;
        let bytes = self.take(field, len)?;
        // ROS 2 writes the NUL; an empty length (0) is tolerated as the empty string.
        let text = match bytes.split_last() {
            None => &[][..],
            Some((0, text)) => text,
            Some(_) => return Err(CdrError::StringNotTerminated { field }),
        };
        std::str::from_utf8(text).map_err(|_| CdrError::StringNotUtf8 { field })
    }

    pub fn read_string(&mut self, field: &'static str) -> Result<String, CdrError> {
        self.read_str(field).map(str::to_owned)
    }

    /// A `uint8[]` sequence, borrowed from the message.
    pub fn read_bytes(&mut self, field: &'static str) -> Result<&'a [u8], CdrError> {
        let len = self.read_count(field, 1)?;
        self.take(field, len)
    }

    /// A `float64[]` sequence.
    pub fn read_f64_sequence(&mut self, field: &'static str) -> Result<Vec<f64>, CdrError> {
        // Padding before the first element only adds to what is needed, so 8 bytes per
        // element must be left in any case.
        let count = self.read_count(field, 8)?;
        (0..count).map(|_| self.read_f64(field)).collect()
    }

    /// A fixed-size `float64[N]` array.
    pub fn read_f64_array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[f64; N], CdrError> {
        let mut values = [0.0; N];
        for value in &mut values {
            *value = self.read_f64(field)?;
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_round_trip_with_alignment_after_the_header() {
        let mut writer = CdrWriter::new();
        writer.write_u8(7);
        writer.write_u32(0x0102_0304);
        writer.write_f64(1.5);
        writer.write_string("hi");
        writer.write_bytes(&[1, 2, 3]);
        let bytes = writer.into_bytes();
        // u8 at 0, u32 padded to 4, f64 padded to 8.
        assert_eq!(&bytes[..4], &ENCAPSULATION_CDR_LE);
        assert_eq!(&bytes[4..12], &[7, 0, 0, 0, 4, 3, 2, 1]);
        let mut reader = CdrReader::new(&bytes).unwrap();
        assert_eq!(reader.read_u8("a").unwrap(), 7);
        assert_eq!(reader.read_u32("b").unwrap(), 0x0102_0304);
        assert_eq!(reader.read_f64("c").unwrap(), 1.5);
        assert_eq!(reader.read_str("d").unwrap(), "hi");
        assert_eq!(reader.read_bytes("e").unwrap(), &[1, 2, 3]);
        assert_eq!(reader.remaining(), 0);
    }

    #[test]
    fn hostile_inputs_are_errors() {
        assert!(matches!(
            CdrReader::new(&[0, 1]),
            Err(CdrError::NoHeader { len: 2 })
        ));
        assert!(matches!(
            CdrReader::new(&[0, 0, 0, 0]),
            Err(CdrError::Encapsulation { .. })
        ));
        // A sequence claiming 4 GiB of bytes in an 8-byte message.
        let huge = [0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff];
        let mut reader = CdrReader::new(&huge).unwrap();
        assert!(matches!(
            reader.read_bytes("data"),
            Err(CdrError::Truncated { .. })
        ));
        let mut reader = CdrReader::new(&huge).unwrap();
        assert!(reader.read_f64_sequence("d").is_err());
        let mut reader = CdrReader::new(&huge).unwrap();
        assert!(reader.read_str("s").is_err());
        // A string without its NUL.
        let unterminated = [0, 1, 0, 0, 2, 0, 0, 0, b'a', b'b'];
        let mut reader = CdrReader::new(&unterminated).unwrap();
        assert!(matches!(
            reader.read_str("s"),
            Err(CdrError::StringNotTerminated { .. })
        ));
        // Short primitives.
        let mut reader = CdrReader::new(&[0, 1, 0, 0, 1, 2]).unwrap();
        assert!(reader.read_u32("x").is_err());
        assert!(reader.read_f64("y").is_err());
    }
}
