//! `aaa`, the desktop viewer of the RGB-D camera stack.
//!
//! Frames come from the capture daemon through `shmproto` ([`source::daemon`]) or, when there is
//! no daemon, from a camera opened inside the app ([`source::local`]); the [`supervisor`] picks
//! one; the [`viewer::Viewer`] shows colour and depth side by side and freezes a frame for
//! detection ([`frame::FrozenFrame`]). `app.rs` puts the viewer in an eframe window.

pub mod app;
pub mod colormap;
pub mod frame;
pub mod save;
pub mod source;
pub mod supervisor;
pub mod texture;
pub mod view;
pub mod viewer;
