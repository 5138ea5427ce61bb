//! What the menu's entries do, each through the stack's one way of doing it: the viewer and the
//! log are opened as detached programs, pause and resume go over the daemon's command socket
//! (`shmproto::control::ControlClient`), stopping is `aaa-camera-daemon stop` (through the
//! password prompt when the daemon is root's), starting is the shared launcher
//! (`daemon_launcher`, with its root rule).

use std::ffi::OsString;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use camera_sources::access::Os;
use daemon_launcher::{
    detached_command, find_daemon_binary, find_program, plan_stop, DaemonSettings, VIEWER_BINARY,
};
use shmproto::control::{Command, ControlClient};

/// How long a pause or resume may take to answer.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(3);

/// Opens the viewer on the tray's namespace and runtime directory.
pub fn open_viewer(settings: &DaemonSettings, viewer: Option<&Path>) -> Result<(), String> {
    let program = find_program(VIEWER_BINARY, viewer).map_err(|error| error.to_string())?;
    let mut args: Vec<OsString> = Vec::new();
    if !settings.namespace.is_default() {
        args.extend(["--namespace".into(), settings.namespace.as_str().into()]);
    }
    if let Some(dir) = &settings.runtime_dir {
        args.extend(["--runtime-dir".into(), dir.clone().into_os_string()]);
    }
    spawn_and_reap(program.into_os_string(), args)
}

/// Opens the daemon's log with the desktop's viewer for text files.
pub fn open_log(settings: &DaemonSettings) -> Result<(), String> {
    let log = settings.log_file();
    if !log.exists() {
        return Err(format!("there is no log yet at {}", log.display()));
    }
    let opener = if Os::current() == Os::MacOs {
        "open"
    } else {
        "xdg-open"
    };
    spawn_and_reap(opener.into(), vec![log.into_os_string()])
}

/// Runs `program args` detached, its output discarded; a thread reaps it.
fn spawn_and_reap(program: OsString, args: Vec<OsString>) -> Result<(), String> {
    let name = program.to_string_lossy().into_owned();
    let child = detached_command(&program, &args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("cannot run {name}: {error}"))?;
    tracing::info!("started {name} (pid {})", child.id());
    reap(child, name)
}

fn reap(mut child: Child, name: String) -> Result<(), String> {
    let error_text = format!("cannot start a thread to wait for {name}");
    std::thread::Builder::new()
        .name("reaper".to_owned())
        .spawn(move || match child.wait() {
            Ok(status) if !status.success() => tracing::warn!("{name} ended: {status}"),
            Ok(_) => {}
            Err(error) => tracing::warn!("lost track of {name}: {error}"),
        })
        .map(|_| ())
        .map_err(|error| format!("{error_text}: {error}"))
}

/// Pauses (`pause`) or resumes (`!pause`) publishing over the command socket.
pub fn pause_or_resume(settings: &DaemonSettings, pause: bool) -> Result<(), String> {
    let socket = settings.control_socket();
    let mut client =
        ControlClient::connect(&socket, CONTROL_TIMEOUT).map_err(|error| error.to_string())?;
    let command = if pause {
        Command::Pause
    } else {
        Command::Resume
    };
    client
        .request(command)
        .map(|_| ())
        .map_err(|error| error.to_string())
}

/// `aaa-camera-daemon stop` for the daemon of `settings`, waited for (run it on a thread):
/// through the password prompt when the daemon's pid file is another user's (root's).
pub fn stop_daemon(settings: &DaemonSettings, pid_file: &Path) -> Result<(), String> {
    let binary =
        find_daemon_binary(settings.binary.as_deref()).map_err(|error| error.to_string())?;
    let runtime_dir: PathBuf = settings.runtime_dir();
    let another_users = match std::fs::metadata(pid_file) {
        Ok(metadata) => metadata.uid() != shmproto::runtime_dir::euid(),
        // No pid file to look at: the daemon's files are out of this user's sight.
        Err(_) => !runtime_dir.starts_with(shmproto::runtime_dir::user_runtime_dir()),
    };
    let plan = plan_stop(
        &binary,
        settings,
        &runtime_dir,
        another_users,
        Os::current(),
    );
    tracing::info!(
        "stopping the daemon: {} {}",
        plan.program.to_string_lossy(),
        plan.args
            .iter()
            .map(|arg| arg.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let output = std::process::Command::new(&plan.program)
        .args(&plan.args)
        .stdin(Stdio::null())
        .env("NO_COLOR", "1")
        .output()
        .map_err(|error| format!("cannot run {}: {error}", plan.program.to_string_lossy()))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let reason = stderr
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("no message");
    Err(format!(
        "stop failed ({}): {}",
        output.status,
        reason.trim()
    ))
}
