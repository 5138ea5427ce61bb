//! `aaa`, the desktop viewer of the RGB-D camera stack.
//!
//! Frames come from the capture daemon through `shmproto` ([`feed::daemon`]) or, when there is
//! no daemon, from a camera opened inside the app ([`feed::local`]); the [`supervisor`] picks
//! one; the [`viewer::Viewer`] shows colour and depth side by side and freezes a frame for
//! detection ([`frame::FrozenFrame`]), which [`detection`] runs on a worker thread (frozen and
//! live frames; the daemon's own detections are read too). `app.rs` puts the viewer in an
//! eframe window, with the [`icon`] embedded from `assets/`.
//!
//! Next to the frames, the app talks to the daemon: [`control_link`] drives its controls over
//! the command socket, [`health`] judges whether it delivers and keeps the last minute of its
//! metrics, and [`launcher`] (the `daemon-launcher` crate, shared with the tray `aaa-tray`)
//! starts it when none runs.

pub mod app;
pub mod colormap;
pub mod control_link;
pub mod detection;
pub mod feed;
pub mod frame;
pub mod health;
pub mod icon;
pub mod recorder;
pub mod save;
pub mod supervisor;
pub mod texture;
pub mod view;
pub mod view3d;
pub mod viewer;

pub use daemon_launcher as launcher;
