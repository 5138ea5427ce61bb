//! `aaa-tray`: the capture daemon's state in the desktop's system tray, with the actions people
//! want without a terminal: open the viewer, start, stop, restart, pause and resume the daemon,
//! open its log.
//!
//! - [`state`]: the daemon's state (live, paused, alive but not publishing, not running, stale
//!   leftovers, another user's), judged from the daemon's own `status` report.
//! - [`presentation`]: state → icon, title, tooltip and menu enablement (pure, tested for
//!   every state).
//! - [`icons`]: the state pictures from `assets/tray/`.
//! - [`controller`]: the loop that looks once a second and on news, and runs the menu's
//!   choices ([`actions`]: the shared launcher, `aaa-camera-daemon stop`, the command socket).
//! - [`backend`]: where the item is drawn (StatusNotifierItem over D-Bus on Linux).

pub mod actions;
pub mod backend;
pub mod controller;
pub mod icons;
pub mod presentation;
pub mod state;

pub use controller::{run, TrayConfig, TrayError};
