//! The capture daemon's library: the daemon's services (capture thread, publisher, pid file,
//! command socket, status and tools). The cameras themselves are in `camera-sources`.
//!
//! The binary `aaa-camera-daemon` (src/main.rs) is a thin command-line edge over this.

pub mod bridge;
pub mod capture;
pub mod cleanup;
pub mod control_server;
pub mod ctl;
pub mod daemon;
pub mod detection;
pub mod metrics;
pub mod pidfile;
pub mod record;
pub mod runtime;
pub mod signals;
pub mod status;
pub mod stop;
pub mod watch;
pub mod watch_detections;
pub mod watch_remote;
