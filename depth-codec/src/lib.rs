//! Lossless compression of 16-bit depth images, in the layouts ROS uses so that ROS tools and
//! other readers decode them without this crate:
//!
//! - [`rvl`]: the RVL coding itself (run lengths of zeros and non-zeros, zig-zag deltas in
//!   variable-length nibbles), fast and typically 3-6x smaller on depth;
//! - [`compressed_depth`]: RVL inside `compressed_depth_image_transport`'s payload (format
//!   `16UC1; compressedDepth rvl`);
//! - [`zstd_image`]: zstd inside `zstd_image_transport`'s payload (format `zstd`).
//!
//! ```
//! let depth_units = vec![0, 0, 1200, 1201, 1203, 0, 950, 951];
//! let mut data = Vec::new();
//! depth_codec::compressed_depth::encode_rvl(4, 2, &depth_units, &mut data)?;
//! let image = depth_codec::compressed_depth::decode_rvl(&data)?;
//! assert_eq!(image.depth_units, depth_units);
//! # Ok::<(), depth_codec::DepthCodecError>(())
//! ```

pub mod compressed_depth;
mod error;
pub mod rvl;
pub mod zstd_image;

pub use error::DepthCodecError;
