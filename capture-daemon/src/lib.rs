//! The capture daemon's library: camera sources behind one trait, and the daemon's services.
//!
//! The binary `aaa-camera-daemon` (src/main.rs) is a thin command-line edge over this.

pub mod source;
