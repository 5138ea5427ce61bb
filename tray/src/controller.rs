//! The tray's one loop: it looks at the daemon once a second (or at once when a menu choice,
//! the launcher or a stop has news), turns what it sees into a [`TrayView`] and hands the view
//! to the backend only when it changed. Between looks the thread sleeps in a channel wait:
//! nothing spins, and an idle tray costs one `status` gather a second.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver, Sender};
use daemon_launcher::{DaemonLauncher, DaemonSettings, LaunchState};

use crate::actions;
use crate::backend::{self, BackendError, TrayBackend};
use crate::icons::IconSet;
use crate::presentation::{present, Activity, MenuEntry, TrayView};
use crate::state::{judge, DaemonSnapshot};

/// How often the daemon is looked at when nothing happens: its writer status changes at most
/// once a second (the daemon rewrites it on every change and once a second), and a dead
/// daemon is seen at once through its pid.
pub const LOOK_INTERVAL: Duration = Duration::from_secs(1);
/// How long a start may take to show a running daemon (a password prompt may be open).
const START_PATIENCE: Duration = Duration::from_secs(90);

/// What the tray watches and how it starts things.
#[derive(Debug, Clone)]
pub struct TrayConfig {
    pub daemon: DaemonSettings,
    /// The viewer to open (default: `aaa` next to this program, else on `PATH`).
    pub viewer_binary: Option<PathBuf>,
}

/// Why the tray stopped.
#[derive(Debug, thiserror::Error)]
pub enum TrayError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("the embedded tray icons do not decode: {0}")]
    Icons(#[from] image::ImageError),
}

/// News from the threads the tray started.
enum News {
    /// The launcher has an event (read it with `DaemonLauncher::poll`).
    Launcher,
    /// `aaa-camera-daemon stop` ended.
    Stopped(Result<(), String>),
}

/// The tray's state between looks.
struct Controller {
    config: TrayConfig,
    launcher: DaemonLauncher,
    activity: Activity,
    /// When the current start began (for [`START_PATIENCE`]).
    start_began: Option<Instant>,
    problem: Option<String>,
    snapshot: DaemonSnapshot,
    news: Sender<News>,
}

/// Runs the tray until **Quit** (Ok) or until its item cannot be shown (Err).
pub fn run(config: TrayConfig) -> Result<(), TrayError> {
    let icons = IconSet::decode()?;
    let (news_tx, news_rx) = crossbeam_channel::unbounded();
    let mut controller = Controller {
        launcher: DaemonLauncher::new(config.daemon.clone()),
        snapshot: look(&config.daemon),
        config,
        activity: Activity::Idle,
        start_began: None,
        problem: None,
        news: news_tx,
    };
    let (choices_tx, choices_rx) = crossbeam_channel::unbounded();
    let mut shown = controller.view();
    let mut backend = backend::open(shown.clone(), icons, choices_tx)?;
    tracing::info!(
        "in the system tray: {} ({})",
        shown.title,
        shown.tooltip.replace('\n', "; ")
    );
    let result = controller.serve(backend.as_mut(), &choices_rx, &news_rx, &mut shown);
    backend.shutdown();
    result
}

/// One `status` gather, judged.
fn look(settings: &DaemonSettings) -> DaemonSnapshot {
    judge(&capture_daemon::status::gather(
        &settings.namespace,
        &settings.runtime_dir(),
    ))
}

impl Controller {
    fn serve(
        &mut self,
        backend: &mut dyn TrayBackend,
        choices: &Receiver<MenuEntry>,
        news: &Receiver<News>,
        shown: &mut TrayView,
    ) -> Result<(), TrayError> {
        loop {
            select! {
                recv(choices) -> entry => {
                    let Ok(entry) = entry else {
                        return Err(BackendError::Gone("the menu's channel closed".to_owned()).into());
                    };
                    if entry == MenuEntry::Quit {
                        tracing::info!("quit from the menu");
                        return Ok(());
                    }
                    self.choose(entry);
                }
                recv(news) -> news => {
                    if let Ok(News::Stopped(result)) = news {
                        self.stopped(result);
                    }
                }
                default(LOOK_INTERVAL) => {}
            }
            self.snapshot = look(&self.config.daemon);
            self.follow_start();
            let view = self.view();
            if view != *shown {
                if view.icon != shown.icon || view.title != shown.title {
                    tracing::info!("{}", view.title);
                }
                backend.show(&view)?;
                *shown = view;
            }
        }
    }

    fn view(&self) -> TrayView {
        present(
            &self.snapshot,
            &self.activity,
            &self.config.daemon.namespace,
            self.problem.as_deref(),
            self.config.daemon.log_file().exists(),
        )
    }

    /// Does what a menu entry asks.
    fn choose(&mut self, entry: MenuEntry) {
        tracing::info!("menu: {}", entry.label());
        let settings = &self.config.daemon;
        let result = match entry {
            MenuEntry::OpenViewer => {
                actions::open_viewer(settings, self.config.viewer_binary.as_deref())
            }
            MenuEntry::OpenLog => actions::open_log(settings),
            MenuEntry::Pause => actions::pause_or_resume(settings, true),
            MenuEntry::Resume => actions::pause_or_resume(settings, false),
            MenuEntry::Start if self.activity == Activity::Idle => {
                self.start();
                Ok(())
            }
            MenuEntry::Stop if self.activity == Activity::Idle => {
                self.stop(Activity::Stopping);
                Ok(())
            }
            MenuEntry::Restart if self.activity == Activity::Idle => {
                self.stop(Activity::Restarting);
                Ok(())
            }
            MenuEntry::Start | MenuEntry::Stop | MenuEntry::Restart => {
                Err("the tray is busy with the last start or stop".to_owned())
            }
            MenuEntry::Quit => Ok(()),
        };
        match result {
            Ok(()) => self.problem = None,
            Err(problem) => {
                tracing::error!("{}: {problem}", entry.label());
                self.problem = Some(problem);
            }
        }
    }

    fn start(&mut self) {
        let news = self.news.clone();
        self.launcher.start(move || {
            // The tray may be quitting; then nobody needs to know.
            let _ = news.send(News::Launcher);
        });
        self.activity = Activity::Starting;
        self.start_began = Some(Instant::now());
        self.follow_start();
    }

    /// Ends the start once the daemon runs, the launcher failed, or patience ran out.
    fn follow_start(&mut self) {
        self.launcher.poll();
        if self.activity != Activity::Starting {
            return;
        }
        let failed = match self.launcher.state() {
            LaunchState::Failed(error) => Some(format!("cannot start the daemon: {error}")),
            LaunchState::Ended {
                success: false,
                detail,
            } => Some(detail.clone()),
            _ => None,
        };
        if let Some(problem) = failed {
            self.problem = Some(problem);
            self.activity = Activity::Idle;
        } else if self.snapshot.state.is_running() {
            self.activity = Activity::Idle;
        } else if self
            .start_began
            .is_some_and(|began| began.elapsed() > START_PATIENCE)
        {
            self.problem = Some(format!(
                "the daemon did not come up within {} s; see its log {}",
                START_PATIENCE.as_secs(),
                self.launcher.log_file().display()
            ));
            self.activity = Activity::Idle;
        }
    }

    fn stop(&mut self, activity: Activity) {
        let settings = self.config.daemon.clone();
        let pid_file = PathBuf::from(&self.snapshot.pid_file);
        let news = self.news.clone();
        let spawned = std::thread::Builder::new()
            .name("stop".to_owned())
            .spawn(move || {
                let result = actions::stop_daemon(&settings, &pid_file);
                let _ = news.send(News::Stopped(result));
            });
        match spawned {
            Ok(_) => self.activity = activity,
            Err(error) => self.problem = Some(format!("cannot start the stop thread: {error}")),
        }
    }

    fn stopped(&mut self, result: Result<(), String>) {
        let restart = self.activity == Activity::Restarting;
        self.activity = Activity::Idle;
        match result {
            Ok(()) if restart => self.start(),
            Ok(()) => {}
            Err(problem) => {
                tracing::error!("{problem}");
                self.problem = Some(problem);
            }
        }
    }
}
