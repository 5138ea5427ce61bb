//! `detect`: object detection on RGB-D frames, with metric 3D positions.
//!
//! Knows images, depth, intrinsics and models; knows nothing of GUIs, sockets or segment
//! bytes. Every detector implements one [`Detector`] trait: it takes a [`FrameView`] (RGB8,
//! optional Z16 depth with its scale, intrinsics) and returns [`Detection`]s whose boxes are in
//! original-image pixels and which, where the frame has depth, carry the object's 3D point in
//! the camera frame ([`position::object_position`]).
//!
//! The detection values themselves ([`Detection`], [`DetectionResult`]) are defined by the
//! protocol crate, because they travel between processes in the `aaa_detections` segment.

mod choice;
pub mod depth_only;
mod detector;
mod frame;
pub mod onnx;
pub mod position;

pub use choice::{open_detector, open_model_bytes, DetectorChoice, OpenOptions};
pub use detector::{DetectError, DetectSettings, Detector};
pub use frame::{DepthView, FrameView, FrameViewError};
pub use shmproto::{Detection, DetectionResult, DetectorInfo, Intrinsics, ObjectPosition};
