//! Starting the capture daemon from a desktop program: the viewer's "Start daemon" button and
//! `--start-daemon`, and the tray's **Start daemon**; one launcher and one root rule for both.
//!
//! The program runs `aaa-camera-daemon run --source <source>` in the namespace and runtime
//! directory it watches ([`settings`]), found next to its own executable or on `PATH`
//! ([`binary`]). Sources that need root (`camera_sources::access::root_reason`) go through the
//! platform's way of asking for it: `pkexec` on Linux, an administrator prompt (`osascript ...
//! with administrator privileges`) on macOS; the daemon then hands its segments to the desktop
//! user (`--owner`) ([`plan`]). The daemon is detached (its own session, stdin from /dev/null,
//! output appended to [`DaemonSettings::log_file`]), so closing the program does not stop it
//! ([`spawn`]). Nobody connects to it in any special way: the viewer's daemon feed and the
//! tray's status watch find it like any other daemon.
//!
//! Spawning and waiting happen on a thread; the program learns what happened through
//! [`DaemonLauncher::poll`] ([`state`]).

pub mod binary;
pub mod plan;
pub mod settings;
pub mod spawn;
pub mod state;

use std::path::PathBuf;

pub use binary::{find_daemon_binary, find_program, DAEMON_BINARY, VIEWER_BINARY};
pub use plan::{applescript_string, plan_launch, plan_stop, shell_quote, Elevation, LaunchPlan};
pub use settings::DaemonSettings;
pub use spawn::{detached_command, LaunchEvent};
pub use state::{DaemonLauncher, LaunchState};

/// Why the daemon could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("{program} not found next to this program ({}) nor on PATH; build it with `cargo build --release` or install it", .next_to.display())]
    NotFound {
        program: &'static str,
        next_to: PathBuf,
    },
    #[error("cannot prepare the daemon's log {}: {source}", .path.display())]
    Log {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
}
