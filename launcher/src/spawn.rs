//! Running a [`LaunchPlan`]: the process detached from the app (its own session, stdin from
//! /dev/null, output appended to the log), then waited for on the launch thread, which says how
//! it ended in words (with the last line of the log when it failed).

use std::ffi::{OsStr, OsString};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use super::{Elevation, LaunchError, LaunchPlan};

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

/// Spawns the plan detached, reports the pid, waits for the process and reports how it ended.
pub(super) fn run_and_wait(plan: &LaunchPlan, log_path: &Path, report: impl Fn(LaunchEvent)) {
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
    let mut command = detached_command(&plan.program, &plan.args);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(stderr))
        .env("NO_COLOR", "1");
    if std::env::var_os("RUST_LOG").is_none() {
        command.env("RUST_LOG", "info");
    }
    command.spawn().map_err(|source| LaunchError::Spawn {
        program: plan.program.to_string_lossy().into_owned(),
        source,
    })
}

/// `program args` in a session of its own: no terminal signal (Ctrl-C, hang-up) meant for the
/// program that starts it reaches it, and it outlives that program. The caller chooses its
/// standard streams and waits for it (or a thread does).
pub fn detached_command(program: &OsStr, args: &[OsString]) -> Command {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(program);
    command.args(args);
    // SAFETY: the closure runs in the forked child before exec and only calls setsid, which is
    // async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
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
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn a_daemon_that_exits_at_once_reports_the_end_of_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("daemon.log");
        let plan = LaunchPlan {
            elevation: Elevation::Direct,
            root_reason: None,
            program: PathBuf::from("/bin/sh").into_os_string(),
            args: vec!["-c".into(), "echo 'no camera found' >&2; exit 3".into()],
        };
        let events = std::sync::Mutex::new(Vec::new());
        run_and_wait(&plan, &log, |event| {
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
        let log_text = std::fs::read_to_string(&log).unwrap();
        assert!(
            log_text.starts_with("---- aaa: starting /bin/sh -c"),
            "{log_text}"
        );
    }
}
