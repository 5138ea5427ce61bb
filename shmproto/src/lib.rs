//! `shmproto`: the shared-memory protocol between the capture daemon and its clients.
//!
//! This crate is the only code that knows segment names and bytes. `docs/protocol.md` is the
//! normative description of the layout and the algorithms implemented here.

mod clock;
mod geometry;
mod metadata;
mod names;

pub use clock::{monotonic_now_ns, wall_now_ns};
pub use geometry::{ColorFormat, DepthFormat, Geometry, GeometryError, MAX_DIMENSION_PX};
pub use metadata::{DistortionModel, FrameMetadata, Intrinsics, SourceKind};
pub use names::{Namespace, NamespaceError, MAX_NAMESPACE_LEN, NAMESPACE_ENV};
