//! Reading an MCAP file's messages in file order, streaming (the file is never loaded whole):
//! `mcap`'s sans-io linear reader over a `File`, keeping the schemas and channels it meets.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use mcap::records::op;
use mcap::sans_io::linear_reader::{LinearReadEvent, LinearReader, LinearReaderOptions};

use super::RecordingError;

/// The MCAP magic bytes a file starts (and ends) with.
pub const MCAP_MAGIC: &[u8] = b"\x89MCAP0\r\n";

/// Largest record read (a chunk or a message): far above any frame the protocol holds.
const RECORD_LENGTH_LIMIT: usize = 1 << 30;

/// What a channel carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInfo {
    pub topic: String,
    pub message_encoding: String,
    /// The schema's name (`sensor_msgs/msg/Image`), empty without one.
    pub schema_name: String,
}

/// One message's channel and log time (its bytes go into the caller's buffer).
#[derive(Debug, Clone, Copy)]
pub struct MessageHeader {
    pub channel_id: u16,
    pub log_time_ns: u64,
}

pub struct McapStream {
    file: File,
    reader: LinearReader,
    schemas: HashMap<u16, String>,
    pub channels: HashMap<u16, ChannelInfo>,
}

impl McapStream {
    /// Opens `path`, checking that it is an MCAP file.
    pub fn open(path: &Path) -> Result<Self, RecordingError> {
        let unreadable = |error: std::io::Error| RecordingError::Unreadable {
            reason: error.to_string(),
        };
        if !is_mcap_file(path).map_err(unreadable)? {
            return Err(RecordingError::NotMcap);
        }
        // The reader checks the magic again.
        let file = File::open(path).map_err(unreadable)?;
        let options = LinearReaderOptions::default().with_record_length_limit(RECORD_LENGTH_LIMIT);
        Ok(McapStream {
            file,
            reader: LinearReader::new_with_options(options),
            schemas: HashMap::new(),
            channels: HashMap::new(),
        })
    }

    /// The next message, its bytes in `data` (replacing what it held); `None` at the end of
    /// the file. A file that ends early is [`RecordingError::Truncated`].
    pub fn next_message(
        &mut self,
        data: &mut Vec<u8>,
    ) -> Result<Option<MessageHeader>, RecordingError> {
        loop {
            let Some(event) = self.reader.next_event() else {
                return Ok(None);
            };
            let (opcode, body) = match event {
                Ok(LinearReadEvent::ReadRequest(need)) => {
                    let buffer = self.reader.insert(need);
                    let read =
                        self.file
                            .read(buffer)
                            .map_err(|error| RecordingError::Unreadable {
                                reason: error.to_string(),
                            })?;
                    self.reader.notify_read(read);
                    continue;
                }
                Ok(LinearReadEvent::Record { opcode, data }) => (opcode, data),
                Err(mcap::McapError::UnexpectedEof) => return Err(RecordingError::Truncated),
                Err(error) => {
                    return Err(RecordingError::Corrupt {
                        reason: error.to_string(),
                    })
                }
            };
            if !matches!(opcode, op::SCHEMA | op::CHANNEL | op::MESSAGE) {
                continue;
            }
            let record =
                mcap::parse_record(opcode, body).map_err(|error| RecordingError::Corrupt {
                    reason: error.to_string(),
                })?;
            match record {
                mcap::records::Record::Schema { header, .. } => {
                    self.schemas.insert(header.id, header.name);
                }
                mcap::records::Record::Channel(channel) => {
                    let schema_name = self
                        .schemas
                        .get(&channel.schema_id)
                        .cloned()
                        .unwrap_or_default();
                    self.channels.insert(
                        channel.id,
                        ChannelInfo {
                            topic: channel.topic,
                            message_encoding: channel.message_encoding,
                            schema_name,
                        },
                    );
                }
                mcap::records::Record::Message {
                    header,
                    data: bytes,
                } => {
                    data.clear();
                    data.extend_from_slice(&bytes);
                    return Ok(Some(MessageHeader {
                        channel_id: header.channel_id,
                        log_time_ns: header.log_time,
                    }));
                }
                _ => {}
            }
        }
    }
}

/// Reads until `buffer` is full or the file ends; how many bytes were read.
fn read_up_to(file: &mut File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..])? {
            0 => break,
            read => filled += read,
        }
    }
    Ok(filled)
}

/// Whether the file at `path` starts with the MCAP magic.
pub fn is_mcap_file(path: &Path) -> std::io::Result<bool> {
    let mut file = File::open(path)?;
    let mut magic = [0u8; 8];
    let read = read_up_to(&mut file, &mut magic)?;
    Ok(&magic[..read] == MCAP_MAGIC)
}
