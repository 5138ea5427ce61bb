//! The launcher as a desktop program sees it: [`DaemonLauncher`] starts the daemon on a thread
//! of its own and follows it, and [`LaunchState`] is what the viewer's no-source screen and the
//! tray show of it.

use std::path::{Path, PathBuf};

use camera_sources::access::Platform;
use crossbeam_channel::{Receiver, TryRecvError};
use shmproto::{SegmentOwner, SourceKind};

use super::spawn::run_and_wait;
use super::{find_daemon_binary, plan_launch, DaemonSettings, Elevation, LaunchEvent};

/// The start of a daemon, as the GUI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchState {
    Idle,
    /// Being started; `pid` once spawned (of pkexec or osascript when elevated).
    Starting {
        source: SourceKind,
        pid: Option<u32>,
        elevation: Elevation,
    },
    /// The process we started ended: normal for the administrator prompt, which returns once
    /// the daemon runs; otherwise the daemon stopped.
    Ended {
        success: bool,
        detail: String,
    },
    Failed(String),
}

/// Starts daemons for the GUI and follows them.
pub struct DaemonLauncher {
    settings: DaemonSettings,
    state: LaunchState,
    events: Option<Receiver<LaunchEvent>>,
    log: PathBuf,
}

impl DaemonLauncher {
    pub fn new(settings: DaemonSettings) -> Self {
        let log = settings.log_file();
        DaemonLauncher {
            settings,
            state: LaunchState::Idle,
            events: None,
            log,
        }
    }

    pub fn settings(&self) -> &DaemonSettings {
        &self.settings
    }

    /// The source the next start opens (the button's choice).
    pub fn source_mut(&mut self) -> &mut SourceKind {
        &mut self.settings.source
    }

    pub fn state(&self) -> &LaunchState {
        &self.state
    }

    /// Where the started daemon's output goes.
    pub fn log_file(&self) -> &Path {
        &self.log
    }

    /// True while a start is under way (the button is disabled).
    pub fn is_starting(&self) -> bool {
        matches!(self.state, LaunchState::Starting { .. })
    }

    /// The pid of the process started last, while it runs.
    pub fn pid(&self) -> Option<u32> {
        match self.state {
            LaunchState::Starting { pid, .. } => pid,
            _ => None,
        }
    }

    /// Starts the daemon with the current settings; the result comes through [`Self::poll`].
    /// `news` runs on the launch thread after each event (the viewer asks for a repaint, the
    /// tray wakes its state thread), so nobody needs to poll while a start is under way.
    pub fn start(&mut self, news: impl Fn() + Send + 'static) {
        let binary = match find_daemon_binary(self.settings.binary.as_deref()) {
            Ok(binary) => binary,
            Err(err) => {
                tracing::error!("cannot start the daemon: {err}");
                self.state = LaunchState::Failed(err.to_string());
                return;
            }
        };
        // SAFETY: getuid/getgid cannot fail and have no preconditions.
        let desktop_user = unsafe {
            SegmentOwner {
                uid: libc::getuid(),
                gid: libc::getgid(),
            }
        };
        let plan = plan_launch(&binary, &self.settings, &Platform::current(), desktop_user);
        match &plan.root_reason {
            Some(reason) => tracing::info!(
                "starting the daemon ({} source) through {:?}: {reason}",
                self.settings.source,
                plan.elevation
            ),
            None => tracing::info!(
                "starting the daemon: {} {}",
                binary.display(),
                plan.args
                    .iter()
                    .map(|arg| arg.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        }
        let (events_tx, events) = crossbeam_channel::unbounded();
        let log = self.log.clone();
        let elevation = plan.elevation;
        let spawned = std::thread::Builder::new()
            .name("daemon launcher".to_owned())
            .spawn(move || {
                run_and_wait(&plan, &log, |event| {
                    // The program may be gone; then nobody needs to know.
                    let _ = events_tx.send(event);
                    news();
                });
            });
        match spawned {
            Ok(_) => {
                self.events = Some(events);
                self.state = LaunchState::Starting {
                    source: self.settings.source,
                    pid: None,
                    elevation,
                };
            }
            Err(err) => {
                let error = format!("cannot start the launcher thread: {err}");
                tracing::error!("{error}");
                self.state = LaunchState::Failed(error);
            }
        }
    }

    /// Takes in what the launch thread reported; true if anything changed.
    pub fn poll(&mut self) -> bool {
        let Some(events) = &self.events else {
            return false;
        };
        let mut changed = false;
        loop {
            let event = match events.try_recv() {
                Ok(event) => event,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.events = None;
                    break;
                }
            };
            changed = true;
            self.state = match (event, &self.state) {
                (
                    LaunchEvent::Spawned { pid },
                    LaunchState::Starting {
                        source, elevation, ..
                    },
                ) => LaunchState::Starting {
                    source: *source,
                    pid: Some(pid),
                    elevation: *elevation,
                },
                (LaunchEvent::Spawned { pid }, _) => LaunchState::Starting {
                    source: self.settings.source,
                    pid: Some(pid),
                    elevation: Elevation::Direct,
                },
                (LaunchEvent::Exited { success, detail }, _) => {
                    if success {
                        tracing::info!("{detail}");
                    } else {
                        tracing::error!("{detail}");
                    }
                    LaunchState::Ended { success, detail }
                }
                (LaunchEvent::Failed(error), _) => {
                    tracing::error!("{error}");
                    LaunchState::Failed(error)
                }
            };
        }
        changed
    }
}
