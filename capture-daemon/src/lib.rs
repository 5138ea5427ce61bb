//! The capture daemon's library: camera sources behind one trait, and the daemon's services.
//!
//! The binary `aaa-camera-daemon` (src/main.rs) is a thin command-line edge over this.

pub mod capture;
pub mod cleanup;
pub mod control_server;
pub mod ctl;
pub mod daemon;
pub mod metrics;
pub mod pidfile;
pub mod runtime;
pub mod signals;
pub mod source;
pub mod status;
pub mod watch;
