//! USB and built-in webcams through nokhwa: colour only, decoded to RGB8.
//!
//! The code that talks to nokhwa is compiled only with the cargo feature `webcam` (it needs
//! libclang at build time: `scripts/setup-build-deps.sh`). [`open_webcam`] exists in every
//! build; without the feature it returns [`SourceError::NotBuilt`].
//!
//! Nothing here is specific to the daemon: the app opens a `WebcamSource` directly when no
//! daemon runs.
//!
//! - **Config** (`config.rs`): [`WebcamConfig`]; in every build.
//! - **Open** (`open.rs`): `WebcamSource::open`, step by step: check that the device exists,
//!   start it in the mode closest to the request (`modes.rs`), read what started.
//! - **Source** (`source.rs`): `WebcamSource` behind the [`Source`] trait: frames read and
//!   decoded on the caller's thread.
//! - **Controls** (`controls.rs`): nokhwa's camera controls as controls.

mod config;
#[cfg(feature = "webcam")]
mod controls;
#[cfg(feature = "webcam")]
mod modes;
#[cfg(feature = "webcam")]
mod open;
#[cfg(feature = "webcam")]
mod source;

pub use config::WebcamConfig;
#[cfg(feature = "webcam")]
pub use source::WebcamSource;

use super::{Source, SourceError};
#[cfg(not(feature = "webcam"))]
use shmproto::SourceKind;

/// True when this binary was built with webcam support.
pub const WEBCAM_BUILT: bool = cfg!(feature = "webcam");

/// Opens a webcam as a [`Source`].
///
/// Without the cargo feature `webcam` this returns [`SourceError::NotBuilt`].
pub fn open_webcam(config: &WebcamConfig) -> Result<Box<dyn Source>, SourceError> {
    #[cfg(feature = "webcam")]
    {
        Ok(Box::new(WebcamSource::open(config)?))
    }
    #[cfg(not(feature = "webcam"))]
    {
        let _ = config;
        Err(SourceError::NotBuilt {
            kind: SourceKind::Webcam,
            feature: "webcam",
        })
    }
}

#[cfg(all(test, not(feature = "webcam")))]
mod tests {
    use super::*;

    #[test]
    fn without_the_feature_opening_says_how_to_build_it() {
        let Err(error) = open_webcam(&WebcamConfig::default()) else {
            panic!("opened a webcam without webcam support");
        };
        assert!(matches!(
            error,
            SourceError::NotBuilt {
                feature: "webcam",
                ..
            }
        ));
    }
}
