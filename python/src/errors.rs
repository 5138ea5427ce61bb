//! The package's exceptions, and the one place that turns shmproto's errors into them. The
//! message is always the Rust error's own (its `Display`).

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::PyErr;
use shmproto::control::ClientError;
use shmproto::{OpenError, ReadError, SegmentError};

create_exception!(
    aaa_camera,
    AaaCameraError,
    PyException,
    "Base of every error of aaa_camera."
);
create_exception!(
    aaa_camera,
    DaemonNotRunning,
    AaaCameraError,
    "No live daemon publishes in this namespace (not started, stopped, or not yet up)."
);
create_exception!(
    aaa_camera,
    DaemonGone,
    AaaCameraError,
    "The daemon stopped or died while this camera read from it; the next wait reconnects."
);
create_exception!(
    aaa_camera,
    ProtocolError,
    AaaCameraError,
    "Shared memory holds something impossible (a broken or hostile writer), or a frame failed a check."
);
create_exception!(
    aaa_camera,
    FrameOverwritten,
    AaaCameraError,
    "The daemon reused an in-place frame's memory while it was read: what was computed from it mixes frames and must be thrown away."
);
create_exception!(
    aaa_camera,
    ControlError,
    AaaCameraError,
    "The daemon refused a control command (unknown control, value out of range)."
);

/// No live daemon publishes there (no segments, its writer not live, or being replaced).
pub fn daemon_not_running(error: &OpenError) -> bool {
    matches!(
        error,
        OpenError::Segment(SegmentError::NotFound { .. })
            | OpenError::NotLive { .. }
            | OpenError::SessionMismatch { .. }
    )
}

/// Opening a namespace failed.
pub fn open_error(error: &OpenError) -> PyErr {
    let message = error.to_string();
    if daemon_not_running(error) {
        return DaemonNotRunning::new_err(message);
    }
    match error {
        OpenError::Invalid { .. } => ProtocolError::new_err(message),
        // Permission denied, untrusted owner, an OS error: not the protocol's fault.
        _ => AaaCameraError::new_err(message),
    }
}

/// Reading from an open namespace failed.
pub fn read_error(error: &ReadError) -> PyErr {
    let message = error.to_string();
    match error {
        ReadError::WriterGone(_) | ReadError::SegmentLost { .. } => DaemonGone::new_err(message),
        // Corrupt records, invalid metadata, detections or status.
        _ => ProtocolError::new_err(message),
    }
}

/// A command over the daemon's socket failed.
pub fn client_error(error: &ClientError) -> PyErr {
    let message = error.to_string();
    match error {
        ClientError::Connect { .. } => DaemonNotRunning::new_err(message),
        ClientError::Io(_) | ClientError::Closed => DaemonGone::new_err(message),
        ClientError::Refused(_) => ControlError::new_err(message),
        ClientError::Protocol(_) => ProtocolError::new_err(message),
        ClientError::Untrusted(_) | ClientError::UnsafeDir(_) => AaaCameraError::new_err(message),
    }
}
