//! Intel RealSense cameras and RealSense recordings (`.bag`, `.db3`) through librealsense2.
//!
//! One code path for both: a librealsense pipeline with a colour stream and a Z16 depth stream,
//! its frames passed through librealsense's align block so that depth pixel (u, v) measures the
//! ray of colour pixel (u, v). Intrinsics are the colour stream's, the depth scale is the depth
//! sensor's `depth_units` option (recordings carry it too).
//!
//! The code that talks to librealsense is compiled only with the cargo feature `realsense`.
//! [`open_realsense`] exists in every build, so the daemon's command line compiles the same way:
//! without the feature it returns [`SourceError::NotBuilt`].
//!
//! Building with the feature needs librealsense2 where pkg-config finds it: Intel's packages,
//! Homebrew, or `scripts/setup-realsense.sh`, which takes it from the `pyrealsense2` wheel.
//!
//! - **Config** (`config.rs`): [`RealsenseInput`], [`RealsenseConfig`], [`RealsenseDeviceInfo`];
//!   in every build.
//! - **Devices** (`devices.rs`): what librealsense lists, and which device a config names.
//! - **Open** (`open.rs`): `RealsenseSource::open`, step by step: choose the device or
//!   recording, request the streams, start the pipeline, read what started (`streams.rs`: the
//!   colour stream's format, intrinsics and geometry, the depth scale), start the worker.
//! - **Source** (`source.rs`): `RealsenseSource` behind the [`Source`] trait.
//! - **Worker** (`worker.rs`): the capture thread, which owns the pipeline and the align block.
//! - **Planes** (`planes.rs`): librealsense's colour and depth frames copied as RGB8 and Z16.
//! - **Controls** (`controls.rs`): the sensors' librealsense options as controls.

mod config;
#[cfg(feature = "realsense")]
mod controls;
#[cfg(feature = "realsense")]
mod devices;
#[cfg(feature = "realsense")]
mod open;
#[cfg(feature = "realsense")]
mod planes;
#[cfg(feature = "realsense")]
mod source;
#[cfg(feature = "realsense")]
mod streams;
#[cfg(feature = "realsense")]
mod worker;

pub use config::{RealsenseConfig, RealsenseDeviceInfo, RealsenseInput};
#[cfg(feature = "realsense")]
pub use source::RealsenseSource;

use shmproto::SourceKind;

use super::{Source, SourceError};

/// True when this binary was built with RealSense support.
pub const REALSENSE_BUILT: bool = cfg!(feature = "realsense");

/// Opens a RealSense camera or recording as a [`Source`].
///
/// Without the cargo feature `realsense` this returns [`SourceError::NotBuilt`].
pub fn open_realsense(config: &RealsenseConfig) -> Result<Box<dyn Source>, SourceError> {
    #[cfg(feature = "realsense")]
    {
        Ok(Box::new(RealsenseSource::open(config)?))
    }
    #[cfg(not(feature = "realsense"))]
    {
        let _ = config;
        Err(not_built())
    }
}

/// The RealSense devices connected now (empty when there are none).
///
/// Without the cargo feature `realsense` this returns [`SourceError::NotBuilt`].
pub fn list_realsense_devices() -> Result<Vec<RealsenseDeviceInfo>, SourceError> {
    #[cfg(feature = "realsense")]
    {
        devices::list_devices()
    }
    #[cfg(not(feature = "realsense"))]
    {
        Err(not_built())
    }
}

#[cfg(not(feature = "realsense"))]
fn not_built() -> SourceError {
    SourceError::NotBuilt {
        kind: SourceKind::Realsense,
        feature: "realsense",
    }
}

/// The error for a device or recording that cannot be opened.
#[cfg(feature = "realsense")]
fn open_error(reason: impl Into<String>) -> SourceError {
    SourceError::Open {
        kind: SourceKind::Realsense,
        reason: reason.into(),
    }
}

/// The error for an open source that cannot deliver a frame.
#[cfg(feature = "realsense")]
fn capture_error(reason: impl Into<String>) -> SourceError {
    SourceError::Capture {
        kind: SourceKind::Realsense,
        reason: reason.into(),
    }
}

#[cfg(all(test, not(feature = "realsense")))]
mod tests {
    use super::*;

    #[test]
    fn without_the_feature_opening_says_how_to_build_it() {
        let Err(error) = open_realsense(&RealsenseConfig::default()) else {
            panic!("opened a RealSense without RealSense support");
        };
        assert!(matches!(
            error,
            SourceError::NotBuilt {
                feature: "realsense",
                ..
            }
        ));
        assert!(matches!(
            list_realsense_devices(),
            Err(SourceError::NotBuilt { .. })
        ));
    }
}
