//! Frames over Zenoh, for viewers, Python and ROS 2 tools on other machines: the [`Bridge`]
//! publishes a local daemon's frames (read from shared memory like any client), the
//! [`RemoteFeed`] receives them. Both `aaa-camera-daemon` (`bridge`, `watch --remote`) and the
//! viewer (`aaa --remote`) use this one implementation.
//!
//! Keys under a prefix (default `aaa/<host>/<namespace>`, [`KeyPrefix`]), messages CDR-encoded
//! as ROS 2 does (the `ros-messages` crate, which the MCAP recorder shares):
//!
//! | key | message |
//! |---|---|
//! | `color` | `sensor_msgs/msg/Image`, rgb8 |
//! | `depth` | `sensor_msgs/msg/Image` 16UC1 (`--depth-codec none`), or `sensor_msgs/msg/CompressedImage` `16UC1; compressedDepth rvl` (`rvl`, the default) or `zstd` (`zstd`) |
//! | `camera_info` | `sensor_msgs/msg/CameraInfo`; a queryable answers the latest |
//! | `metadata` | `std_msgs/msg/String`: the frame's metadata JSON (frame number, capture times, intrinsics, depth scale) |
//!
//! A frame's messages share its capture stamp (`header.stamp`, and `capture_wall_ns` in the
//! metadata): receivers pair them by it. Sessions use explicit endpoints only (no multicast
//! scouting); see [`session`] and, for congestion control, [`publisher`].

mod assembler;
mod error;
pub mod keys;
mod messages;
pub mod publisher;
mod remote_feed;
pub mod session;

pub use error::BridgeError;
pub use keys::KeyPrefix;
pub use messages::{CameraInfo, DepthEncoding};
pub use publisher::{Bridge, BridgeEvent, BridgeSettings, BridgeStats};
pub use remote_feed::{RemoteFeed, RemoteFrame, RemoteStats};
pub use session::{Endpoint, SessionSettings, DEFAULT_LISTEN};
