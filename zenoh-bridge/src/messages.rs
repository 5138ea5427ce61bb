//! The bridge's messages: a frame turned into ROS 2 messages (through `ros-messages`, the
//! encoder the MCAP recorder shares) with the chosen depth coding (`depth-codec`), and back.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use depth_codec::{compressed_depth, zstd_image};
use ros_messages::frame_messages;
use ros_messages::{CompressedImage, Image, StringMessage};
use shmproto::{FrameBuf, FrameMetadata};

pub use ros_messages::CameraInfo;

use crate::error::BridgeError;

/// The zstd level of `--depth-codec zstd`: the fastest, for a live stream.
const ZSTD_LEVEL: i32 = 1;

/// How depth travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DepthEncoding {
    /// `sensor_msgs/Image` 16UC1 as captured (32FC1 metres when a unit is not 1 mm).
    Raw,
    /// `sensor_msgs/CompressedImage`, `16UC1; compressedDepth rvl`: lossless, fast.
    #[default]
    Rvl,
    /// `sensor_msgs/CompressedImage`, `zstd` (ROS 2's zstd_image_transport layout): lossless.
    Zstd,
}

impl FromStr for DepthEncoding {
    type Err = BridgeError;

    fn from_str(text: &str) -> Result<Self, BridgeError> {
        match text {
            "none" | "raw" => Ok(DepthEncoding::Raw),
            "rvl" => Ok(DepthEncoding::Rvl),
            "zstd" => Ok(DepthEncoding::Zstd),
            other => Err(BridgeError::Config(format!(
                "unknown depth codec {other:?}: use rvl, zstd or none"
            ))),
        }
    }
}

impl fmt::Display for DepthEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DepthEncoding::Raw => "none (16UC1 Image)",
            DepthEncoding::Rvl => "rvl (16UC1; compressedDepth rvl)",
            DepthEncoding::Zstd => "zstd",
        })
    }
}

impl DepthEncoding {
    /// The ROS type of the depth messages.
    pub fn schema_name(self) -> &'static str {
        match self {
            DepthEncoding::Raw => ros_messages::image::SCHEMA_NAME,
            DepthEncoding::Rvl | DepthEncoding::Zstd => ros_messages::compressed_image::SCHEMA_NAME,
        }
    }
}

/// The Zenoh encoding of a message of ROS type `schema_name`: `application/cdr;<type>`.
pub fn cdr_encoding(schema_name: &str) -> zenoh::bytes::Encoding {
    zenoh::bytes::Encoding::APPLICATION_CDR.with_schema(schema_name)
}

/// Whether a sample's encoding says it holds a `CompressedImage`.
pub fn is_compressed_image(encoding: &zenoh::bytes::Encoding) -> bool {
    encoding
        .to_string()
        .ends_with(ros_messages::compressed_image::SCHEMA_NAME)
}

/// Turns frames into message bytes, reusing its buffers.
#[derive(Debug, Default)]
pub struct FrameEncoder {
    depth_encoding: DepthEncoding,
    depth_units: Vec<u16>,
}

impl FrameEncoder {
    pub fn new(depth_encoding: DepthEncoding) -> Self {
        FrameEncoder {
            depth_encoding,
            depth_units: Vec::new(),
        }
    }

    pub fn color(
        &mut self,
        frame: &FrameBuf,
        metadata: &FrameMetadata,
    ) -> Result<Vec<u8>, BridgeError> {
        let geometry = frame
            .geometry()
            .ok_or_else(|| BridgeError::Local("a frame without geometry".to_owned()))?;
        Ok(frame_messages::color_image(
            metadata.capture_wall_ns,
            geometry.width,
            geometry.height,
            frame.rgb(),
        )
        .encode())
    }

    /// The depth message, `None` for frames without depth.
    pub fn depth(
        &mut self,
        frame: &FrameBuf,
        metadata: &FrameMetadata,
    ) -> Result<Option<Vec<u8>>, BridgeError> {
        let (Some(geometry), Some(depth_le)) = (frame.geometry(), frame.depth()) else {
            return Ok(None);
        };
        let (width, height) = (geometry.width, geometry.height);
        let header = frame_messages::header(metadata.capture_wall_ns);
        let message = match self.depth_encoding {
            DepthEncoding::Raw => {
                let depth_scale_m = metadata
                    .depth_scale_m
                    .unwrap_or(frame_messages::MILLIMETRE_M);
                let image = frame_messages::depth_image(
                    metadata.capture_wall_ns,
                    width,
                    height,
                    depth_le,
                    depth_scale_m,
                );
                return Ok(Some(image.encode()));
            }
            DepthEncoding::Rvl => {
                self.depth_units.clear();
                self.depth_units.extend(
                    depth_le
                        .chunks_exact(2)
                        .map(|pair| u16::from_le_bytes([pair[0], pair[1]])),
                );
                let mut data = Vec::new();
                compressed_depth::encode_rvl(width, height, &self.depth_units, &mut data)
                    .map_err(|error| BridgeError::Local(error.to_string()))?;
                CompressedImage {
                    header,
                    format: compressed_depth::RVL_16UC1_FORMAT.to_owned(),
                    data: Cow::Owned(data),
                }
            }
            DepthEncoding::Zstd => {
                let mut data = Vec::new();
                zstd_image::encode_16uc1(width, height, depth_le, ZSTD_LEVEL, &mut data)
                    .map_err(|error| BridgeError::Local(error.to_string()))?;
                CompressedImage {
                    header,
                    format: zstd_image::ZSTD_FORMAT.to_owned(),
                    data: Cow::Owned(data),
                }
            }
        };
        Ok(Some(message.encode()))
    }

    pub fn camera_info(&self, _frame: &FrameBuf, metadata: &FrameMetadata) -> Option<Vec<u8>> {
        frame_messages::camera_info(metadata).map(|info| info.encode())
    }

    /// A detection result as `std_msgs/msg/String` JSON (as the MCAP recorder writes it).
    pub fn detections(&self, result: &shmproto::DetectionResult) -> Result<Vec<u8>, BridgeError> {
        let data = serde_json::to_string(result)
            .map_err(|error| BridgeError::Local(format!("a detection result: {error}")))?;
        Ok(StringMessage { data }.encode())
    }

    /// The frame's metadata JSON, exactly as the daemon wrote it.
    pub fn metadata(&self, frame: &FrameBuf) -> Vec<u8> {
        frame_messages::metadata_message(frame.metadata_json()).encode()
    }
}

fn decode_error(error: impl fmt::Display) -> BridgeError {
    BridgeError::Decode(error.to_string())
}

/// The stamp of an Image or CompressedImage (its header comes first), ns since the epoch.
pub fn stamp_of(bytes: &[u8]) -> Result<u64, BridgeError> {
    let header = ros_messages::Header::decode(bytes).map_err(decode_error)?;
    Ok(header.stamp.to_unix_ns())
}

/// The metadata JSON of a `metadata` message.
pub fn decode_metadata(bytes: &[u8]) -> Result<FrameMetadata, BridgeError> {
    let message = StringMessage::decode(bytes).map_err(decode_error)?;
    frame_messages::metadata_from_message(&message).map_err(decode_error)
}

/// A detection result (`detections`): the daemon's result JSON in a String.
pub fn decode_detections(bytes: &[u8]) -> Result<shmproto::DetectionResult, BridgeError> {
    let message = StringMessage::decode(bytes).map_err(decode_error)?;
    serde_json::from_str(&message.data).map_err(decode_error)
}

pub fn decode_camera_info(bytes: &[u8]) -> Result<CameraInfo, BridgeError> {
    CameraInfo::decode(bytes).map_err(decode_error)
}

/// A colour Image as width, height and RGB8 bytes.
pub fn decode_color(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), BridgeError> {
    let image = Image::decode(bytes).map_err(decode_error)?;
    let mut rgb = Vec::new();
    frame_messages::rgb8_from_image(&image, &mut rgb).map_err(decode_error)?;
    Ok((image.width, image.height, rgb))
}

/// Depth as received: units and how they travelled.
pub struct DecodedDepth {
    pub units: Vec<u16>,
    pub format: String,
}

/// A depth message (raw Image, RVL or zstd CompressedImage) as Z16 units, checked against the
/// colour's size.
pub fn decode_depth(
    bytes: &[u8],
    compressed: bool,
    metadata: &FrameMetadata,
    width: u32,
    height: u32,
) -> Result<DecodedDepth, BridgeError> {
    let decoded = if !compressed {
        let image = Image::decode(bytes).map_err(decode_error)?;
        let mut depth_le = Vec::new();
        frame_messages::z16_from_image(&image, metadata.depth_scale_m, &mut depth_le)
            .map_err(decode_error)?;
        check_size(image.width, image.height, width, height)?;
        DecodedDepth {
            units: units_from_le(&depth_le),
            format: image.encoding.clone(),
        }
    } else {
        {
            let message = CompressedImage::decode(bytes).map_err(decode_error)?;
            if compressed_depth::is_rvl_16bit(&message.format) {
                let image = compressed_depth::decode_rvl(&message.data).map_err(decode_error)?;
                check_size(image.width, image.height, width, height)?;
                DecodedDepth {
                    units: image.depth_units,
                    format: message.format.clone(),
                }
            } else if message.format == zstd_image::ZSTD_FORMAT {
                let image = zstd_image::decode(&message.data).map_err(decode_error)?;
                check_size(image.width, image.height, width, height)?;
                if image.encoding != "16UC1" || image.is_bigendian || image.step != image.width * 2
                {
                    return Err(BridgeError::Decode(format!(
                        "zstd depth of encoding {} (step {}), 16UC1 expected",
                        image.encoding, image.step
                    )));
                }
                DecodedDepth {
                    units: units_from_le(&image.data),
                    format: message.format.clone(),
                }
            } else {
                return Err(BridgeError::Decode(format!(
                    "depth in the unsupported format {:?}",
                    message.format
                )));
            }
        }
    };
    if decoded.units.len() != width as usize * height as usize {
        return Err(BridgeError::Decode(format!(
            "{} depth pixels for a {width}x{height} colour image",
            decoded.units.len()
        )));
    }
    Ok(decoded)
}

fn units_from_le(depth_le: &[u8]) -> Vec<u16> {
    depth_le
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect()
}

fn check_size(
    depth_width: u32,
    depth_height: u32,
    width: u32,
    height: u32,
) -> Result<(), BridgeError> {
    if (depth_width, depth_height) == (width, height) {
        Ok(())
    } else {
        Err(BridgeError::Decode(format!(
            "depth of {depth_width}x{depth_height} with colour of {width}x{height}"
        )))
    }
}
