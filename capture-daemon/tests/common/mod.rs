//! The real daemon binary of this package in a namespace and runtime directory of its own
//! (`test_support::daemon`).

#![allow(dead_code, unused_imports)] // Each test binary uses a different part.

pub use test_support::daemon::{json, sigterm, stderr, stdout, DaemonFixture as Fixture};

pub const DAEMON: &str = env!("CARGO_BIN_EXE_aaa-camera-daemon");

/// A fixture for this package's daemon binary.
pub fn fixture(tag: &str) -> Fixture {
    Fixture::new(tag, DAEMON)
}
