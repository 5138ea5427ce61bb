//! `ros-messages`: the ROS 2 messages the project writes and reads, CDR-encoded (XCDR1
//! little-endian), and the mapping between the project's frames and those messages
//! ([`frame_messages`]). MCAP recordings and the Zenoh bridge both speak through it.
//!
//! Each message type has its `SCHEMA_NAME` and its `SCHEMA_TEXT` (the `ros2msg` definition
//! with every nested type after a line of `=` and `MSG: pkg/Type`, as MCAP's `ros2msg` schema
//! encoding wants it), `encode` and `decode`; decoding takes untrusted bytes and never
//! panics.
//!
//! ```
//! use ros_messages::{frame_messages, Image};
//!
//! let rgb = vec![0u8; 4 * 2 * 3];
//! let bytes = frame_messages::color_image(1_700_000_000_000_000_000, 4, 2, &rgb).encode();
//! let image = Image::decode(&bytes).unwrap();
//! assert_eq!((image.width, image.height, image.encoding.as_str()), (4, 2, "rgb8"));
//! ```

pub mod camera_info;
pub mod cdr;
pub mod compressed_image;
pub mod frame_messages;
pub mod header;
pub mod image;
pub mod string_message;
pub mod time;

pub use camera_info::{CameraInfo, RegionOfInterest};
pub use cdr::{CdrError, CdrReader, CdrWriter};
pub use compressed_image::CompressedImage;
pub use frame_messages::FrameMessageError;
pub use header::Header;
pub use image::Image;
pub use string_message::StringMessage;
pub use time::Time;
