//! Starting the daemon from the viewer: the "Start daemon" button of the no-source screen,
//! `--start-daemon`, and how the last start went, in words.

use crate::launcher::{DaemonLauncher, DaemonSettings, Elevation, LaunchState};
use crate::supervisor::{Connection, Supervisor};
use crate::view::no_source::StartDaemon;

#[derive(Default)]
pub(super) struct DaemonStart {
    /// Starts the daemon and knows its socket; `None` when the viewer does not know where the
    /// daemon lives (tests with hand-filled feeds).
    launcher: Option<DaemonLauncher>,
    /// `--start-daemon`: start one as soon as the daemon feed says none runs.
    start_when_missing: bool,
}

impl DaemonStart {
    pub(super) fn new(settings: DaemonSettings, start_when_missing: bool) -> Self {
        DaemonStart {
            launcher: Some(DaemonLauncher::new(settings)),
            start_when_missing,
        }
    }

    pub(super) fn launcher(&self) -> Option<&DaemonLauncher> {
        self.launcher.as_ref()
    }

    /// Takes in the launcher's news, and does what `--start-daemon` asks once the daemon feed
    /// knows whether a daemon runs.
    pub(super) fn poll(&mut self, supervisor: &Supervisor, ctx: &egui::Context) {
        if let Some(launcher) = &mut self.launcher {
            launcher.poll();
        }
        if !self.start_when_missing {
            return;
        }
        match supervisor.daemon_connection() {
            None | Some(Connection::Starting) => {}
            Some(Connection::Connected { .. }) => {
                tracing::info!("a daemon already runs; --start-daemon has nothing to do");
                self.start_when_missing = false;
            }
            Some(_) => {
                self.start_when_missing = false;
                self.start(ctx);
            }
        }
    }

    pub(super) fn start(&mut self, ctx: &egui::Context) {
        if let Some(launcher) = &mut self.launcher {
            let repaint = ctx.clone();
            launcher.start(move || repaint.request_repaint());
        }
    }

    /// The pid of the daemon (or of its password prompt) being started.
    pub(super) fn starting_pid(&self) -> Option<u32> {
        self.launcher.as_ref()?.pid()
    }

    /// The "Start daemon" part of the no-source screen, when the viewer can start one.
    pub(super) fn start_daemon(&mut self) -> Option<StartDaemon<'_>> {
        let launcher = self.launcher.as_mut()?;
        Some(StartDaemon {
            can_start: !launcher.is_starting(),
            progress: launch_progress(launcher),
            source: launcher.source_mut(),
        })
    }
}

/// How the last start of the daemon went, for the no-source screen: the text and whether it
/// failed.
fn launch_progress(launcher: &DaemonLauncher) -> Option<(String, bool)> {
    let log = launcher.log_file().display();
    match launcher.state() {
        LaunchState::Idle => None,
        LaunchState::Starting {
            source, pid: None, ..
        } => Some((format!("Starting the daemon ({source} source)..."), false)),
        LaunchState::Starting {
            source,
            pid: Some(pid),
            elevation: Elevation::Direct,
        } => Some((
            format!(
                "Daemon started (pid {pid}, {source} source); waiting for its frames. Log: {log}"
            ),
            false,
        )),
        LaunchState::Starting {
            source, elevation, ..
        } => {
            let how = match elevation {
                Elevation::Pkexec => "pkexec",
                _ => "the administrator prompt",
            };
            Some((
                format!("The {source} source needs root: asking for the password through {how}. Log: {log}"),
                false,
            ))
        }
        LaunchState::Ended { success, detail } => Some((detail.clone(), !success)),
        LaunchState::Failed(error) => Some((format!("Cannot start the daemon: {error}"), true)),
    }
}
