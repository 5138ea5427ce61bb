//! What can go wrong bridging frames over Zenoh.

use std::path::PathBuf;

/// Why the bridge or a remote feed could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("invalid Zenoh endpoint {endpoint:?}: {reason} (expected e.g. tcp/127.0.0.1:7447)")]
    Endpoint { endpoint: String, reason: String },
    #[error("cannot read the Zenoh configuration file {path}: {reason}")]
    ConfigFile { path: PathBuf, reason: String },
    #[error("invalid Zenoh configuration: {0}")]
    Config(String),
    #[error("invalid key prefix {prefix:?}: {reason}")]
    KeyPrefix { prefix: String, reason: String },
    #[error("cannot open the Zenoh session ({what}): {reason}")]
    Open { what: String, reason: String },
    #[error("Zenoh: {0}")]
    Zenoh(String),
    #[error("a received message does not decode: {0}")]
    Decode(String),
    #[error("cannot read the local frames: {0}")]
    Local(String),
}

impl BridgeError {
    pub(crate) fn zenoh(error: impl std::fmt::Display) -> Self {
        BridgeError::Zenoh(error.to_string())
    }
}
