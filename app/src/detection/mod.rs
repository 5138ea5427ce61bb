//! Object detection in the app, apart from its UI (`crate::viewer::detection_panel` and
//! `crate::view::detection`, `crate::view::boxes` draw it).
//!
//! - `worker.rs`: the thread that owns the detector (`detect::Detector`), opens it and runs it
//!   on frozen and live frames; the GUI never waits for it.
//! - `mailbox.rs`: the single slot frames reach the worker through: newest only, never a queue.
//! - `matching.rs`: which result is drawn over which live frame (by frame number).
//! - `rate.rs`: the rate live detection achieves and its inference time.
//! - `daemon.rs`: the daemon's own live detections (`shmproto::DetectionsReader`), read on a
//!   thread of their own.
//! - `dialog.rs`: the native "open model" dialog (`rfd`) on a thread of its own.
//! - `record.rs`: the detections file Save writes next to the frame's PNGs.

pub mod daemon;
pub mod dialog;
pub mod mailbox;
pub mod matching;
pub mod rate;
pub mod record;
pub mod worker;
