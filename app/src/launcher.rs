//! Starting the capture daemon from the app (the seed's phase 2): the "Start daemon" button and
//! `--start-daemon`.
//!
//! The app runs `aaa-camera-daemon run --source <source>` in the namespace and runtime
//! directory it watches, found next to its own executable or on `PATH`. Sources that need root
//! ([`root_reason`]) go through the platform's way of asking for it: `pkexec` on Linux, an
//! administrator prompt (`osascript ... with administrator privileges`) on macOS; the daemon
//! then hands its segments to the desktop user (`--owner`). The daemon is detached (its own
//! session, stdin from /dev/null, output appended to `<runtime dir>/<stem>.log`), so closing
//! the app does not stop it. The app does not connect to it in any special way: the daemon
//! source's probing finds it like any other daemon.
//!
//! Spawning and waiting happen on a thread; the GUI learns what happened through
//! [`DaemonLauncher::poll`].

use std::ffi::OsString;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use camera_sources::access::{accessible, root_reason, Os, Platform};
use crossbeam_channel::{Receiver, TryRecvError};
use shmproto::{Namespace, SegmentOwner, SourceKind};

/// The daemon's executable name.
pub const DAEMON_BINARY: &str = "aaa-camera-daemon";

/// Where the daemon the app watches lives, and how to start one.
#[derive(Debug, Clone)]
pub struct DaemonSettings {
    pub namespace: Namespace,
    /// The daemon's pid file and command socket are here (`--runtime-dir`,
    /// `$AAA_RUNTIME_DIR`); `None`: where the daemon of this namespace is found
    /// ([`shmproto::runtime_dir::find_runtime_dir`]).
    pub runtime_dir: Option<PathBuf>,
    /// The source a started daemon opens.
    pub source: SourceKind,
    /// Run this executable instead of looking for `aaa-camera-daemon`.
    pub binary: Option<PathBuf>,
}

impl DaemonSettings {
    /// The settings for `namespace` in the default runtime directory.
    pub fn new(namespace: Namespace, source: SourceKind) -> Self {
        DaemonSettings {
            namespace,
            runtime_dir: None,
            source,
            binary: None,
        }
    }

    /// The runtime directory of the namespace's daemon, looked up now: a daemon started as
    /// root after the app moves it to the system directory.
    pub fn runtime_dir(&self) -> PathBuf {
        shmproto::runtime_dir::find_runtime_dir(self.runtime_dir.as_deref(), &self.namespace)
    }

    pub fn control_socket(&self) -> PathBuf {
        self.namespace.control_socket(&self.runtime_dir())
    }

    /// Where a daemon started by the app writes its output (the same file as `make
    /// daemon-start`): in the runtime directory when one was given, else the user's log
    /// directory.
    pub fn log_file(&self) -> PathBuf {
        shmproto::runtime_dir::log_file(self.runtime_dir.as_deref(), &self.namespace)
    }
}

/// Why the daemon could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("{DAEMON_BINARY} not found next to this program ({}) nor on PATH; build it with `cargo build -p capture-daemon` or install it", .next_to.display())]
    NotFound { next_to: PathBuf },
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

/// How the daemon is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elevation {
    /// As the app's user.
    Direct,
    /// `pkexec <daemon> ...` (Linux; polkit asks for the password).
    Pkexec,
    /// `osascript -e 'do shell script "..." with administrator privileges'` (macOS).
    AdministratorPrompt,
}

/// Finds the daemon: `explicit` if given, else next to this program, else on `PATH`.
pub fn find_daemon_binary(explicit: Option<&Path>) -> Result<PathBuf, LaunchError> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    let next_to = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let beside = next_to.join(DAEMON_BINARY);
    if is_executable(&beside) {
        return Ok(beside);
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(DAEMON_BINARY))
            .find(|candidate| candidate.is_absolute() && is_executable(candidate))
    });
    on_path.ok_or(LaunchError::NotFound { next_to })
}

fn is_executable(path: &Path) -> bool {
    path.is_file() && accessible(path, libc::X_OK)
}

/// The command line that starts the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchPlan {
    pub elevation: Elevation,
    /// Why root is needed, when it is.
    pub root_reason: Option<String>,
    pub program: OsString,
    pub args: Vec<OsString>,
}

/// How to start the daemon at `binary` for `settings` on `platform`.
pub fn plan_launch(
    binary: &Path,
    settings: &DaemonSettings,
    platform: &Platform,
    desktop_user: SegmentOwner,
) -> LaunchPlan {
    let root_reason = root_reason(settings.source, platform);
    let elevation = match (&root_reason, platform.os) {
        (None, _) => Elevation::Direct,
        (Some(_), Os::MacOs) => Elevation::AdministratorPrompt,
        (Some(_), _) => Elevation::Pkexec,
    };
    // Flags rather than environment: pkexec and the administrator prompt clear the environment.
    let mut daemon_args: Vec<OsString> = Vec::new();
    if !settings.namespace.is_default() {
        daemon_args.extend(["--namespace".into(), settings.namespace.as_str().into()]);
    }
    // Without a chosen directory the daemon picks its own: the system directory as root, the
    // user's otherwise; the app finds it in either.
    if let Some(dir) = &settings.runtime_dir {
        daemon_args.extend(["--runtime-dir".into(), dir.clone().into_os_string()]);
    }
    if elevation == Elevation::AdministratorPrompt {
        // Root's shell must not open the log: the daemon does, refusing links (O_NOFOLLOW).
        daemon_args.extend(["--log-file".into(), settings.log_file().into_os_string()]);
    }
    daemon_args.extend([
        "run".into(),
        "--source".into(),
        settings.source.as_str().into(),
    ]);
    if elevation != Elevation::Direct {
        // Root's segments would be unreadable to the app: hand them to the desktop user.
        daemon_args.extend([
            "--owner".into(),
            format!("{}:{}", desktop_user.uid, desktop_user.gid).into(),
        ]);
    }
    let (program, args) = match elevation {
        Elevation::Direct => (binary.as_os_str().to_owned(), daemon_args),
        Elevation::Pkexec => {
            let mut args = vec![binary.as_os_str().to_owned()];
            args.extend(daemon_args);
            ("pkexec".into(), args)
        }
        Elevation::AdministratorPrompt => {
            let mut words = vec![shell_quote(&binary.to_string_lossy())];
            words.extend(
                daemon_args
                    .iter()
                    .map(|arg| shell_quote(&arg.to_string_lossy())),
            );
            // Backgrounded, writing its log itself (--log-file above): `do shell script`
            // returns once the shell does, and the daemon lives on.
            let command = format!(
                "NO_COLOR=1 nohup {} </dev/null >/dev/null 2>&1 &",
                words.join(" ")
            );
            let script = format!(
                "do shell script {} with administrator privileges",
                applescript_string(&command)
            );
            ("osascript".into(), vec!["-e".into(), script.into()])
        }
    };
    LaunchPlan {
        elevation,
        root_reason,
        program,
        args,
    }
}

/// `text` as one POSIX shell word.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `text` as an AppleScript string literal.
pub fn applescript_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', r"\\").replace('"', "\\\""))
}

/// What the launch thread reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchEvent {
    /// The process runs (the daemon, or pkexec/osascript asking for a password).
    Spawned { pid: u32 },
    /// It ended; the text says how, with the end of the log when it failed.
    Exited { success: bool, detail: String },
    /// It could not be started.
    Failed(String),
}

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
    pub fn start(&mut self, ctx: &egui::Context) {
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
        let repaint = ctx.clone();
        let elevation = plan.elevation;
        let spawned = std::thread::Builder::new()
            .name("daemon launcher".to_owned())
            .spawn(move || {
                run_and_wait(&plan, &log, |event| {
                    // The GUI may be gone; then nobody needs to know.
                    let _ = events_tx.send(event);
                    repaint.request_repaint();
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

/// Spawns the plan detached, reports the pid, waits for the process and reports how it ended.
fn run_and_wait(plan: &LaunchPlan, log_path: &Path, report: impl Fn(LaunchEvent)) {
    let program = plan.program.to_string_lossy().into_owned();
    let mut child = match spawn_detached(plan, log_path) {
        Ok(child) => child,
        Err(err) => {
            report(LaunchEvent::Failed(err.to_string()));
            return;
        }
    };
    report(LaunchEvent::Spawned { pid: child.id() });
    let event = match child.wait() {
        Ok(status) => ended(plan.elevation, &program, status, log_path),
        Err(err) => LaunchEvent::Failed(format!("lost track of {program}: {err}")),
    };
    report(event);
}

fn spawn_detached(plan: &LaunchPlan, log_path: &Path) -> Result<std::process::Child, LaunchError> {
    use std::os::unix::process::CommandExt;
    let log_error = |source| LaunchError::Log {
        path: log_path.to_path_buf(),
        source,
    };
    if let Some(dir) = log_path.parent() {
        std::fs::create_dir_all(dir).map_err(log_error)?;
    }
    // Opened by the app, so the log stays the user's even when the daemon runs as root.
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(log_path)
        .map_err(log_error)?;
    let args: Vec<_> = plan.args.iter().map(|arg| arg.to_string_lossy()).collect();
    writeln!(
        log,
        "---- aaa: starting {} {}",
        plan.program.to_string_lossy(),
        args.join(" ")
    )
    .map_err(log_error)?;
    let stderr = log.try_clone().map_err(log_error)?;
    let mut command = Command::new(&plan.program);
    command
        .args(&plan.args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(stderr))
        .env("NO_COLOR", "1");
    if std::env::var_os("RUST_LOG").is_none() {
        command.env("RUST_LOG", "info");
    }
    // SAFETY: the closure runs in the forked child before exec and only calls setsid, which is
    // async-signal-safe. Its own session: no terminal signal (Ctrl-C, hang-up) meant for the
    // app reaches the daemon, and the daemon outlives the app.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn().map_err(|source| LaunchError::Spawn {
        program: plan.program.to_string_lossy().into_owned(),
        source,
    })
}

/// How the started process ended, in words.
fn ended(elevation: Elevation, program: &str, status: ExitStatus, log_path: &Path) -> LaunchEvent {
    use std::os::unix::process::ExitStatusExt;
    let log = log_path.display();
    match (elevation, status.code()) {
        (Elevation::AdministratorPrompt, Some(0)) => LaunchEvent::Exited {
            success: true,
            detail: format!("the daemon was started as administrator; its log is {log}"),
        },
        (Elevation::AdministratorPrompt, _) => LaunchEvent::Exited {
            success: false,
            detail: format!(
                "the administrator prompt was cancelled or failed: {}",
                log_tail(log_path)
            ),
        },
        (Elevation::Pkexec, Some(126)) => LaunchEvent::Exited {
            success: false,
            detail: "pkexec: the password prompt was dismissed; the daemon was not started"
                .to_owned(),
        },
        (Elevation::Pkexec, Some(127)) => LaunchEvent::Exited {
            success: false,
            detail: format!(
                "pkexec refused (not authorised, or no polkit agent): {}",
                log_tail(log_path)
            ),
        },
        (_, Some(0)) => LaunchEvent::Exited {
            success: true,
            detail: format!("the daemon stopped (exit status 0); its log is {log}"),
        },
        (_, Some(code)) => LaunchEvent::Exited {
            success: false,
            detail: format!(
                "{program} exited with status {code}: {}",
                log_tail(log_path)
            ),
        },
        (_, None) => LaunchEvent::Exited {
            success: false,
            detail: format!(
                "the daemon was stopped by signal {}; its log is {log}",
                status.signal().unwrap_or(0)
            ),
        },
    }
}

/// The last non-empty line of the log (the daemon's reason), read from its end.
fn log_tail(log_path: &Path) -> String {
    const TAIL_BYTES: u64 = 4096;
    let read = || -> std::io::Result<String> {
        let mut file = std::fs::File::open(log_path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)))?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail)?;
        Ok(String::from_utf8_lossy(&tail).into_owned())
    };
    match read() {
        Ok(tail) => match tail.lines().rev().find(|line| !line.trim().is_empty()) {
            Some(line) => format!("{} (log: {})", line.trim(), log_path.display()),
            None => format!("see {}", log_path.display()),
        },
        Err(err) => format!("cannot read the log {}: {err}", log_path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(os: Os) -> Platform {
        Platform {
            os,
            is_root: false,
            realsense_nodes: Vec::new(),
            video_nodes: (0, 0),
        }
    }

    const DESKTOP_USER: SegmentOwner = SegmentOwner {
        uid: 1000,
        gid: 1000,
    };

    fn settings(source: SourceKind) -> DaemonSettings {
        DaemonSettings {
            namespace: Namespace::new("cam2").unwrap(),
            runtime_dir: Some(PathBuf::from("/run/aaa")),
            source,
            binary: None,
        }
    }

    #[test]
    fn the_plan_runs_the_daemon_directly_or_through_the_platforms_prompt() {
        let binary = Path::new("/opt/aaa/aaa-camera-daemon");
        let direct = plan_launch(
            binary,
            &settings(SourceKind::Synthetic),
            &platform(Os::Linux),
            DESKTOP_USER,
        );
        assert_eq!(direct.elevation, Elevation::Direct);
        assert_eq!(direct.program, binary.as_os_str());
        let args: Vec<_> = direct
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "--namespace",
                "cam2",
                "--runtime-dir",
                "/run/aaa",
                "run",
                "--source",
                "synthetic"
            ]
        );

        let mut linux = platform(Os::Linux);
        linux.realsense_nodes = vec![(PathBuf::from("/dev/bus/usb/001/002"), false)];
        let pkexec = plan_launch(
            binary,
            &settings(SourceKind::Realsense),
            &linux,
            DESKTOP_USER,
        );
        assert_eq!(pkexec.elevation, Elevation::Pkexec);
        assert_eq!(pkexec.program, "pkexec");
        let args: Vec<_> = pkexec
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args[0], "/opt/aaa/aaa-camera-daemon");
        assert_eq!(&args[args.len() - 2..], ["--owner", "1000:1000"]);

        let mac = plan_launch(
            binary,
            &settings(SourceKind::Realsense),
            &platform(Os::MacOs),
            DESKTOP_USER,
        );
        assert_eq!(mac.elevation, Elevation::AdministratorPrompt);
        assert_eq!(mac.program, "osascript");
        let script = mac.args[1].to_string_lossy().into_owned();
        assert!(
            script.starts_with("do shell script \"NO_COLOR=1 nohup '/opt/aaa/aaa-camera-daemon' '--namespace' 'cam2'"),
            "{script}"
        );
        assert!(
            script.ends_with("2>&1 &\" with administrator privileges"),
            "{script}"
        );
        assert!(script.contains("'--owner' '1000:1000'"), "{script}");
    }

    #[test]
    fn quoting_survives_awkward_paths() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(applescript_string(r#"a "b" \c"#), r#""a \"b\" \\c""#);
    }

    #[test]
    fn a_missing_binary_says_where_it_looked() {
        let error = find_daemon_binary(None).err();
        // In the test target dir the daemon may well have been built; only check the message.
        if let Some(error) = error {
            assert!(error.to_string().contains("not found next to"), "{error}");
        }
    }

    #[test]
    fn a_daemon_that_exits_at_once_reports_the_end_of_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = settings(SourceKind::Synthetic);
        settings.runtime_dir = Some(dir.path().to_path_buf());
        settings.binary = Some(PathBuf::from("/bin/sh"));
        let mut plan = plan_launch(
            Path::new("/bin/sh"),
            &settings,
            &platform(Os::Linux),
            DESKTOP_USER,
        );
        plan.args = vec!["-c".into(), "echo 'no camera found' >&2; exit 3".into()];
        let events = std::sync::Mutex::new(Vec::new());
        run_and_wait(&plan, &settings.log_file(), |event| {
            events.lock().unwrap().push(event);
        });
        let events = events.into_inner().unwrap();
        assert!(
            matches!(events[0], LaunchEvent::Spawned { .. }),
            "{events:?}"
        );
        let LaunchEvent::Exited { success, detail } = &events[1] else {
            panic!("{events:?}");
        };
        assert!(!success);
        assert!(
            detail.contains("exited with status 3: no camera found"),
            "{detail}"
        );
    }
}
