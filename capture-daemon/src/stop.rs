//! `stop`: ends the namespace's daemon (SIGTERM, SIGKILL after a timeout) and removes what a
//! killed daemon leaves behind. The one stop rule, for people, `make daemon-stop` and scripts.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use shmproto::Namespace;

use crate::cleanup;
use crate::pidfile::{self, PidFileState};
use crate::runtime::RuntimePaths;
use crate::status;

/// How a stop went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// No daemon ran (leftovers, if any, were removed: listed).
    NotRunning { removed: Vec<String> },
    /// It ended on SIGTERM.
    Terminated { pid: u32, removed: Vec<String> },
    /// It ignored SIGTERM for `timeout` and was killed.
    Killed { pid: u32, removed: Vec<String> },
}

/// How often the process is looked at while it stops.
const POLL: Duration = Duration::from_millis(50);
/// How long a SIGKILLed process may take to disappear.
const KILL_PATIENCE: Duration = Duration::from_secs(5);

/// Stops the daemon of `namespace` whose files are in `runtime_dir`, saying what it does
/// through `progress`.
pub fn stop(
    namespace: &Namespace,
    runtime_dir: &Path,
    timeout: Duration,
    mut progress: impl FnMut(&str),
) -> anyhow::Result<Stopped> {
    let report = status::gather(namespace, runtime_dir);
    if !report.running {
        let removed = if report.stale {
            cleanup::cleanup(namespace, runtime_dir)?
        } else {
            Vec::new()
        };
        return Ok(Stopped::NotRunning { removed });
    }
    // The pid file's pid (its directory is private), never one the segments claim: those may
    // come from anyone who could create files in /dev/shm.
    let Some(pid) = report.pid_file_pid else {
        bail!("the daemon of namespace {namespace} runs but its pid is unknown; see `aaa-camera-daemon status`");
    };
    if !is_daemon_process(pid) {
        bail!("pid {pid} is not an aaa-camera-daemon; not signalling it");
    }
    progress(&format!(
        "stopping the camera daemon (pid {pid}, namespace {namespace})"
    ));
    let pid_file = RuntimePaths::new(runtime_dir, namespace).pid_file;
    let wait_gone = |patience| wait_gone(pid, &pid_file, patience);
    signal(pid, libc::SIGTERM)?;
    let killed = !wait_gone(timeout);
    if killed {
        progress(&format!(
            "still running after {} s: sending SIGKILL",
            timeout.as_secs_f64()
        ));
        signal(pid, libc::SIGKILL)?;
        if !wait_gone(KILL_PATIENCE) {
            bail!("pid {pid} survived SIGKILL");
        }
    }
    // A clean stop leaves nothing; after SIGKILL the segments and pid file remain.
    let removed =
        cleanup::cleanup(namespace, runtime_dir).context("cleaning up after the daemon")?;
    Ok(if killed {
        Stopped::Killed { pid, removed }
    } else {
        Stopped::Terminated { pid, removed }
    })
}

fn signal(pid: u32, signal: libc::c_int) -> anyhow::Result<()> {
    let target = libc::pid_t::try_from(pid).context("pid out of range")?;
    // SAFETY: kill only sends a signal; the pid was checked to be an aaa-camera-daemon.
    if unsafe { libc::kill(target, signal) } == 0 {
        return Ok(());
    }
    let error = std::io::Error::last_os_error();
    match error.raw_os_error() {
        Some(libc::ESRCH) => Ok(()),
        Some(libc::EPERM) => bail!(
            "pid {pid} belongs to another user (a daemon run as root?): run `sudo aaa-camera-daemon stop`"
        ),
        _ => Err(error).with_context(|| format!("cannot signal pid {pid}")),
    }
}

/// Waits up to `patience` for the process to be gone and its pid file lock released; true if
/// both are. (A killed multi-threaded process shows as a zombie as soon as its first thread
/// is gone, while the others may still hold its files for a moment.)
fn wait_gone(pid: u32, pid_file: &Path, patience: Duration) -> bool {
    let deadline = Instant::now() + patience;
    loop {
        let locked = matches!(pidfile::inspect(pid_file), Ok(PidFileState::Running(_)));
        if !shmproto::process_exists(pid) && !locked {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// Whether `pid` runs the daemon (its command name, cut to 15 characters by the kernel), so a
/// stale pid reused by another program is never signalled.
fn is_daemon_process(pid: u32) -> bool {
    const NAME: &str = "aaa-camera-daem";
    #[cfg(target_os = "linux")]
    {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|name| name.trim_end().starts_with(NAME))
    }
    #[cfg(not(target_os = "linux"))]
    {
        std::process::Command::new("ps")
            .args(["-o", "comm=", "-p", &pid.to_string()])
            .output()
            .is_ok_and(|output| {
                String::from_utf8_lossy(&output.stdout)
                    .trim()
                    .rsplit('/')
                    .next()
                    .is_some_and(|name| name.starts_with(NAME))
            })
    }
}
