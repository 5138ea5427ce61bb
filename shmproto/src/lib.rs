//! `shmproto`: the shared-memory protocol between the capture daemon and its clients.
//!
//! This crate is the only code that knows segment names and bytes. `docs/protocol.md` is the
//! normative description of the layout and the algorithms implemented here.
//!
//! A writer publishes frames into a ring of slots guarded by sequence words (a seqlock per
//! slot); readers copy the newest complete frame into their own reusable [`FrameBuf`] and
//! never see a torn frame. Readers block on a futex until the next publish.
//!
//! ```
//! use std::time::Duration;
//! use shmproto::{FrameBuf, FrameMetadata, Geometry, Namespace, Reader, SourceKind, Writer, WriterConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let namespace = Namespace::new(&format!("doc{}", std::process::id()))?;
//! let geometry = Geometry::rgbd(64, 48);
//! let mut writer = Writer::create(WriterConfig::new(namespace.clone(), geometry))?;
//!
//! let mut reader = Reader::open(&namespace)?;
//! let metadata = FrameMetadata {
//!     frame_number: 1,
//!     capture_wall_ns: shmproto::wall_now_ns(),
//!     capture_mono_ns: shmproto::monotonic_now_ns(),
//!     fps: 30.0,
//!     source_kind: SourceKind::Other,
//!     source_description: "doc test".into(),
//!     intrinsics: None,
//!     depth_scale_m: Some(0.001),
//!     depth_aligned_to_color: true,
//!     ground_truth: Vec::new(),
//! };
//! let rgb = vec![7u8; geometry.color_len()];
//! let depth = vec![1u8; geometry.depth_len()];
//! writer.publish(&rgb, Some(&depth), &metadata)?;
//!
//! let mut frame = FrameBuf::new();
//! assert!(reader.wait_next(&mut frame, Duration::from_secs(1))?);
//! assert_eq!(frame.frame_number(), 1);
//! assert_eq!(frame.rgb(), &rgb[..]);
//! assert_eq!(frame.metadata()?.source_description, "doc test");
//! # Ok(())
//! # }
//! ```
//!
//! A detector's results travel the same way in a segment of their own, with a writer of
//! their own ([`DetectionsWriter`], [`DetectionsReader`]; `docs/protocol.md`, section 19):
//!
//! ```
//! use std::time::Duration;
//! use shmproto::{DetectionResult, DetectionsReader, DetectionsWriter, DetectionsWriterConfig};
//! use shmproto::{DetectorInfo, Namespace};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let namespace = Namespace::new(&format!("docd{}", std::process::id()))?;
//! let mut writer = DetectionsWriter::create(DetectionsWriterConfig::new(namespace.clone()))?;
//! let mut reader = DetectionsReader::open(&namespace)?;
//! let result = DetectionResult {
//!     frame_number: 7,
//!     frame_publish_mono_ns: shmproto::monotonic_now_ns(),
//!     detector: DetectorInfo { format: "depth".into(), model: None },
//!     score_threshold: 0.25,
//!     inference_ms: 1.5,
//!     detections: Vec::new(),
//! };
//! writer.publish(&result)?;
//! let published = reader.wait_next(Duration::from_secs(1))?.expect("a result");
//! assert_eq!((published.publish_seq, published.result), (1, result));
//! # Ok(())
//! # }
//! ```

mod clock;
pub mod control;
mod cursor;
mod detections;
mod detections_follower;
mod detections_reader;
mod detections_session;
mod detections_writer;
mod error;
mod frame;
mod frame_view;
mod geometry;
mod heartbeat;
mod held_frame;
mod inspect;
pub mod layout;
mod liveness;
mod metadata;
mod names;
mod reader;
mod reclaim;
mod ring;
pub mod runtime_dir;
mod segment;
mod session;
mod status;
pub mod test_pattern;
mod truncation_guard;
mod wait;
mod writer;

pub use clock::{monotonic_now_ns, wall_now_ns};
pub use detections::{
    Detection, DetectionResult, DetectionState, DetectionStatus, DetectorInfo, ObjectPosition,
};
pub use detections_follower::{DetectionsFollower, DETECTIONS_RETRY};
pub use detections_reader::{DetectionsReader, PublishedDetections};
pub use detections_writer::{DetectionsWriter, DetectionsWriterConfig, SourceFrame};
pub use error::{CreateError, OpenError, PublishError, ReadError};
pub use frame::{FrameBuf, FrameHeader};
pub use frame_view::{FrameView, PlaneView};
pub use geometry::{
    ColorFormat, DepthFormat, Geometry, GeometryError, MAX_DIMENSION_PX, MAX_FRAME_BYTES,
};
pub use held_frame::{HeldFrame, HeldPlane};
pub use inspect::{
    inspect, remove_stale, DetectionsReport, NamespaceReport, SegmentReport, SegmentState,
    WriterReport,
};
pub use layout::LayoutError;
pub use liveness::{
    process_exists, Liveness, HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT, NOT_PUBLISHING_AFTER,
};
pub use metadata::{DistortionModel, FrameMetadata, GroundTruthObject, Intrinsics, SourceKind};
pub use names::{Namespace, NamespaceError, MAX_NAMESPACE_LEN, NAMESPACE_ENV};
pub use reader::{probe, Reader};
pub use runtime_dir::RUNTIME_DIR_ENV;
pub use segment::{free_space, stat as segment_stat, SegmentError, SegmentStat};
pub use status::{DaemonMetrics, SourceState, WriterStatus};
pub use writer::{SegmentOwner, SlotPlanes, Writer, WriterConfig};
